import Foundation
import PreparedFormat
import Testing
import Tokenizer
import Training
import GPT2
import RunOptions

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

    /// It used to train to the end and write nothing to the log.
    @Test("a --log-json that cannot be written fails before the first step, naming it")
    func unwritableLog() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try makeData(dir + "/data", fingerprint: "whatever")
        let result = try CLI.run(["train", "--model", "init:tiny", "--data", dir + "/data", "--out", dir + "/run",
                                  "--max-steps", "3", "--batch-size", "4", "--log-json", dir + "/missing/log.jsonl"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(dir)/missing/log.jsonl: cannot open for writing: No such file or directory"), "\(result.stderr)")
        #expect(!result.stderr.contains("step 1/") && !result.stdout.contains("final model"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/run").isEmpty)
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

    /// The steps of the "train" entries of a JSON log, in order.
    static func loggedSteps(_ path: String) throws -> [Int] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["kind"] as? String == "train" else { return nil }
            return object["step"] as? Int
        }
    }

    @Test("a second run into the same --out is refused without touching the first; --overwrite replaces it; neither mixes logs")
    func runsNeverMix() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tokenizer = try BPETokenizer(directory: CLI.fixture("tiny-safetensors"))
        try makeData(dir + "/data", fingerprint: tokenizer.fingerprint)
        let arguments = ["train", "--model", CLI.fixture("tiny-safetensors"), "--data", dir + "/data", "--out", dir + "/run",
                         "--epochs", "1", "--batch-size", "4", "--lr", "1e-3", "--log-json", dir + "/run/log.jsonl"]
        #expect(try CLI.run(arguments).status == 0)
        let first = try FileManager.default.contentsOfDirectory(atPath: dir + "/run").sorted()
        let firstLog = try String(contentsOfFile: dir + "/run/log.jsonl", encoding: .utf8)
        let again = try CLI.run(arguments)
        #expect(again.status != 0)
        #expect(again.stderr.contains("already holds a training run") && again.stderr.contains("--resume") && again.stderr.contains("--overwrite"),
                "\(again.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/run").sorted() == first)
        #expect(try String(contentsOfFile: dir + "/run/log.jsonl", encoding: .utf8) == firstLog)
        let replaced = try CLI.run(arguments + ["--overwrite"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        // One run's steps only: 1, 2, 3, 4 (16 blocks of 4 per epoch), not 1...4, 1...4.
        #expect(try Self.loggedSteps(dir + "/run/log.jsonl") == [1, 2, 3, 4])
        #expect(try CLI.run(arguments + ["--overwrite", "--resume"]).status != 0)
    }

    @Test("a resumed run keeps the log up to the checkpoint it resumes from, so no step appears twice")
    func resumedLogHasNoRepeats() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tokenizer = try BPETokenizer(directory: CLI.fixture("tiny-safetensors"))
        try makeData(dir + "/data", fingerprint: tokenizer.fingerprint)
        let data = try PreparedData(directory: dir + "/data")
        let model = try ModelLoader.load(directory: CLI.fixture("tiny-safetensors")).model
        var options = TrainingOptions()
        options.epochs = 2
        options.batchSize = 4
        options.lr = 1e-3
        options.saveEvery = 2
        let log = dir + "/run/log.jsonl"
        // Stopped after step 3: the last checkpoint is step 2, the log has steps 1-3.
        let first = try Trainer(model: model, data: data, options: options, outputDirectory: dir + "/run", jsonLog: log)
        _ = try first.run(stopAfterSteps: 3)
        #expect(try Self.loggedSteps(log) == [1, 2, 3])
        let second = try Trainer(model: try ModelLoader.load(directory: CLI.fixture("tiny-safetensors")).model, data: data, options: options,
                                 outputDirectory: dir + "/run", jsonLog: log)
        _ = try second.run(resume: true)
        #expect(try Self.loggedSteps(log) == Array(1...8))
    }
}

@Suite("cuentista jobs submit: checked when submitted")
struct SubmitChecksTests {
    @Test("a train job whose prepared blocks are longer than the model's context is refused before anything is sent")
    func blocksLongerThanContext() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("submit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let context = try GPT2Config.load(file: CLI.fixture("tiny-safetensors") + "/config.json").nPositions
        try FileManager.default.createDirectory(atPath: dir + "/models", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CLI.fixture("tiny-safetensors"), toPath: dir + "/models/tiny")
        let block = [Int32](repeating: 5, count: context + 1)
        try PreparedData.write(blocks: [block, block], masks: nil, validation: [block], validationMasks: nil,
                               to: dir + "/prepared/long", tokenizerFingerprint: "x", vocabSize: 512, maxLength: context + 1)
        // No coordinator listens there: the refusal must come first.
        let result = try CLI.run(["jobs", "submit", "train", "--data-dir", dir, "--coordinator", "tcp://127.0.0.1:9",
                                  "--model", "models/tiny", "--data", "prepared/long", "--out", "runs/a", "--timeout-ms", "500"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("longer than the context of --model models/tiny (\(context))"), "\(result.stderr)")
    }
}
