import Kernels
import Foundation
import Testing
import Tokenizer

@Suite struct DecodeTests {
    @Test func testTextRoundTrips() {
        let tok = Fixtures.big
        let text = Fixtures.testText
        let ids = tok.encode(text)
        #expect(tok.decode(ids) == text)
        #expect(tok.decodeBytes(ids) == Array(text.utf8))
        // Without the special token, decoding skips it.
        let skipped = tok.decode(ids, skipSpecialTokens: true)
        #expect(skipped == text.replacingOccurrences(of: "<|endoftext|>", with: ""))
    }

    /// Arbitrary id runs (split characters, invalid UTF-8) decode to what HF's `decode` gives.
    @Test func replacementCharactersMatchHF() throws {
        let cases = try #require(Fixtures.reference["decode_cases"] as? [[String: Any]])
        #expect(cases.count == 300)
        var replaced = 0
        for c in cases {
            let ids = Fixtures.ids(c["ids"])
            let expected = c["text"] as! String
            let got = Fixtures.big.decode(ids)
            #expect(got == expected, "ids \(ids)")
            if expected.contains("\u{FFFD}") { replaced += 1 }
        }
        #expect(replaced > 50)  // the cases do exercise invalid UTF-8
    }

    @Test func randomTextRoundTrips() {
        var rng = SeededGenerator(seed: 42)
        let tok = Fixtures.big
        for _ in 0..<300 {
            let text = randomText(&rng, length: Int.random(in: 0...80, using: &rng))
            let ids = tok.encode(text)
            #expect(tok.decode(ids) == text)
            #expect(tok.decode(tok.encode(text, allowSpecial: false)) == text)
            let withOffsets = tok.encodeWithOffsets(text)
            #expect(withOffsets.map(\.id) == ids)
            let scalars = text.unicodeScalars.count
            var previousStart = 0
            for t in withOffsets {
                #expect(t.start <= t.end && t.end <= scalars && t.start >= previousStart)
                previousStart = t.start
            }
        }
    }

    /// Very long pre-tokens (one 60 KB word, whitespace or emoji run) take the heap path.
    @Test func longRunsRoundTrip() {
        let tok = Fixtures.big
        for text in [String(repeating: "Supercalifragilistico", count: 3000), String(repeating: " ", count: 50000) + "x",
                     String(repeating: "😀", count: 10000), String(repeating: "ab\u{301}", count: 10000)] {
            let ids = tok.encode(text)
            #expect(tok.decode(ids) == text)
            #expect(ids.count <= text.utf8.count)
        }
    }

    @Test func incrementalDecoderReassemblesSplitCharacters() {
        let tok = Fixtures.big
        let text = Fixtures.testText
        var decoder = tok.makeIncrementalDecoder()
        var out = ""
        var heldBack = 0
        for id in tok.encode(text) {
            let piece = decoder.append(id)
            #expect(!piece.contains("\u{FFFD}"))
            out += piece
            if decoder.pendingByteCount > 0 { heldBack += 1 }
        }
        out += decoder.finish()
        #expect(out == text)
        #expect(heldBack > 20)  // emoji, CJK and accents were split across tokens
    }

    @Test func danglingLeadByteBecomesReplacementOnlyAtFinish() throws {
        let tok = Fixtures.big
        let lead = try #require(tok.id(of: "ð"))   // byte 0xF0: starts a 4-byte sequence
        let cont = try #require(tok.id(of: "Ł"))   // byte 0x9F: a continuation byte
        var d = tok.makeIncrementalDecoder()
        #expect(d.append(tok.id(of: "a")!) == "a")
        #expect(d.append(lead) == "")
        #expect(d.append(cont) == "")
        #expect(d.pendingByteCount == 2)
        #expect(d.finish() == "\u{FFFD}")
        #expect(d.finish() == "")

        // A byte that cannot continue the sequence settles it at once.
        var e = tok.makeIncrementalDecoder()
        #expect(e.append(lead) == "")
        #expect(e.append(tok.id(of: "b")!) == "\u{FFFD}b")
        #expect(e.finish() == "")
        // A stray continuation byte is never waited for.
        var f = tok.makeIncrementalDecoder()
        #expect(f.append(cont) == "\u{FFFD}")
    }

    /// Whatever the split, the streamed pieces add up to `decode` of the whole.
    @Test func incrementalDecoderAgreesWithDecode() {
        let tok = Fixtures.big
        var rng = SeededGenerator(seed: 7)
        let highBytes = (0..<Int32(tok.vocabularySize)).filter { id in
            tok.tokenString(id)!.unicodeScalars.contains { $0.value >= 0x80 }
        }
        for _ in 0..<500 {
            let ids = (0..<Int.random(in: 1...12, using: &rng)).map { _ in
                Bool.random(using: &rng) ? highBytes.randomElement(using: &rng)! : Int32.random(in: 0..<Int32(tok.vocabularySize), using: &rng)
            }
            var d = tok.makeIncrementalDecoder()
            var streamed = ""
            for id in ids { streamed += d.append(id) }
            streamed += d.finish()
            #expect(streamed == tok.decode(ids), "ids \(ids)")
        }
    }
}

/// Random valid text mixing ASCII, Latin-1, emoji (with ZWJ and skin tones), CJK, whitespace
/// runs and pieces of special tokens.
func randomText(_ rng: inout SeededGenerator, length: Int) -> String {
    let pools: [[String]] = [
        ["a", "b", "Z", "q", "7", "0", "'", "'s", "'LL", "'re", "-", ".", ",", "!", "?", "(", ")", "{", "}", "_", "/", "\\"],
        ["á", "é", "ñ", "Ñ", "ü", "¿", "¡", "ç", "ß", "ø", "ª", "º", "½", "²", "×", "\u{A0}", "\u{AD}", "ÿ"],
        ["😀", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇪🇸", "❤️", "1️⃣", "🫶", "𝔘"],
        ["日", "本", "語", "中", "文", "한", "국", "ア", "。", "、", "\u{3000}"],
        [" ", "  ", "   ", "\n", "\r\n", "\t", "\u{2009}", "\u{85}", "\u{2028}", "\u{B}", "\u{C}", "\r"],
        ["<|endoftext|>", "<|", "|>", "endoftext", "<|endoftext", "\u{FEFF}", "\u{1}", "\u{7F}", "e\u{301}", "ـ", "٣", "ب"],
    ]
    var s = ""
    for _ in 0..<length {
        let pool = pools[Int.random(in: 0..<pools.count, using: &rng)]
        s += pool[Int.random(in: 0..<pool.count, using: &rng)]
    }
    return s
}
