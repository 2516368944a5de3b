import Foundation
import Testing
import Tokenizer

/// Ids and offsets must equal what Hugging Face `tokenizers` 0.23.3 produced for the same files.
@Suite struct ParityTests {
    @Test func testTextIdsFromTokenizerJSON() throws {
        let expected = Fixtures.ids(Fixtures.reference["ids"])
        #expect(expected.count > 8000)
        let ids = Fixtures.big.encode(Fixtures.testText)
        #expect(ids == expected, "first difference at \(firstDifference(ids, expected))")
    }

    @Test func testTextIdsFromVocabAndMerges() throws {
        let ids = Fixtures.bigFromVocab.encode(Fixtures.testText)
        #expect(ids == Fixtures.ids(Fixtures.reference["ids"]))
    }

    @Test func specialTokensDisallowedEncodeAsText() throws {
        let ids = Fixtures.big.encode(Fixtures.testText, allowSpecial: false)
        #expect(ids == Fixtures.ids(Fixtures.reference["ids_special_disallowed"]))
        #expect(!ids.contains(Fixtures.big.eosTokenId!))
    }

    @Test func offsetsMatchHF() throws {
        let result = Fixtures.big.encodeWithOffsets(Fixtures.testText)
        let expected = Fixtures.offsets(Fixtures.reference["offsets"])
        #expect(result.map(\.id) == Fixtures.ids(Fixtures.reference["ids"]))
        #expect(result.map { [$0.start, $0.end] } == expected)
    }

    @Test func trimmedOffsetsMatchHF() throws {
        let json = try Fixtures.text("quijote-22k/tokenizer.json")
        let old = #""post_processor":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true}"#
        let new = #""post_processor":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}"#
        #expect(json.contains(old))
        let tok = try BPETokenizer(tokenizerJSONData: Array(json.replacingOccurrences(of: old, with: new).utf8))
        let result = tok.encodeWithOffsets(Fixtures.testText)
        #expect(result.map { [$0.start, $0.end] } == Fixtures.offsets(Fixtures.reference["offsets_trimmed"]))
    }

    @Test func addPrefixSpaceMatchesHF() throws {
        let json = try Fixtures.text("quijote-22k/tokenizer.json")
        let old = #""pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false"#
        let new = #""pre_tokenizer":{"type":"ByteLevel","add_prefix_space":true"#
        #expect(json.contains(old))
        let tok = try BPETokenizer(tokenizerJSONData: Array(json.replacingOccurrences(of: old, with: new).utf8))
        let result = tok.encodeWithOffsets(Fixtures.testText)
        #expect(result.map(\.id) == Fixtures.ids(Fixtures.reference["ids_prefix_space"]))
        #expect(result.map { [$0.start, $0.end] } == Fixtures.offsets(Fixtures.reference["offsets_prefix_space"]))
        #expect(tok.encode(Fixtures.testText) == result.map(\.id))
        #expect(tok.fingerprint != Fixtures.big.fingerprint)
    }

    /// lstrip, rstrip, single_word, overlapping and non-special added tokens.
    @Test func addedTokenOptionsMatchHF() throws {
        let c = try #require(Fixtures.reference["added_tokens_case"] as? [String: Any])
        let json = try Fixtures.text("quijote-22k/tokenizer.json")
        let start = try #require(json.range(of: #""added_tokens":"#))
        let end = try #require(json.range(of: #","normalizer":"#))
        let patched = json.replacingCharacters(in: start.upperBound..<end.lowerBound, with: c["added_tokens_json"] as! String)
        let tok = try BPETokenizer(tokenizerJSONData: Array(patched.utf8))
        let text = c["text"] as! String
        let result = tok.encodeWithOffsets(text)
        #expect(result.map(\.id) == Fixtures.ids(c["ids"]))
        #expect(result.map { [$0.start, $0.end] } == Fixtures.offsets(c["offsets"]))
        #expect(tok.encode(text, allowSpecial: false) == Fixtures.ids(c["ids_special_disallowed"]))
        #expect(tok.addedTokens.count == 6)
    }

    @Test func bothLoadersAgree() throws {
        let a = Fixtures.big, b = Fixtures.bigFromVocab
        #expect(a.vocabularySize == b.vocabularySize)
        #expect(a.vocabularySize == 22414)
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fingerprint.count == 64)
        #expect(a.eosTokenId == 0 && b.eosTokenId == 0)
        #expect(a.tokenString(221) == "Ġ")
        #expect(a.id(of: "Ġ") == 221)
        #expect(a.tokenString(Int32(a.vocabularySize)) == nil)
    }

    @Test(.enabled(if: Fixtures.hasQuijote, "needs ../shared/corpus/quijote.txt next to the repository"))
    func wholeNovelMatchesHF() throws {
        let corpus = try Fixtures.bytes(Fixtures.quijotePath)
        let meta = try #require(Fixtures.meta["quijote"] as? [String: Any])
        try #require(corpus.count == meta["bytes"] as? Int && fnv1a64(corpus) == meta["fnv1a64"] as? String,
                     "quijote.txt is not the file the fixtures were made from")
        let expected = try Fixtures.bytes(Fixtures.path("quijote.ids.u16")).withUnsafeBytes {
            $0.bindMemory(to: UInt16.self).map { Int32(UInt16(littleEndian: $0)) }
        }
        let ids = Fixtures.big.encode(String(decoding: corpus, as: UTF8.self))
        #expect(ids.count == expected.count)
        #expect(ids == expected, "first difference at token \(firstDifference(ids, expected))")
    }
}

/// FNV-1a 64 as hex, to check the corpus is the one the fixtures were made from.
func fnv1a64(_ bytes: [UInt8]) -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    bytes.withUnsafeBufferPointer { buf in
        for b in buf { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    }
    let hex = String(h, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

func firstDifference(_ a: [Int32], _ b: [Int32]) -> Int {
    zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
}
