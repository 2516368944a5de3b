import Foundation
import Testing
import Tokenizer

@Suite struct TrainerTests {
    /// Same text, same settings → the same vocab and merges, in the same order, as HF's
    /// `ByteLevelBPETokenizer.train` (which reads a file line by line).
    @Test func matchesHFExactlyOnTestText() throws {
        let lines = Fixtures.linesWithEndings(try Fixtures.bytes(Fixtures.path("test_text.txt")))
        let trained = BPETrainer.train(texts: lines, vocabSize: 600)
        let hf = try BPETokenizer(vocabJSON: Fixtures.path("test-text-600/vocab.json"),
                                  mergesTXT: Fixtures.path("test-text-600/merges.txt"))
        #expect(trained.vocabularySize == 600)
        #expect(trained.mergeCount == hf.mergeCount)
        for id in 0..<Int32(hf.vocabularySize) where trained.tokenString(id) != hf.tokenString(id) {
            Issue.record("id \(id): ours \(trained.tokenString(id) ?? "nil"), HF \(hf.tokenString(id) ?? "nil")")
            break
        }
        #expect(trained.fingerprint == hf.fingerprint)
    }

    @Test func trainingFromFilesReadsLinesLikeHF() throws {
        let fromFile = try BPETrainer.train(files: [Fixtures.path("test_text.txt")], vocabSize: 600)
        let hf = try BPETokenizer(vocabJSON: Fixtures.path("test-text-600/vocab.json"),
                                  mergesTXT: Fixtures.path("test-text-600/merges.txt"))
        #expect(fromFile.fingerprint == hf.fingerprint)
        #expect(throws: TokenizerError.self) { try BPETrainer.train(files: ["/nonexistent.txt"], vocabSize: 600) }
    }

    @Test func trainedTokenizerRoundTripsAndSaves() throws {
        let lines = Fixtures.linesWithEndings(try Fixtures.bytes(Fixtures.path("test_text.txt")))
        let trained = BPETrainer.train(texts: lines, vocabSize: 1000, specialTokens: ["<|endoftext|>", "<|pad|>"])
        #expect(trained.eosTokenId == 0)
        #expect(trained.id(of: "<|pad|>") == 1)
        #expect(trained.addedTokens.map(\.content) == ["<|endoftext|>", "<|pad|>"])
        let text = Fixtures.testText
        let ids = trained.encode(text)
        #expect(trained.decode(ids) == text)
        #expect(ids.filter { $0 == 0 }.count == text.components(separatedBy: "<|endoftext|>").count - 1)

        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try trained.save(to: dir)
        for name in ["vocab.json", "merges.txt", "tokenizer.json"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + name))
        }
        let fromJSON = try BPETokenizer(directory: dir)
        let fromPair = try BPETokenizer(vocabJSON: dir + "/vocab.json", mergesTXT: dir + "/merges.txt",
                                        specialTokens: ["<|endoftext|>", "<|pad|>"])
        #expect(fromJSON.fingerprint == trained.fingerprint)
        #expect(fromPair.fingerprint == trained.fingerprint)
        #expect(fromJSON.encode(text) == ids)
        #expect(fromPair.encode(text) == ids)
        #expect(fromJSON.encodeWithOffsets(text).map(\.start) == trained.encodeWithOffsets(text).map(\.start))
        let merges = try Fixtures.bytes(dir + "/merges.txt")
        #expect(String(decoding: merges.prefix(14), as: UTF8.self) == "#version: 0.2\n")
    }

    @Test func smallCorpusAndEdgeCases() {
        let t = BPETrainer.train(texts: ["aaaa aaaa aaaa", "ab ab ab"], vocabSize: 300, specialTokens: [], minFrequency: 2)
        #expect(t.vocabularySize > 256)
        #expect(t.decode(t.encode("aaaa ab")) == "aaaa ab")
        #expect(t.encode("aaaa").count == 1)
        // Nothing to learn: just the alphabet and the specials.
        let empty = BPETrainer.train(texts: [String](), vocabSize: 1000)
        #expect(empty.vocabularySize == 257)
        #expect(empty.mergeCount == 0)
        #expect(empty.decode(empty.encode("¿Qué? 😀")) == "¿Qué? 😀")
    }

    /// Train on 90% of the novel's lines, measure tokens per byte on the rest, compare with
    /// the figure HF's trainer reached with the same split and vocab size.
    @Test(.enabled(if: Fixtures.hasQuijote, "needs ../shared/corpus/quijote.txt next to the repository"))
    func compressionWithinTwoPercentOfHF() throws {
        let meta = try #require(Fixtures.meta["compression"] as? [String: Any])
        let vocabSize = try #require(meta["vocab_size"] as? Int)
        let trainLines = try #require(meta["train_lines"] as? Int)
        let hfTokensPerByte = try #require(meta["tokens_per_byte"] as? Double)
        let corpus = try Fixtures.bytes(Fixtures.quijotePath)
        let lines = Fixtures.linesWithEndings(corpus)
        try #require(lines.count == meta["total_lines"] as? Int)

        let start = Date()
        let trained = BPETrainer.train(texts: lines[..<trainLines], vocabSize: vocabSize)
        let seconds = Date().timeIntervalSince(start)
        let heldOut = lines[trainLines...].joined()
        let tokensPerByte = Double(trained.encode(heldOut).count) / Double(heldOut.utf8.count)
        let ratio = tokensPerByte / hfTokensPerByte
        print("trained \(vocabSize) tokens in \(String(format: "%.2f", seconds)) s; tokens/byte \(tokensPerByte) vs HF \(hfTokensPerByte)")
        #expect(abs(ratio - 1) < 0.02)

        // In fact the merges are HF's, one for one.
        let hf = try BPETokenizer(vocabJSON: Fixtures.path("quijote-2k/vocab.json"), mergesTXT: Fixtures.path("quijote-2k/merges.txt"))
        #expect(trained.fingerprint == hf.fingerprint)
    }
}
