import Foundation
import Prep
import PreparedFormat
import Testing
import TestSupport
import Tokenizer

/// One very long document: packed in time linear in its length, into the blocks its ids make,
/// and cancellable halfway through.
@Suite("Long documents")
struct LongDocumentTests {
    static let tokenizer = PreparerTests.tokenizer

    /// About `megabytes` MiB of generated Spanish prose on one line (no newline inside).
    static func text(megabytes: Int) -> String {
        var generator = CorpusGenerator(seed: 7)
        let paragraph = generator.general(documents: 60).joined(separator: " ").split(whereSeparator: \.isNewline).joined(separator: " ")
        var text = ""
        text.reserveCapacity(megabytes << 20 + paragraph.utf8.count)
        var copy = 0
        while text.utf8.count < megabytes << 20 {
            // A number per copy, so that the text is not one paragraph's tokens over and over.
            text += "\(copy). " + paragraph + " "
            copy += 1
        }
        return text
    }

    static let sixteen = text(megabytes: 16)

    func file(_ documents: [String]) -> String {
        let path = Fixtures.temporaryDirectory() + "/long.txt"
        _ = FileManager.default.createFile(atPath: path, contents: Data(documents.joined(separator: "\n").utf8))
        return path
    }

    func options(maxLength: Int) -> PrepareOptions {
        var options = PrepareOptions()
        options.format = .text
        options.layout = "pack"
        options.maxLength = maxLength
        options.valFraction = 0
        options.shuffleWindow = 0
        return options
    }

