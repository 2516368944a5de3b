import Foundation
import PreparedFormat
import Testing
import Tokenizer
import Training

@Suite("cuentista train")
struct TrainCommandTests {
    func makeData(_ directory: String, fingerprint: String) throws {
        var blocks: [[Int32]] = []
        for start in 0..<16 {
            blocks.append((0..<16).map { (offset: Int) -> Int32 in Int32(1 + (start * 5 + offset) % 30) })
        }
        try PreparedData.write(blocks: blocks, masks: nil, validation: Array(blocks.prefix(2)), validationMasks: nil,
                               to: directory, tokenizerFingerprint: fingerprint, vocabSize: 512, maxLength: 16)
    }

    @Test("fine-tunes the fixture model, prints the per-epoch table and writes a loadable final model")
    func fineTune() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tokenizer = try BPETokenizer(directory: CLI.fixture("tiny-safetensors"))
        try makeData(dir + "/data", fingerprint: tokenizer.fingerprint)
        let result = try CLI.run(["train", "--model", CLI.fixture("tiny-safetensors"), "--data", dir + "/data", "--out", dir + "/run",
                                  "--epochs", "2", "--batch-size", "4", "--lr", "1e-3", "--log-json", dir + "/log.jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Epoch | Training Loss | Validation Loss"))
        #expect(result.stderr.contains("eval after step 4 (epoch 1)"))
        let inspect = try CLI.run(["inspect", "--model", dir + "/run/final", "--json"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/run/final/tokenizer.json"))
        #expect(FileManager.default.fileExists(atPath: dir + "/log.jsonl"))
    }

    @Test("data prepared with another tokenizer is refused, saying so")
    func tokenizerMismatch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try makeData(dir + "/data", fingerprint: "another")
        let result = try CLI.run(["train", "--model", CLI.fixture("tiny-safetensors"), "--data", dir + "/data", "--out", dir + "/run"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("prepared with another tokenizer"))
    }

    @Test("init:tiny trains from a fresh model")
    func fromScratch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try makeData(dir + "/data", fingerprint: "whatever")
        let result = try CLI.run(["train", "--model", "init:tiny", "--data", dir + "/data", "--out", dir + "/run",
                                  "--max-steps", "3", "--batch-size", "4", "--lr", "1e-3", "--lr-schedule", "cosine"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/run/final/model.safetensors"))
    }
}
