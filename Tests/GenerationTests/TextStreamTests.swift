import GPT2
import Generation
import Testing
import TestSupport

@Suite("Streaming text")
struct TextStreamTests {
    /// A generator whose "tokenizer" maps token ids to fixed byte strings.
    func generator(_ pieces: [Int32: [UInt8]]) -> Generator {
        Generator(model: GeneratorTests.model, eosToken: nil) { pieces[$0] ?? [] }
    }

    /// Drives a scripted token sequence through the generator: descending logit biases
    /// rank the scripted tokens, and no_repeat_ngram_size 1 bans each once it was used, so
    /// greedy decoding emits them in script order.
    func run(script: [Int32], pieces: [Int32: [UInt8]], stop: [String]) throws -> (events: [String], completion: Completion) {
        var p = GenerationParameters()
        p.maxNewTokens = script.count
        p.stop = stop
        p.logitBias = Dictionary(uniqueKeysWithValues: script.enumerated().map { ($1, Float(10_000 - 100 * $0)) })
        p.noRepeatNgramSize = 1
        var events: [String] = []
        let completion = try generator(pieces).run([GenerationRequest(prompt: [2], parameters: p)]) { event in
            if case let .token(token) = event, !token.text.isEmpty { events.append(token.text) }
        }[0][0]
        return (events, completion)
    }

    @Test("multi-byte characters split across tokens are emitted whole")
    func utf8() throws {
        // "ñ" = C3 B1, "😀" = F0 9F 98 80, split over tokens.
        let pieces: [Int32: [UInt8]] = [10: [0x61, 0xC3], 11: [0xB1, 0xF0, 0x9F], 12: [0x98], 13: [0x80, 0x21]]
        let (events, completion) = try run(script: [10, 11, 12, 13], pieces: pieces, stop: [])
        #expect(completion.tokens == [10, 11, 12, 13])
        #expect(events == ["a", "ñ", "😀!"])
        #expect(completion.text == "añ😀!")
    }

    @Test("a stop string across token boundaries is never emitted, not even in part")
    func stopAcrossTokens() throws {
        let pieces: [Int32: [UInt8]] = [20: Array("Hola FI".utf8), 21: Array("N de".utf8), 22: Array(" todo".utf8)]
        let (events, completion) = try run(script: [20, 21, 22], pieces: pieces, stop: ["FIN"])
        #expect(completion.finishReason == .stop)
        #expect(completion.text == "Hola ")
        #expect(events.joined() == "Hola ")
        #expect(!events.contains { $0.contains("F") })
    }

    @Test("held-back prefix bytes are released when the stop string does not follow")
    func falseAlarm() throws {
        let pieces: [Int32: [UInt8]] = [30: Array("uno F".utf8), 31: Array("IJO dos".utf8)]
        let (events, completion) = try run(script: [30, 31], pieces: pieces, stop: ["FIN"])
        #expect(completion.finishReason == .length)
        #expect(events == ["uno ", "FIJO dos"])
        #expect(completion.text == "uno FIJO dos")
    }

    @Test("the async stream delivers the same events and ends")
    func asyncStream() async throws {
        var p = GenerationParameters()
        p.maxNewTokens = 5
        p.ignoreEOS = true
        var tokens: [Int32] = []
        var finished = 0
        for try await event in Generator(model: GeneratorTests.model, eosToken: 0).stream([GenerationRequest(prompt: [5, 17], parameters: p)]) {
            switch event {
            case let .token(token): tokens.append(token.token)
            case .finished: finished += 1
            }
        }
        #expect(tokens.count == 5 && finished == 1)
    }
}
