import Foundation
import GPT2
import PreparedFormat
import Testing
import TestSupport
import Training

@Suite("Trainer")
struct TrainerTests {
    /// Blocks of a learnable pattern (counting modulo 40, from random starts).
    static func makeData(_ directory: String, layout: String = "pack") throws -> PreparedData {
        func block(_ start: Int) -> [Int32] { (0..<16).map { Int32(1 + (start + $0) % 40) } }
        let train = (0..<24).map { block($0 * 7) }, validation = (0..<4).map { block($0 * 11 + 3) }
        var masks: [[UInt8]]?, validationMasks: [[UInt8]]?
        if layout == "pad" {
            masks = train.indices.map { i in (0..<16).map { $0 < 10 + i % 6 ? 1 : 0 } }
            validationMasks = validation.map { _ in [UInt8](repeating: 1, count: 12) + [0, 0, 0, 0] }
        }
        try PreparedData.write(blocks: train, masks: masks, validation: validation, validationMasks: validationMasks,
                               to: directory, tokenizerFingerprint: "test", vocabSize: 512, maxLength: 16)
        return try PreparedData(directory: directory)
    }

    static func options(epochs: Int = 2) -> TrainingOptions {
        var options = TrainingOptions()
        options.epochs = epochs
        options.batchSize = 4
        options.lr = 3e-3
        options.lrSchedule = .linear
        options.warmupSteps = 2
        options.saveTotalLimit = 0
        return options
    }

    func freshModel() throws -> GPT2 { try ModelLoader.load(directory: Fixtures.model("tiny-safetensors")).model }

    @Test("loss falls, every epoch is evaluated and checkpointed, the best is loaded at the end")
    func trains() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.makeData(dir + "/data")
        let log = dir + "/log.jsonl"
        let model = try freshModel()
        let before = try Trainer(model: model, data: data, options: Self.options(), outputDirectory: dir + "/out").validationLoss()!
        let trainer = try Trainer(model: model, data: data, options: Self.options(epochs: 3), outputDirectory: dir + "/out", jsonLog: log)
        var checkpoints: [String] = []
        let result = try trainer.run { if case let .checkpoint(path) = $0 { checkpoints.append(path) } }
        #expect(result.steps == 18)  // 24 blocks / 4 per batch = 6 steps per epoch
        #expect(result.epochs.count == 3 && result.epochs.allSatisfy { $0.validationLoss != nil })
        #expect(result.bestEvalLoss! < before * 0.8, "validation loss \(before) -> \(result.bestEvalLoss!)")
        #expect(checkpoints.map { ($0 as NSString).lastPathComponent } == ["checkpoint-6", "checkpoint-12", "checkpoint-18"])
        #expect(TrainingCheckpoint.list(in: dir + "/out").count == 3)
        // The final model is the best checkpoint's, loadable as any model directory.
        let final = try ModelLoader.load(directory: result.finalModel).model
        let best = try ModelLoader.load(directory: result.bestCheckpoint!).model
        #expect(Array(final.parameters.storage) == Array(best.parameters.storage))
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 18 + 3)
    }

    @Test("a run interrupted after k steps and resumed gives the same losses as an uninterrupted one")
    func resume() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.makeData(dir + "/data")
        let whole = try Trainer(model: try freshModel(), data: data, options: Self.options(), outputDirectory: dir + "/a").run()

        let interrupted = try Trainer(model: try freshModel(), data: data, options: Self.options(), outputDirectory: dir + "/b")
        let partial = try interrupted.run(stopAfterSteps: 9)  // crash in the middle of epoch 2
        #expect(partial.steps == 9)
        // A half-written checkpoint from the crash is ignored.
        try FileManager.default.createDirectory(atPath: dir + "/b/checkpoint-9.tmp", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/b/checkpoint-10", withIntermediateDirectories: true)
        var resumedFrom: String?
        let resumed = try Trainer(model: try freshModel(), data: data, options: Self.options(), outputDirectory: dir + "/b")
            .run(resume: true) { if case let .resumed(path, _) = $0 { resumedFrom = path } }
        #expect(resumedFrom.map { ($0 as NSString).lastPathComponent } == "checkpoint-6")
        let wholeLosses = whole.history.filter { $0.kind == "train" }.map(\.loss)
        let resumedLosses = resumed.history.filter { $0.kind == "train" }.map(\.loss)
        #expect(resumedLosses == wholeLosses)
        #expect(resumed.epochs == whole.epochs)
    }

    @Test("pad layout: padding is masked by the mask, so EOS-as-pad stays learnable; save-total-limit keeps the best")
    func padLayout() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.makeData(dir + "/data", layout: "pad")
        #expect(data.manifest.layout == "pad")
        let (tokens, targets) = data.train.block(0)  // 10 real tokens
        #expect(targets[8] == tokens[9] && targets[9] == -100 && targets[15] == -100)
        var options = Self.options(epochs: 3)
        options.saveTotalLimit = 1
        let result = try Trainer(model: try freshModel(), data: data, options: options, outputDirectory: dir + "/out").run()
        let kept = TrainingCheckpoint.list(in: dir + "/out")
        #expect(kept.contains(result.bestCheckpoint!) && kept.count <= 2)
    }

    @Test("a run moved to another directory and resumed there keeps (and never prunes) its best checkpoint")
    func resumeElsewhere() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.makeData(dir + "/data")
        var options = Self.options(epochs: 3)
        options.saveTotalLimit = 1
        _ = try Trainer(model: try freshModel(), data: data, options: options, outputDirectory: dir + "/first").run(stopAfterSteps: 13)
        // The operator moves the data volume (another --data-dir root), then the job resumes.
        try FileManager.default.moveItem(atPath: dir + "/first", toPath: dir + "/moved")
        // Resume, then stop after one step: its checkpoint is pruned against the best, which must
        // be recognised under the new root (the state saved the best before the move).
        let result = try Trainer(model: try freshModel(), data: data, options: options, outputDirectory: dir + "/moved")
            .run(resume: true, shouldStop: { true })
        #expect(result.stopped)
        #expect(result.bestCheckpoint == dir + "/moved/checkpoint-12")
        #expect(FileManager.default.fileExists(atPath: dir + "/moved/checkpoint-12"))
        #expect(TrainingCheckpoint.list(in: dir + "/moved").contains(dir + "/moved/checkpoint-12"))
    }

    @Test("a loss that is no longer a number stops the run at that step, before the update and before any checkpoint")
    func divergence() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.makeData(dir + "/data")
        let model = try freshModel()
        // A weight that is already NaN (a corrupted model, or an update that overflowed).
        model.parameters.storage[model.parameters.storage.count / 2] = .nan
        let trainer = try Trainer(model: model, data: data, options: Self.options(), outputDirectory: dir + "/out")
        do {
            _ = try trainer.run { _ in }
            Issue.record("a NaN loss trained on")
        } catch let error as TrainingError {
            guard case let .diverged(step, loss, _) = error else { Issue.record("\(error)"); return }
            #expect(step == 1 && loss.isNaN)
            #expect(error.description.contains("diverged at step 1"))
        }
        #expect(TrainingCheckpoint.list(in: dir + "/out").isEmpty)
    }

    @Test("invalid options and mismatched data are refused with the option named")
    func refuses() throws {
        var options = TrainingOptions()
        options.lr = 0
        #expect(throws: InvalidOption(name: "lr", reason: "must be a positive number up to 10, got 0.0")) { try options.validate() }
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: PreparedDataError.self) { try PreparedData(directory: dir) }
    }
}
