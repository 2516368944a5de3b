import Checkpoint
import Foundation
import Generation
import GPT2
import Kernels
import Testing
import TestSupport

/// Every model of the shape matrix (Tests/Fixtures/shape_fixtures.py: odd widths, one and
/// twelve heads, narrow MLPs, every activation, the attention-scaling options, short contexts,
/// end-of-text ids outside the vocabulary) against transformers, at several thread counts.
/// A shape that crashes is a failing test: nothing here is skipped.
@Suite("Shape matrix equals transformers")
struct ShapeMatrixTests {
    static let names = Fixtures.shapeNames
    static let withGradients = names.filter { (try? ShapeFixture($0).reference["loss"]) != nil }

    @Test("the matrix is complete: every shape has its model and reference")
    func complete() {
        #expect(Self.names.count >= 13, "shapes found: \(Self.names)")
        #expect(Self.withGradients.count >= 6, "shapes with gradients: \(Self.withGradients)")
        for name in Self.names {
            for file in ["config.json", "model.safetensors", "reference.safetensors"] {
                #expect(FileManager.default.fileExists(atPath: Fixtures.shape(name) + "/" + file), "\(name)/\(file)")
            }
        }
    }

    @Test("logits equal transformers', and are the same bits at 3 and 64 threads as at 1", arguments: names)
    func forward(name: String) throws {
        let shape = try ShapeFixture(name)
        let tokens = try shape.ids("tokens"), expected = try shape.floats("logits")
        let T = tokens.count / 2
        let rows = [Array(tokens[..<T]), Array(tokens[T...])]
        let single = try Parallel.withThreads(1) { try shape.model.logits(for: rows) }
        #expect(relativeError(single, expected) < 1e-4, "\(name)")
        for threads in [3, 64] {
            let logits = try Parallel.withThreads(threads) { try shape.model.logits(for: rows) }
            #expect(logits == single, "\(name) at \(threads) threads")
        }
    }

    @Test("greedy decoding with the KV cache gives transformers' tokens to the end of the context, alone and batched",
          arguments: names)
    func greedy(name: String) throws {
        let shape = try ShapeFixture(name)
        let prompt = try shape.ids("greedy.prompt"), expected = try shape.ids("greedy.tokens")
        var parameters = GenerationParameters()
        parameters.maxNewTokens = expected.count
        parameters.ignoreEOS = true
        let request = GenerationRequest(prompt: prompt, parameters: parameters)
        for threads in [1, 5, 64] {
            let generator = Parallel.withThreads(threads) {
                Generator(model: shape.model, eosToken: shape.model.config.eosTokenId.flatMap { Int32(exactly: $0) })
            }
            let results = try Parallel.withThreads(threads) { try generator.run([request, request]) }
            #expect(results[0][0].tokens == expected, "\(name) at \(threads) threads")
            #expect(results[1][0].tokens == expected, "\(name) batched at \(threads) threads")
            #expect(results[0][0].finishReason == .length)
        }
    }

    @Test("cached decoding on float32 and bfloat16 decode weights follows the full forward pass", arguments: names)
    func decodeWeights(name: String) throws {
        let shape = try ShapeFixture(name)
        let model = shape.model
        let path = try shape.ids("greedy.prompt") + shape.ids("greedy.tokens")
        let full = try model.logits(for: [path])
        let V = model.config.vocabSize
        for precision in WeightPrecision.allCases {
            let weights = DecodeWeights(model: model, precision: precision)
            let cache = KVCache(config: model.config, slots: 1)
            var stepped: [Float] = []
            for token in path {
                stepped += try model.forward(items: [CachedToken(slot: 0, token: token, wantsLogits: true)], cache: cache, decodeWeights: weights)
            }
            #expect(stepped.count == path.count * V)
            // bfloat16 keeps 8 significant bits of each weight: a looser bound, still far below
            // what a wrong kernel or a wrong layout gives (errors of the order of the logits).
            let bound: Float = precision == .fp32 ? 1e-5 : 5e-2
            #expect(relativeError(stepped, full) < bound, "\(name) \(precision)")
        }
    }

    @Test("loss and every gradient equal PyTorch's at 1, 5 and 64 threads",
          arguments: withGradients)
    func gradients(name: String) throws {
        let shape = try ShapeFixture(name)
        let tokens = try shape.ids("tokens"), labels = try shape.ids("labels")
        let (B, T) = (2, tokens.count / 2)
        let targets = nextTokenTargets(labels, B: B, T: T)
        let expectedLoss = try shape.floats("loss")[0]
        for threads in [1, 5, 64] {
            let (loss, grads) = try Parallel.withThreads(threads) {
                try lossAndGradients(shape.model, tokens: tokens, targets: targets, B: B, T: T)
            }
            #expect(abs(loss - expectedLoss) < 1e-5 * max(1, abs(expectedLoss)), "\(name): loss \(loss) vs \(expectedLoss)")
            for slot in shape.model.parameters.layout.slots {
                let expected = try shape.floats("grad.transformer." + slot.huggingFaceName)
                let error = relativeError(Array(grads.slice(slot)), expected)
                #expect(error < 1e-4, "\(name) \(slot.huggingFaceName) at \(threads) threads: \(error)")
            }
        }
    }

    @Test("three training steps give the same parameters, bit for bit, at every thread count, and the loss falls", arguments: names)
    func trainingSteps(name: String) throws {
        let tokens = try ShapeFixture(name).ids("tokens")
        let (B, T) = (2, tokens.count / 2)
        let targets = nextTokenTargets(tokens, B: B, T: T)
        var first: [Float]?
        for threads in threadCounts {
            let model = try ShapeFixture(name).model
            let losses = try Parallel.withThreads(threads) { try train(model, tokens: tokens, targets: targets, B: B, T: T, steps: 3) }
            #expect(losses.allSatisfy(\.isFinite) && losses[2] < losses[0], "\(name) at \(threads) threads: \(losses)")
            let parameters = Array(model.parameters.storage)
            if let first {
                #expect(parameters == first, "\(name) at \(threads) threads: \(relativeError(parameters, first))")
            } else {
                first = parameters
            }
        }
    }

    @Test("an end-of-text id outside the vocabulary never ends or blocks generation (min_new_tokens included)")
    func eosOutsideVocabulary() throws {
        let shape = try ShapeFixture("eos-outside-vocab")
        #expect(shape.model.config.eosTokenId == 50256 && shape.model.config.vocabSize == 64)
        let generator = Generator(model: shape.model, eosToken: 50256)
        #expect(generator.eosToken == nil)
        var parameters = GenerationParameters()
        parameters.maxNewTokens = 10
        parameters.minNewTokens = 3
        parameters.strategy = .sample
        parameters.seed = 9
        let result = try generator.run([GenerationRequest(prompt: [1, 2, 3], parameters: parameters)])
        #expect(result[0][0].tokens.count == 10 && result[0][0].finishReason == .length)
    }
}
