import Foundation
import Generation
import GPT2
import Kernels
import Testing
import TestSupport

/// One computation at 1, 2, 3, 5, 8, 16 and 64 threads gives the same bits: every split in
/// the engine depends on the shapes only (sgemm tiles, aligned element-wise chunks, blocked
/// sums), never on the thread count. Expectations come from the 1-thread run; the 1-thread
/// run itself is checked against PyTorch by the parity and shape-matrix tests.
@Suite("Same bits at every thread count")
struct ThreadInvarianceTests {
    static let directory = Fixtures.model("tiny-safetensors")

    func model() throws -> GPT2 { try ModelLoader.load(directory: Self.directory).model }

    /// Runs `body` at every thread count and checks each result equals the 1-thread one.
    func same<Result: Equatable>(_ what: String, _ body: () throws -> Result) rethrows {
        let first = try Parallel.withThreads(1, body)
        for threads in threadCounts.dropFirst() {
            let result = try Parallel.withThreads(threads, body)
            #expect(result == first, "\(what) differs at \(threads) threads")
        }
    }

    @Test("forward logits: 16 rows (column tiles) and 512 rows (row tiles)")
    func forward() throws {
        let model = try model()
        for (B, T) in [(1, 16), (8, 64)] {
            let rows = (0..<B).map { b in (0..<T).map { Int32(($0 * 37 + b * 11) % 512) } }
            try same("logits B \(B) T \(T)") { try model.logits(for: rows) }
        }
    }

    @Test("KV-cache decoding and batched decoding, on float32 and bfloat16 decode weights")
    func cachedDecoding() throws {
        let model = try model()
        let prompts: [[Int32]] = [Array(1...40), [7, 8, 9], (0..<20).map { Int32($0 * 13 % 512) }]
        for precision in WeightPrecision.allCases {
            try same("cached logits \(precision)") { () throws -> [Float] in
                let weights = DecodeWeights(model: model, precision: precision)
                let cache = KVCache(config: model.config, slots: prompts.count)
                // Prefills of 40 rows run on sgemm, the 3- and 20-row ones and the steps on
                // the decode weights: both paths, mixed in one call.
                var logits = try model.forward(items: prompts.enumerated().flatMap { slot, prompt in
                    prompt.enumerated().map { CachedToken(slot: slot, token: $1, wantsLogits: $0 == prompt.count - 1) }
                }, cache: cache, decodeWeights: weights)
                for step in 0..<6 {
                    logits += try model.forward(items: (0..<prompts.count).map { CachedToken(slot: $0, token: Int32(step * 50 + $0), wantsLogits: true) },
                                                cache: cache, decodeWeights: weights)
                }
                return logits
            }
        }
    }

    @Test("greedy, sampled and epsilon-greedy generation give the same tokens, alone and batched")
    func generation() throws {
        let model = try model()
        var requests: [GenerationRequest] = []
        for (index, strategy) in Strategy.allCases.enumerated() {
            var parameters = GenerationParameters()
            parameters.strategy = strategy
            parameters.maxNewTokens = 24
            parameters.ignoreEOS = true
            parameters.seed = UInt64(42 + index)
            parameters.temperature = 0.9
            parameters.topK = 40
            parameters.n = 2
            requests.append(GenerationRequest(prompt: (0..<(10 + 30 * index)).map { Int32($0 * 7 % 512) }, parameters: parameters))
        }
        for precision in WeightPrecision.allCases {
            try same("generated tokens \(precision)") { () throws -> [[Int32]] in
                let generator = Generator(model: model, eosToken: 0, precision: precision)
                let together = try generator.run(requests).flatMap { $0.map(\.tokens) }
                let alone = try requests.flatMap { try generator.run([$0])[0].map(\.tokens) }
                #expect(together == alone)
                return together
            }
        }
    }

    @Test("gradients with dropout on, and AdamW steps, at every thread count")
    func training() throws {
        let tokens = (0..<(4 * 64)).map { Int32($0 * 29 % 512) }
        let targets = nextTokenTargets(tokens, B: 4, T: 64)
        try same("gradients with dropout") { () throws -> [Float] in
            let model = try model()
            let acts = Activations(config: model.config, B: 4, T: 64, keepsAllLayers: true)
            acts.dropout = DropoutSettings(config: model.config, seed: 5)
            let grads = ParameterBuffer(layout: model.parameters.layout)
            let loss = try tokens.withUnsafeBufferPointer { t in
                try targets.withUnsafeBufferPointer { y in
                    try model.forward(tokens: t.baseAddress!, acts: acts)
                    return model.backward(tokens: t.baseAddress!, targets: y.baseAddress!, acts: acts, grads: grads).loss
                }
            }
            return [loss] + Array(grads.storage)
        }
        try same("parameters after 3 AdamW steps") { () throws -> [Float] in
            let model = try model()
            _ = try train(model, tokens: tokens, targets: targets, B: 4, T: 64, steps: 3)
            return Array(model.parameters.storage)
        }
    }
}
