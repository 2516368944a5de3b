import Foundation
import Testing
import Tokenizer

@Suite struct LoadingTests {
    private func tokenizerJSON(model: String = #""model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}"#,
                               pre: String = #"{"type":"ByteLevel","add_prefix_space":false}"#,
                               normalizer: String = "null", post: String = "null", decoder: String = #"{"type":"ByteLevel"}"#) -> [UInt8] {
        Array(#"{"added_tokens":[],"normalizer":\#(normalizer),"pre_tokenizer":\#(pre),"post_processor":\#(post),"decoder":\#(decoder),\#(model)}"#.utf8)
    }

    private func unsupported(_ data: [UInt8], mentions: String) {
        do {
            _ = try BPETokenizer(tokenizerJSONData: data, file: "models/x/tokenizer.json")
            Issue.record("loaded a tokenizer that should be refused (\(mentions))")
        } catch {
            guard case .unsupported(let file, let what) = error else {
                Issue.record("expected .unsupported, got \(error)")
                return
            }
            #expect(file == "models/x/tokenizer.json")
            #expect(what.contains(mentions))
            #expect(error.description.contains("models/x/tokenizer.json"))
            #expect(error.description.contains(mentions))
        }
    }

    @Test func otherTokenizerTypesAreRefusedByName() {
        unsupported(tokenizerJSON(model: #""model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"a":0}}"#), mentions: "WordPiece")
        unsupported(tokenizerJSON(model: #""model":{"type":"Unigram","vocab":[["a",0.0]]}"#), mentions: "Unigram")
        unsupported(tokenizerJSON(model: #""model":{"type":"WordLevel","vocab":{"a":0}}"#), mentions: "WordLevel")
        unsupported(tokenizerJSON(pre: #"{"type":"Whitespace"}"#), mentions: "pre_tokenizer Whitespace")
        unsupported(tokenizerJSON(pre: #"{"type":"Metaspace","replacement":"▁"}"#), mentions: "pre_tokenizer Metaspace")
        unsupported(tokenizerJSON(pre: "null"), mentions: "no pre_tokenizer")
        unsupported(tokenizerJSON(pre: #"{"type":"ByteLevel","use_regex":false}"#), mentions: "use_regex")
        unsupported(tokenizerJSON(normalizer: #"{"type":"NFC"}"#), mentions: "normalizer NFC")
        unsupported(tokenizerJSON(post: #"{"type":"TemplateProcessing","single":[]}"#), mentions: "post_processor TemplateProcessing")
        unsupported(tokenizerJSON(decoder: #"{"type":"WordPiece"}"#), mentions: "decoder WordPiece")
        unsupported(tokenizerJSON(model: #""model":{"type":"BPE","continuing_subword_prefix":"@@","vocab":{},"merges":[]}"#), mentions: "continuing_subword_prefix")
        unsupported(tokenizerJSON(model: #""model":{"type":"BPE","dropout":0.1,"vocab":{},"merges":[]}"#), mentions: "dropout")
    }

    @Test func minimalByteLevelBPELoads() throws {
        let tok = try BPETokenizer(tokenizerJSONData: tokenizerJSON())
        #expect(tok.encode("ab") == [2])
        #expect(tok.encode("ba") == [1, 0])
        #expect(tok.encode("c") == [])  // bytes missing from the vocab are dropped, as in HF
        #expect(tok.vocabularySize == 3)
        #expect(tok.eosTokenId == nil)
    }

    @Test func mergesAsStringsOrPairsLoadTheSame() throws {
        let json = try Fixtures.text("quijote-22k/tokenizer.json")
        let start = try #require(json.range(of: #""merges":"#))
        let endsWithMerges = json.hasSuffix("]]}}")
        #expect(endsWithMerges)
        // [["a","b"],["c","d"]] → ["a b","c d"]
        let pairs = try #require(try JSONSerialization.jsonObject(with: Data(json[start.upperBound...].dropLast(2).utf8)) as? [[String]])
        #expect(pairs.count == Fixtures.big.mergeCount)
        let legacy = try JSONSerialization.data(withJSONObject: pairs.map { $0.joined(separator: " ") })
        let rewritten = String(json[..<start.upperBound]) + String(decoding: legacy, as: UTF8.self) + "}}"
        #expect(rewritten.utf8.count < json.utf8.count)
        let tok = try BPETokenizer(tokenizerJSONData: Array(rewritten.utf8))
        #expect(tok.mergeCount == Fixtures.big.mergeCount)
        #expect(tok.fingerprint == Fixtures.big.fingerprint)
    }

    @Test func directoryPrefersTokenizerJSON() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: TokenizerError.noTokenizerFiles(directory: dir)) { try BPETokenizer(directory: dir) }

        let fm = FileManager.default
        for name in ["vocab.json", "merges.txt"] {
            try fm.copyItem(atPath: Fixtures.path("quijote-22k/" + name), toPath: dir + "/" + name)
        }
        #expect(try BPETokenizer(directory: dir).fingerprint == Fixtures.big.fingerprint)

        // A tokenizer.json that differs (add_prefix_space) wins over the pair.
        let json = try Fixtures.text("quijote-22k/tokenizer.json").replacingOccurrences(
            of: #""pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false"#,
            with: #""pre_tokenizer":{"type":"ByteLevel","add_prefix_space":true"#)
        try Data(json.utf8).write(to: URL(fileURLWithPath: dir + "/tokenizer.json"))
        let tok = try BPETokenizer(directory: dir)
        #expect(tok.fingerprint != Fixtures.big.fingerprint)
        #expect(tok.encode("Hola") == Fixtures.big.encode(" Hola"))
    }

    @Test func mergesFileVariants() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let vocab = Fixtures.path("quijote-22k/vocab.json")
        let merges = try Fixtures.text("quijote-22k/merges.txt")
        #expect(merges.hasPrefix("#version"))
        // No #version line, CRLF line endings, no final newline.
        let variant = merges.split(separator: "\n").dropFirst().joined(separator: "\r\n")
        try Data(variant.utf8).write(to: URL(fileURLWithPath: dir + "/merges.txt"))
        let tok = try BPETokenizer(vocabJSON: vocab, mergesTXT: dir + "/merges.txt")
        #expect(tok.fingerprint == Fixtures.big.fingerprint)

        // A merge of tokens the vocab does not have names the file and the line.
        try Data("#version: 0.2\nĠ d\nzz qq\n".utf8).write(to: URL(fileURLWithPath: dir + "/bad.txt"))
        do {
            _ = try BPETokenizer(vocabJSON: vocab, mergesTXT: dir + "/bad.txt")
            Issue.record("bad merges loaded")
        } catch {
            #expect(error.description.contains("bad.txt"))
            #expect(error.description.contains("line 3"))
            #expect(error.description.contains("zz"))
        }
        try Data("Ġ d e\n".utf8).write(to: URL(fileURLWithPath: dir + "/three.txt"))
        #expect(throws: TokenizerError.self) { try BPETokenizer(vocabJSON: vocab, mergesTXT: dir + "/three.txt") }
    }

    @Test func brokenFilesGiveNamedErrors() throws {
        #expect(throws: TokenizerError.io(file: "/nonexistent/tokenizer.json", reason: "no such file")) {
            try BPETokenizer(tokenizerJSON: "/nonexistent/tokenizer.json")
        }
        do {
            _ = try BPETokenizer(tokenizerJSONData: Array(#"{"model": {"type": "BPE", "vocab": {"a": 0}"#.utf8), file: "t.json")
            Issue.record("truncated JSON loaded")
        } catch {
            guard case .invalidFile(let file, let reason) = error else { Issue.record("\(error)"); return }
            #expect(file == "t.json")
            #expect(reason.contains("invalid JSON"))
        }
    }

    @Test func escapedAndRawUnicodeInJSONAreTheSame() throws {
        // "\u0120" escapes (as in OpenAI's encoder.json) and raw UTF-8 name the same token.
        let raw = try BPETokenizer(tokenizerJSONData: tokenizerJSON(
            model: #""model":{"type":"BPE","vocab":{"Ġ":0,"a":1,"Ġa":2,"😀":3},"merges":[["Ġ","a"]]}"#))
        let escaped = try BPETokenizer(tokenizerJSONData: tokenizerJSON(
            model: #""model":{"type":"BPE","vocab":{"\u0120":0,"a":1,"\u0120a":2,"\ud83d\ude00":3},"merges":["\u0120 a"]}"#))
        #expect(raw.fingerprint == escaped.fingerprint)
        #expect(escaped.encode(" a") == [2])
        #expect(escaped.tokenString(3) == "😀")
    }
}
