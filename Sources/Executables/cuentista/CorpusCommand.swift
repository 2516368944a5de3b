import ArgumentParser
import Foundation
import Prep

struct CorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Write the project's own Spanish corpus (generated from word lists and templates).",
        discussion: "Writes products.jsonl (title, description, brand, colour; some descriptions missing on purpose) and general.txt (stories, jokes, notes).")

    @Option(help: "Directory to write.") var out = "corpus"
    @Option(help: "Product rows.") var products = 700
    @Option(help: "General documents.") var documents = 600
    @Option(help: "Seed.") var seed: UInt64 = 2024

    func run() throws {
        var generator = CorpusGenerator(seed: seed)
        let rows = generator.products(count: products)
        let general = generator.general(documents: documents)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try (rows.joined(separator: "\n") + "\n").write(toFile: out + "/products.jsonl", atomically: true, encoding: .utf8)
        try (general.joined(separator: "\n\n") + "\n").write(toFile: out + "/general.txt", atomically: true, encoding: .utf8)
        let descriptions = rows.compactMap { line -> String? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])?["product_description"]
        }
        let sizes = [out + "/products.jsonl", out + "/general.txt"].map { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0 }
        print("products.jsonl: \(rows.count) rows, \(sizes[0]) bytes, distinct sentences \(String(format: "%.1f%%", 100 * CorpusGenerator.distinctSentenceShare(descriptions)))")
        print("general.txt: \(general.count) documents, \(sizes[1]) bytes, distinct sentences \(String(format: "%.1f%%", 100 * CorpusGenerator.distinctSentenceShare(general)))")
    }
}
