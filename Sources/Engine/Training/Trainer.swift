import Checkpoint
import Foundation
import GPT2
import Kernels
import PreparedFormat

public struct LogEntry: Codable, Sendable, Equatable {
    public var kind: String  // "train" or "eval"
    public var step: Int
    public var epoch: Double
    public var loss: Float
    public var learningRate: Float?
    public var gradNorm: Float?
    public var tokensPerSecond: Double?
    public var perplexity: Float?
}

public enum TrainerEvent: Sendable {
    case step(step: Int, totalSteps: Int, epoch: Int, loss: Float, tokensPerSecond: Double, etaSeconds: Double)
    case evaluation(step: Int, epoch: Int, loss: Float, perplexity: Float)
    case checkpoint(path: String)
    case resumed(from: String, step: Int)
}

public struct EpochSummary: Sendable, Codable, Equatable {
    public let epoch: Int
    public let trainingLoss: Float
    public let validationLoss: Float?
}

public struct TrainingResult: Sendable {
    public let steps: Int
    public let epochs: [EpochSummary]
    public let bestCheckpoint: String?
    public let bestEvalLoss: Float?
    public let history: [LogEntry]
    /// Where the final model (the best checkpoint's weights, or the last ones) was written.
    public let finalModel: String
    /// True when `shouldStop` ended the run early (after a checkpoint that `resume` continues).
    public let stopped: Bool
}

/// The fine-tuning loop with `transformers.Trainer`'s semantics: AdamW with weight decay off
/// biases and LayerNorms, clipping, accumulation, a warmup schedule, evaluation and a
/// checkpoint every epoch, the best checkpoint by validation loss loaded at the end.
public final class Trainer {
    public let model: GPT2
    public let data: PreparedData
    public let options: TrainingOptions
    public let outputDirectory: String
    let tokenizerFiles: [String]
    let jsonLog: String?

    public init(model: GPT2, data: PreparedData, options: TrainingOptions, outputDirectory: String,
                tokenizerFiles: [String] = [], jsonLog: String? = nil) throws(TrainingError) {
        do { try options.validate() } catch { throw .invalidOption(name: error.name, reason: error.reason) }
        guard data.manifest.vocabSize <= model.config.vocabSize else {
            throw .data("\(data.directory): token ids go up to \(data.manifest.vocabSize - 1) but the model's vocabulary has \(model.config.vocabSize)")
        }
        guard data.manifest.maxLength <= model.config.nPositions else {
            throw .data("\(data.directory): blocks of \(data.manifest.maxLength) tokens exceed the model's context (\(model.config.nPositions))")
        }
        self.model = model
        self.data = data
        self.options = options
        self.outputDirectory = outputDirectory
        self.tokenizerFiles = tokenizerFiles
        self.jsonLog = jsonLog
    }

    var microBatchesPerEpoch: Int { (data.train.blocks + options.batchSize - 1) / options.batchSize }
    var stepsPerEpoch: Int { (microBatchesPerEpoch + options.gradAccum - 1) / options.gradAccum }
    public var totalSteps: Int { options.maxSteps ?? stepsPerEpoch * options.epochs }

    /// The order of the training blocks in an epoch: a seeded shuffle, the same after a resume.
    func order(epoch: Int) -> [Int] {
        var indices = Array(0..<data.train.blocks)
        if !options.noShuffle {
            var generator = SeededGenerator(seed: options.seed &+ UInt64(epoch) &* 0x9E37_79B9)
            indices.shuffle(using: &generator)
        }
        return indices
    }