    func tokens(_ path: String) throws -> [Int32] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return stride(from: 0, to: data.count, by: 2).map { Int32(UInt16(data[$0]) | UInt16(data[$0 + 1]) << 8) }
    }

    @Test("pack: the blocks are the documents' ids, each followed by EOS, cut into consecutive blocks, the tail dropped")
    func packedBlocks() throws {
        let long = Self.text(megabytes: 1)
        let documents = [long, "Una nota corta.", String(long.prefix(5000))]
        let maxLength = 37  // not a divisor of anything here: blocks straddle documents
        let out = Fixtures.temporaryDirectory()
        let counts = try Preparer.run(inputs: [file(documents)], tokenizer: Self.tokenizer, options: options(maxLength: maxLength), to: out)

        let eos = Self.tokenizer.eosTokenId!
        let joined = documents.flatMap { Self.tokenizer.encode($0, allowSpecial: false) + [eos] }
        let expected = Array(joined.prefix(joined.count / maxLength * maxLength))
        #expect(counts.blocks["train"] == joined.count / maxLength && counts.tokens["train"] == expected.count)
        #expect(try tokens(out + "/train.bin") == expected)
        #expect(!FileManager.default.fileExists(atPath: out + "/validation.bin"))
    }

    @Test("the median word count is split(whereSeparator: isWhitespace)'s, Unicode corner cases included")
    func wordCounts() throws {
        let texts = ["a \u{301} b", " \u{301}x y", "x\r\n\r\ny\rz", "\u{600} x \u{600}", "a\u{85}b\u{A0}c\u{2028}d\u{3000}e\u{1680}f",
                     "🇪🇸 🇪🇸🇪 x", "👩‍👩‍👧 x", "e\u{301} \u{1F}x\u{1C}y\u{B}z", "\u{1100}\u{1161} \u{AC00}\u{11A8} ok", "  Hola,  mundo\t ¿qué tal?  "]
        for text in texts {
            let path = Fixtures.temporaryDirectory() + "/one.jsonl"
            let line = try JSONSerialization.data(withJSONObject: ["text": text])
            _ = FileManager.default.createFile(atPath: path, contents: line)
            var options = options(maxLength: 2)
            options.format = .jsonl
            let counts = try Preparer.run(inputs: [path], tokenizer: Self.tokenizer, options: options, to: Fixtures.temporaryDirectory())
            #expect(counts.medianWords == Double(text.split(whereSeparator: \.isWhitespace).count), "\(Array(text.unicodeScalars))")
        }
    }

    @Test("LineReader: lines far longer than a chunk, and CR LF split across chunks, read as lines", arguments: [3, 7, 4096])
    func longLines(chunkSize: Int) throws {
        var bytes: [UInt8] = []
        for (k, length) in [0, 1, 6, 7, 8, 50, 20_000, 3, 0, 9_999].enumerated() {
            bytes += (0..<length).map { UInt8(ascii: "a") + UInt8(($0 + k) % 26) }
            bytes += k % 2 == 0 ? [0x0D, 0x0A] : [0x0A]
        }
        bytes += Array("sin salto".utf8)
        let path = Fixtures.temporaryDirectory() + "/lines.txt"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let expected = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0.last == 0x0D ? $0.dropLast() : $0) }
        let lines = Array(try LineReader(path: path, chunkSize: chunkSize))
        #expect(lines.map(\.bytes) == expected)
        #expect(lines.map(\.number) == Array(1...expected.count))
    }

    /// `removeFirst` of each block from the front of the pending tokens made this quadratic:
    /// this corpus took 299 s (debug build, 2 busy cores), and about 1 s once linear. The
    /// bound leaves room for a slow, busy machine, and none for the quadratic packer.
    @Test("a 16 MiB single-document corpus in 32-token blocks is prepared in linear time")
    func linear() throws {
        let out = Fixtures.temporaryDirectory()
        let started = Date()
        let counts = try Preparer.run(inputs: [file([Self.sixteen])], tokenizer: Self.tokenizer, options: options(maxLength: 32), to: out)
        let seconds = Date().timeIntervalSince(started)
        #expect(counts.kept == 1 && counts.blocks["train", default: 0] > 100_000)
        #expect(seconds < 30, "16 MiB took \(seconds) s")
    }

    /// Prepares `documents` copies of `text`, answering the n-th question with `cancelAt(n)`;
    /// the run must stop with `.cancelled` and leave neither shards nor a manifest.
    func cancelled(_ text: String, documents: Int = 1, layout: String = "pack",
                   _ cancelAt: (Int) -> Bool) throws -> (asked: Int, after: TimeInterval) {
        let out = Fixtures.temporaryDirectory()
        var options = options(maxLength: 32)
        options.layout = layout
        var asked = 0
        var cancelledAt: Date?
        do {
            let counts = try Preparer.run(inputs: [file(Array(repeating: text, count: documents))], tokenizer: Self.tokenizer,
                                          options: options, to: out, shouldStop: {
                asked += 1
                if cancelledAt == nil && cancelAt(asked) { cancelledAt = Date() }
                return cancelledAt != nil
            })
            Issue.record("not cancelled: \(counts.kept) documents kept after \(asked) questions")
        } catch PrepError.cancelled {}
        let after = cancelledAt.map { Date().timeIntervalSince($0) } ?? .infinity
        #expect(try FileManager.default.contentsOfDirectory(atPath: out) == [], "a stopped run leaves nothing behind")
        return (asked, after)
    }

    @Test("cancel within one long document: it stops within a second or two and leaves nothing behind")
    func cancelWithinDocument() throws {
        // By time, as `jobs cancel` comes: 0.2 s after the first question (before the
        // document), the run is inside its one document.
        var started = Date.distantFuture
        let timed = try cancelled(Self.sixteen) { question in
            if question == 1 { started = Date() }
            return Date().timeIntervalSince(started) > 0.2
        }
        #expect(timed.asked > 1, "asked only between documents")
        #expect(timed.after < 2, "stopped \(timed.after) s after the cancel")

        // The second question is the encoder's (the first is before the document); on 3 MiB
        // the encoder asks three times, so the tenth is the packer's.
        let three = Self.text(megabytes: 3)
        for question in [2, 10] {
            let stop = try cancelled(three) { $0 == question }
            #expect(stop.asked == question)
        }
    }

    @Test("cancel between documents: the same error, and nothing left behind either")
    func cancelBetweenDocuments() throws {
        // pad asks only between documents, every 1,024: the second question is before the 1,025th.
        let stop = try cancelled("Una frase corta de prueba.", documents: 3000, layout: "pad") { $0 == 2 }
        #expect(stop.asked == 2)
    }
}
