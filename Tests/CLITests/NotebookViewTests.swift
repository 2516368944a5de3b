import Foundation
import Testing

/// The notebook's views through the CLI, against what transformers printed for the same
/// model directory (Tests/Fixtures/reference/notebook_views.json).
@Suite("cuentista tokenize / next / generate / tokenizer train")
struct NotebookViewTests {
    struct Reference: Decodable {
        struct Row: Decodable { let id: Int32; let probability: Double }
        let prompt: String
        let prompt_ids: [Int32]
        let next: [Row]
        let greedy_ids: [Int32]
        let greedy_text: String
    }

    static let reference = try! JSONDecoder().decode(
        Reference.self, from: Data(contentsOf: CLI.repository.appendingPathComponent("Tests/Fixtures/reference/notebook_views.json")))
    static let model = CLI.fixture("tiny-safetensors")

    func json(_ result: CLI.Result) throws -> Any {
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }

    @Test("tokenize gives Hugging Face's ids")
    func tokenize() throws {
        let out = try #require(try json(CLI.run(["tokenize", "--tokenizer", Self.model, Self.reference.prompt, "--json"])) as? [String: Any])
        #expect(out["ids"] as? [Int] == Self.reference.prompt_ids.map(Int.init))
        #expect(out["count"] as? Int == Self.reference.prompt_ids.count)
    }

    @Test("next shows transformers' top-10 next tokens and probabilities for \"Había una vez\"")
    func next() throws {
        let out = try #require(try json(CLI.run(["next", "--model", Self.model, "--prompt", Self.reference.prompt, "--json"])) as? [String: Any])
        let rows = try #require(out["next"] as? [[String: Any]])
        #expect(rows.count == 10)
        #expect(rows.map { $0["token"] as? Int } == Self.reference.next.map { Int($0.id) })
        for (row, expected) in zip(rows, Self.reference.next) {
            #expect(abs((row["probability"] as? Double ?? 0) - expected.probability) < 1e-5)
        }
        let table = try CLI.run(["next", "--model", Self.model, "--prompt", Self.reference.prompt])
        #expect(table.stdout.contains(String(format: "%6.2f %%", Self.reference.next[0].probability * 100)))
    }

    @Test("generate greedily continues like transformers, as text and as JSON with the trace")
    func generate() throws {
        let arguments = ["generate", "--model", Self.model, "--prompt", Self.reference.prompt, "--max-new-tokens", "20"]
        let out = try #require(try json(CLI.run(arguments + ["--json", "--trace-top", "3"])) as? [[String: Any]])
        let completion = try #require(out.first)
        let expected = Self.reference.greedy_ids
        #expect(completion["tokens"] as? [Int] == expected.map(Int.init))
        #expect(completion["text"] as? String == Self.reference.greedy_text)
        #expect((completion["trace"] as? [Any])?.count == expected.count)
        let text = try CLI.run(arguments + ["--trace-top", "3"])
        #expect(text.stdout.contains(Self.reference.prompt + Self.reference.greedy_text))
        #expect(text.stdout.contains("step 1: chose"))
        let streamed = try CLI.run(arguments + ["--stream"])
        #expect(streamed.stdout.hasPrefix(Self.reference.greedy_text))
    }

    @Test("epsilon-greedy and sampling with a seed reproduce; bad values are named")
    func strategies() throws {
        let base = ["generate", "--model", Self.model, "--prompt", Self.reference.prompt, "--max-new-tokens", "12", "--seed", "5", "--json"]
        for strategy in [["--strategy", "epsilon-greedy", "--epsilon", "0.5"], ["--strategy", "sample", "--temperature", "0.8", "--top-k", "40"]] {
            let first = try CLI.run(base + strategy), second = try CLI.run(base + strategy)
            #expect(first.status == 0 && first.stdout == second.stdout)
        }
        let bad = try CLI.run(base + ["--temperature", "-1"])
        #expect(bad.status != 0 && bad.stderr.contains("temperature"))
        let unknown = try CLI.run(base + ["--strategy", "beam"])
        #expect(unknown.status != 0 && unknown.stderr.contains("strategy"))
    }

    @Test("tokenizer train writes files the tokenizer loads back")
    func train() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let text = CLI.repository.appendingPathComponent("Tests/Fixtures/tokenizer/test_text.txt").path
        let result = try CLI.run(["tokenizer", "train", "--input", text, "--vocab-size", "400", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        for file in ["vocab.json", "merges.txt", "tokenizer.json"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file))
        }
        let tokens = try #require(try json(CLI.run(["tokenize", "--tokenizer", out, "Había una vez", "--json"])) as? [String: Any])
        #expect((tokens["count"] as? Int ?? 0) > 0)
    }
}
