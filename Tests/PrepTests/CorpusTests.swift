import Foundation
import Prep
import Testing

@Suite("Embedded corpus")
struct CorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("the shipped corpus is exactly what the generator writes, and is big and varied enough")
    func regenerates() throws {
        var generator = CorpusGenerator(seed: 2024)
        let products = generator.products(count: 700).joined(separator: "\n") + "\n"
        let general = generator.general(documents: 600).joined(separator: "\n\n") + "\n"
        let shippedProducts = try String(contentsOf: Self.root.appendingPathComponent("corpus/products.jsonl"), encoding: .utf8)
        let shippedGeneral = try String(contentsOf: Self.root.appendingPathComponent("corpus/general.txt"), encoding: .utf8)
        #expect(shippedProducts == products)
        #expect(shippedGeneral == general)
        #expect(products.utf8.count + general.utf8.count >= 150_000)
        let rows = products.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
        let missing = rows.filter { ($0?["product_description"] ?? "").allSatisfy(\.isWhitespace) }.count
        #expect(missing > 10 && missing < 100, "\(missing) rows without a description")
        #expect(CorpusGenerator.distinctSentenceShare(general.components(separatedBy: "\n\n")) > 0.3)
    }
}