    /// Runs (or, with `resume`, continues) training. `stopAfterSteps` simulates a crash after
    /// that many optimizer steps, for tests. `shouldStop` is asked after every step: when it says
    /// yes, the run writes a checkpoint and returns with `stopped` (a worker handing its job back).
    /// `resume`: continue from the latest complete checkpoint in the output directory (a fresh
    /// start when there is none). Otherwise the directory must not hold another run (its
    /// checkpoints would sit beside this one's, its log would be continued):
    /// `overwrite` removes that run first, else `TrainingError.outputInUse`.
    public func run(resume: Bool = false, overwrite: Bool = false, stopAfterSteps: Int? = nil,
                    onEvent: (TrainerEvent) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> TrainingResult {
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        if !resume { try claimOutput(overwrite: overwrite) }
        // A log that cannot be written fails the run now, naming it, not after hours of training.
        if let jsonLog { try OutputFile.append(Data(), to: jsonLog) }
        let run = TrainingRun(trainer: self)
        var resumedStep: Int?
        if resume, let latest = TrainingCheckpoint.list(in: outputDirectory).last {
            try run.restore(from: latest)
            resumedStep = run.state.step
            onEvent(.resumed(from: latest, step: run.state.step))
        }
        try startLog(after: resumedStep)
        var stopped = false
        training: while run.state.step < totalSteps && run.state.epoch < options.epochs {
            while run.state.cursor < microBatchesPerEpoch && run.state.step < totalSteps {
                try run.step(onEvent: onEvent)
                if let stopAfterSteps, run.state.step >= stopAfterSteps { break training }
                if run.state.cursor < microBatchesPerEpoch && run.state.step < totalSteps {
                    if shouldStop() {
                        try run.saveCheckpoint(onEvent: onEvent)
                        stopped = true
                        break training
                    }
                    if options.saveEvery > 0 && run.state.step % options.saveEvery == 0 { try run.saveCheckpoint(onEvent: onEvent) }
                }
            }
            if run.state.cursor >= microBatchesPerEpoch || run.state.step >= totalSteps {
                try run.endEpoch(onEvent: onEvent)
                if run.state.step < totalSteps && run.state.epoch < options.epochs && shouldStop() {
                    stopped = true
                    break training
                }
            }
        }
        return try finish(run.state, writeFinalModel: stopAfterSteps == nil && !stopped, stopped: stopped)
    }

    /// The result of a run; with `writeFinalModel`, the Trainer's load_best_model_at_end: the
    /// best checkpoint's weights become the model, written to `final/`.
    func finish(_ state: TrainerState, writeFinalModel: Bool, stopped: Bool) throws -> TrainingResult {
        // Per epoch, from the log (so a resumed run reports the same table): a step at the very
        // end of an epoch has position epoch + 1.0 and belongs to that epoch.
        var epochLosses: [Int: [Float]] = [:]
        for entry in state.history where entry.kind == "train" {
            epochLosses[Int((entry.epoch - 1e-9).rounded(.down)), default: []].append(entry.loss)
        }
        let summaries = epochLosses.keys.sorted().map { epoch -> EpochSummary in
            let losses = epochLosses[epoch]!
            let validation = state.history.last { $0.kind == "eval" && Int($0.epoch) == epoch }?.loss
            return EpochSummary(epoch: epoch + 1, trainingLoss: losses.reduce(0, +) / Float(losses.count), validationLoss: validation)
        }
        let best = bestCheckpointPath(state)
        let finalModel = (outputDirectory as NSString).appendingPathComponent("final")
        if writeFinalModel {
            if let best {
                let loaded = try ModelLoader.load(directory: best).model
                _ = model.parameters.storage.update(fromContentsOf: loaded.parameters.storage)
            }
            try? FileManager.default.removeItem(atPath: finalModel)
            try ModelLoader.save(model, to: finalModel)
            for file in tokenizerFiles where FileManager.default.fileExists(atPath: file) {
                try FileManager.default.copyItem(atPath: file, toPath: (finalModel as NSString).appendingPathComponent((file as NSString).lastPathComponent))
            }
        }
        return TrainingResult(steps: state.step, epochs: summaries, bestCheckpoint: best,
                              bestEvalLoss: state.bestEvalLoss, history: state.history, finalModel: finalModel, stopped: stopped)
    }

    /// The best checkpoint's path under this run's output directory.
    func bestCheckpointPath(_ state: TrainerState) -> String? {
        state.bestCheckpoint.map { (outputDirectory as NSString).appendingPathComponent(($0 as NSString).lastPathComponent) }
    }

    /// Mean loss over the validation blocks' learned tokens; nil without validation data.
    func evaluate(_ state: inout TrainerState, onEvent: (TrainerEvent) -> Void) throws -> Float? {
        guard let loss = validationLoss() else { return nil }
        let entry = LogEntry(kind: "eval", step: state.step, epoch: Double(state.epoch), loss: loss, learningRate: nil,
                             gradNorm: nil, tokensPerSecond: nil, perplexity: exp(loss))
        state.history.append(entry)
        try appendLog(entry)
        onEvent(.evaluation(step: state.step, epoch: state.epoch, loss: loss, perplexity: exp(loss)))
        return loss
    }

    public func validationLoss() -> Float? {
        guard let split = data.validation, split.blocks > 0 else { return nil }
        let L = data.manifest.maxLength
        let acts = Activations(config: model.config, B: 1, T: L)
        var total = 0.0, count = 0
        for index in 0..<split.blocks {
            let (tokens, targets) = split.block(index)
            tokens.withUnsafeBufferPointer { t in
                try? model.forward(tokens: t.baseAddress!, acts: acts)
            }
            let (loss, n) = targets.withUnsafeBufferPointer { t in
                CrossEntropy.forwardBackward(logits: acts.logits, targets: t.baseAddress!, N: L, V: model.config.vocabSize)
            }
            total += Double(loss) * Double(n)
            count += n
        }
        return count > 0 ? Float(total / Double(count)) : nil
    }

    /// What another run left in the output directory: checkpoints (complete or not), the final
    /// model, the JSON log.
    func earlierRun() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outputDirectory)) ?? []
        var found = names.filter { $0.hasPrefix("checkpoint-") || $0 == "final" }.sorted()
        // A log with something in it (a device such as /dev/null is nobody's run).
        if let jsonLog, let info = try? FileManager.default.attributesOfItem(atPath: jsonLog),
           info[.type] as? FileAttributeType == .typeRegular, (info[.size] as? Int ?? 0) > 0 {
            found.append((jsonLog as NSString).lastPathComponent)
        }
        return found
    }

    func claimOutput(overwrite: Bool) throws(TrainingError) {
        let found = earlierRun()
        guard !found.isEmpty else { return }
        guard overwrite else { throw .outputInUse(directory: outputDirectory, found: found) }
        for name in found {
            let path = name == (jsonLog as NSString?)?.lastPathComponent ? jsonLog! : (outputDirectory as NSString).appendingPathComponent(name)
            do { try FileManager.default.removeItem(atPath: path) } catch {
                throw .checkpoint("--overwrite: cannot remove \(path): \(error.localizedDescription)")
            }
        }
    }

    /// The JSON log holds this run only: a fresh run starts it empty; a resumed one keeps the
    /// entries up to the step it resumed from (those after it were written by the attempt that
    /// stopped, and are about to be written again).
    func startLog(after resumedStep: Int?) throws(TrainingError) {
        guard let jsonLog, let info = try? FileManager.default.attributesOfItem(atPath: jsonLog),
              info[.type] as? FileAttributeType == .typeRegular else { return }
        var kept = Data()
        if let resumedStep, let old = FileManager.default.contents(atPath: jsonLog) {
            for line in old.split(separator: 0x0A) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                      let step = object["step"] as? Int, step <= resumedStep else { continue }
                kept.append(contentsOf: line)
                kept.append(0x0A)
            }
        }
        // Rewritten in place (not replaced): the log keeps its owner and mode.
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: jsonLog))
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: kept)
            try handle.close()
        } catch {
            throw .checkpoint("--log-json \(jsonLog): \(error.localizedDescription)")
        }
    }

    /// One line of the JSONL log; a line that cannot be written (the disk full, say) stops the run.
    func appendLog(_ entry: LogEntry) throws {
        guard let jsonLog else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // JSON has no NaN: an evaluation that is not a number stays out of the log, as before.
        guard var line = try? encoder.encode(entry) else { return }
        line.append(0x0A)
        try OutputFile.append(line, to: jsonLog)
    }

    /// Keeps at most `saveTotalLimit` checkpoints, never the best (a path under this run's
    /// output directory).
    func prune(keeping best: String?) {
        guard options.saveTotalLimit > 0 else { return }
        var checkpoints = TrainingCheckpoint.list(in: outputDirectory)
        while checkpoints.count > options.saveTotalLimit, let oldest = checkpoints.first(where: { $0 != best }) {
            try? FileManager.default.removeItem(atPath: oldest)
            checkpoints.removeAll { $0 == oldest }
        }
    }
}
