import Checkpoint
import Foundation
import GPT2
import Testing
import TestSupport
import Training

@Suite("Trainer: the JSONL log")
struct LogFileTests {
    /// Runs `jsonLog`'s training; returns the error and the events seen before it.
    func failedRun(jsonLog: String, in dir: String) throws -> (error: CheckpointError?, events: [TrainerEvent]) {
        let data = try TrainerTests.makeData(dir + "/data")
        let model = try ModelLoader.load(directory: Fixtures.model("tiny-safetensors")).model
        let trainer = try Trainer(model: model, data: data, options: TrainerTests.options(), outputDirectory: dir + "/out", jsonLog: jsonLog)
        var events: [TrainerEvent] = []
        do {
            _ = try trainer.run { events.append($0) }
            return (nil, events)
        } catch let error as CheckpointError {
            return (error, events)
        }
    }

    @Test("a log in a missing folder fails the run before its first step, naming the log")
    func missingFolder() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = dir + "/missing/log.jsonl"
        let (error, events) = try failedRun(jsonLog: log, in: dir)
        #expect(error == .io(path: log, reason: "cannot open for writing: No such file or directory"))
        #expect(events.isEmpty)
        #expect(TrainingCheckpoint.list(in: dir + "/out").isEmpty)
    }

    @Test("a log line that cannot be written (a full disk) stops the run at that step, naming the log",
          .enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func fullDisk() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (error, events) = try failedRun(jsonLog: "/dev/full", in: dir)
        #expect(error == .io(path: "/dev/full", reason: "write failed: No space left on device"))
        #expect(events.isEmpty)  // the first step's line failed before its event
        #expect(TrainingCheckpoint.list(in: dir + "/out").isEmpty)
    }
}
