import Checkpoint
import Generation
import Testing
import TestSupport

/// Each logits processor against the same `transformers` processor on recorded logits.
@Suite("Logits processors equal transformers'")
struct ProcessorParityTests {
    static let archive = try! SafeTensors.read(path: Fixtures.reference("generation.safetensors"))

    static let cases: [(String, @Sendable (inout [Float], [Int32]) -> Void)] = [
        ("temperature_0.7", { logits, _ in LogitsProcessors.temperature(&logits, 0.7) }),
        ("top_k_20", { logits, _ in LogitsProcessors.topK(&logits, 20) }),
        ("top_p_0.9", { logits, _ in LogitsProcessors.topP(&logits, 0.9) }),
        ("min_p_0.1", { logits, _ in LogitsProcessors.minP(&logits, 0.1) }),
        ("typical_p_0.8", { logits, _ in LogitsProcessors.typicalP(&logits, 0.8) }),
        ("repetition_penalty_1.3", { logits, context in LogitsProcessors.repetitionPenalty(&logits, context: context, penalty: 1.3) }),
        ("no_repeat_ngram_2", { logits, context in LogitsProcessors.noRepeatNgram(&logits, context: context, size: 2) }),
        ("no_repeat_ngram_3", { logits, context in LogitsProcessors.noRepeatNgram(&logits, context: context, size: 3) }),
    ]

    @Test("processor output matches", arguments: cases.map(\.0))
    func matches(name: String) throws {
        let apply = Self.cases.first { $0.0 == name }!.1
        let logits = try #require(Self.archive["processors.logits"]).floats()
        let expected = try #require(Self.archive["processors.\(name)"]).floats()
        let context = Fixtures.ids(try #require(Self.archive["processors.context"]))
        let V = 512, rows = logits.count / V, length = context.count / rows
        var removed = 0
        for row in 0..<rows {
            var ours = Array(logits[(row * V)..<((row + 1) * V)])
            apply(&ours, Array(context[(row * length)..<((row + 1) * length)]))
            let theirs = expected[(row * V)..<((row + 1) * V)]
            for (a, b) in zip(ours, theirs) {
                if b == -.infinity {
                    #expect(a == -.infinity)
                    removed += 1
                } else {
                    #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "\(name) row \(row): \(a) vs \(b)")
                }
            }
        }
        if name.hasPrefix("top_") || name.hasPrefix("min_") || name.hasPrefix("typical") || name.hasPrefix("no_repeat") {
            #expect(removed > 0, "the fixture should exercise removal")
        }
    }
}

@Suite("OpenAI penalties and logit bias")
struct PenaltyTests {
    @Test("presence and frequency penalties follow the OpenAI rule over generated tokens")
    func presenceFrequency() {
        var logits: [Float] = [1, 2, 3, 4]
        LogitsProcessors.presenceFrequency(&logits, counts: [1: 3, 3: 1], presence: 0.5, frequency: 0.25)
        #expect(logits == [1, 2 - 0.5 - 0.75, 3, 4 - 0.5 - 0.25])
    }

    @Test("logit bias adds before anything else and -inf bans a token")
    func bias() {
        var logits: [Float] = [1, 2, 3]
        LogitsProcessors.logitBias(&logits, [0: 5, 2: -.infinity, 7: 1])
        #expect(logits == [6, 2, -.infinity])
    }
}
