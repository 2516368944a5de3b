import GPT2
import Testing
import TestSupport

@Suite("KV cache")
struct KVCacheTests {
    let model = try! ModelLoader.load(directory: Fixtures.model("tiny-safetensors")).model
    let V = 512

    func maxDiff(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test("prefill then one token at a time gives the full forward pass's logits")
    func matchesFullForward() throws {
        let tokens: [Int32] = [5, 17, 300, 42, 8, 99, 511, 0, 3, 250]
        let full = try model.logits(for: [tokens])
        let cache = KVCache(config: model.config, slots: 1)
        let prompt = 4
        let prefill = try model.forward(items: tokens[..<prompt].enumerated().map {
            CachedToken(slot: 0, token: $1, wantsLogits: $0 == prompt - 1)
        }, cache: cache)
        #expect(maxDiff(prefill[...], full[((prompt - 1) * V)..<(prompt * V)]) < 1e-5)
        for t in prompt..<tokens.count {
            let step = try model.forward(items: [CachedToken(slot: 0, token: tokens[t], wantsLogits: true)], cache: cache)
            #expect(maxDiff(step[...], full[(t * V)..<((t + 1) * V)]) < 1e-5, "position \(t)")
        }
        #expect(cache.lengths == [tokens.count])
    }

    @Test("sequences of different lengths decoded in one batch equal each decoded alone")
    func batchedEqualsAlone() throws {
        let prompts: [[Int32]] = [[1, 2, 3], [400, 401, 402, 403, 404, 405, 406], [77]]
        // Alone.
        var alone: [[Float]] = []
        for prompt in prompts {
            let cache = KVCache(config: model.config, slots: 1)
            _ = try model.forward(items: prompt.map { CachedToken(slot: 0, token: $0, wantsLogits: false) }, cache: cache)
            alone.append(try model.forward(items: [CachedToken(slot: 0, token: 9, wantsLogits: true)], cache: cache))
        }
        // Together: prefills mixed in one call, then one batched decode step.
        let cache = KVCache(config: model.config, slots: 3)
        let prefill = prompts.enumerated().flatMap { slot, prompt in prompt.map { CachedToken(slot: slot, token: $0, wantsLogits: false) } }
        _ = try model.forward(items: prefill, cache: cache)
        let batched = try model.forward(items: (0..<3).map { CachedToken(slot: $0, token: 9, wantsLogits: true) }, cache: cache)
        for slot in 0..<3 {
            #expect(maxDiff(batched[(slot * V)..<((slot + 1) * V)], alone[slot][...]) < 1e-5)
        }
        #expect(cache.lengths == [4, 8, 2])
    }

    @Test("the context limit is an error, never a crash")
    func contextLimit() throws {
        let cache = KVCache(config: model.config, slots: 1, maxLength: 4)
        _ = try model.forward(items: (0..<4).map { CachedToken(slot: 0, token: Int32($0), wantsLogits: false) }, cache: cache)
        #expect(throws: ModelError.sequenceTooLong(length: 5, limit: 4)) {
            try model.forward(items: [CachedToken(slot: 0, token: 1, wantsLogits: true)], cache: cache)
        }
        #expect(throws: ModelError.invalidSlot(3)) {
            try model.forward(items: [CachedToken(slot: 3, token: 1, wantsLogits: true)], cache: cache)
        }
    }
}
