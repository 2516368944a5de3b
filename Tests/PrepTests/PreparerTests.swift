import Foundation
import Prep
import PreparedFormat
import Testing
import TestSupport
import Tokenizer
import Training

@Suite("Preparer")
struct PreparerTests {
    static let tokenizer = try! BPETokenizer(directory: Fixtures.model("tiny-safetensors"))

    func input() -> String {
        var lines = [
            #"{"title": "Silla", "description": "Cómoda silla de roble para el comedor."}"#,
            #"{"title": "Lámpara", "description": "   "}"#,
            #"{"title": "Taza"}"#,
            #"{"title": "Silla", "description": "Cómoda silla de roble para el comedor."}"#,
            "{roto",
        ]
        for i in 0..<60 { lines.append(#"{"title": "Producto \#(i)", "description": "Un artículo útil número \#(i) para la casa."}"#) }
        let path = Fixtures.temporaryDirectory() + "/in.jsonl"
        _ = FileManager.default.createFile(atPath: path, contents: Data(lines.joined(separator: "\n").utf8))
        return path
    }

    @Test("counts are exact, the split is reproducible, and pad/pack shards are what the trainer reads", arguments: ["pack", "pad"])
    func prepare(layout: String) throws {
        var options = PrepareOptions()
        options.field = "description"
        options.dedupe = true
        options.layout = layout
        options.maxLength = 24
        let path = input()
        let first = Fixtures.temporaryDirectory(), second = Fixtures.temporaryDirectory()
        let counts = try Preparer.run(inputs: [path], tokenizer: Self.tokenizer, options: options, to: first)
        #expect(counts.rowsRead == 64)
        #expect(counts.kept == 61)
        #expect(counts.dropped[.empty] == 1 && counts.dropped[.missingField] == 1 && counts.dropped[.duplicate] == 1 && counts.dropped[.unparsable] == 1)
        #expect(counts.dropped.firstLines["duplicate"] == [4] && counts.dropped.firstLines["unparsable"] == [5])
        #expect(counts.documents["train", default: 0] + counts.documents["validation", default: 0] == 61)
        let again = try Preparer.run(inputs: [path], tokenizer: Self.tokenizer, options: options, to: second)
        #expect(again == counts)
        #expect(try Data(contentsOf: URL(fileURLWithPath: first + "/train.bin")) == Data(contentsOf: URL(fileURLWithPath: second + "/train.bin")))

        let data = try PreparedData(directory: first)
        #expect(data.manifest.layout == layout && data.manifest.tokenizerFingerprint == Self.tokenizer.fingerprint)
        let (tokens, targets) = data.train.block(0)
        if layout == "pad" {
            // One document per block: its text, EOS, then masked padding.
            let text = Self.tokenizer.decode(tokens.prefix { $0 != Self.tokenizer.eosTokenId! })
            #expect(text.hasPrefix("Cómoda silla") || text.hasPrefix("Un artículo"))
            #expect(targets.last == -100)
        } else {
            #expect(tokens.contains(Self.tokenizer.eosTokenId!))
            #expect(targets.dropLast().allSatisfy { $0 != -100 })
        }
        #expect(counts.medianWords == 8)  // "Un artículo útil número N para la casa."

        // A seeded shuffle: reproducible, and a different order than the input's.
        options.shuffleWindow = 16
        let shuffled = Fixtures.temporaryDirectory(), shuffledAgain = Fixtures.temporaryDirectory()
        _ = try Preparer.run(inputs: [path], tokenizer: Self.tokenizer, options: options, to: shuffled)
        _ = try Preparer.run(inputs: [path], tokenizer: Self.tokenizer, options: options, to: shuffledAgain)
        let a = try Data(contentsOf: URL(fileURLWithPath: shuffled + "/train.bin"))
        #expect(a == (try Data(contentsOf: URL(fileURLWithPath: shuffledAgain + "/train.bin"))))
        #expect(a != (try Data(contentsOf: URL(fileURLWithPath: first + "/train.bin"))))
    }

    @Test("the embedded product descriptions: rows without a description are dropped and counted, as the notebook's dropna")
    func embeddedCorpus() throws {
        let products = CorpusTests.root.appendingPathComponent("corpus/products.jsonl").path
        var options = PrepareOptions()
        options.field = "product_description"
        options.layout = "pad"
        options.maxLength = 128
        let counts = try Preparer.run(inputs: [products], tokenizer: Self.tokenizer, options: options, to: Fixtures.temporaryDirectory())
        #expect(counts.rowsRead == 700)
        #expect(counts.dropped[.missingField] + counts.dropped[.empty] == 700 - counts.kept)
        #expect(counts.dropped[.missingField] > 0 && counts.dropped[.empty] > 0)
        #expect(counts.documents["validation", default: 0] > 40)
    }

    @Test("limit and fraction select documents; bad options are named")
    func selection() throws {
        var options = PrepareOptions()
        options.field = "description"
        options.limit = 10
        options.maxLength = 16
        let counts = try Preparer.run(inputs: [input()], tokenizer: Self.tokenizer, options: options, to: Fixtures.temporaryDirectory())
        #expect(counts.kept == 10)
        options.limit = nil
        options.fraction = 0.5
        let half = try Preparer.run(inputs: [input()], tokenizer: Self.tokenizer, options: options, to: Fixtures.temporaryDirectory())
        #expect(half.kept > 15 && half.kept < 45)
        options.valFraction = 1
        #expect(throws: InvalidOption(name: "val-fraction", reason: "must be in [0, 1), got 1.0")) { try options.validate() }
    }
}
