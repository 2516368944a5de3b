import Foundation
import GPT2
import PreparedFormat
import Tokenizer
import Training

/// Every option of `cuentista train`; the same value runs locally or as a queued job.
public struct TrainJobSpec: Codable, Sendable, Equatable {
    /// A model directory, or init:tiny|mini|small|medium.
    public var model = ""
    public var data = ""
    public var out = ""
    public var epochs = 3
    public var maxSteps: Int?
    public var batchSize = 8
    public var gradAccum = 1
    public var lr: Float = 2e-5
    public var weightDecay: Float = 0.01
    public var maxGradNorm: Float = 1
    public var lrSchedule = "linear"
    public var warmupSteps = 0
    public var dropout: Float?
    public var evalEvery = 0
    public var saveTotalLimit = 2
    public var saveEvery = 0
    public var seed: UInt64 = 42
    public var noShuffle = false
    /// Queued jobs: switch the generator to the best model when the job succeeds.
    public var deploy = false
    public var logJson: String?

    public init() {}

    /// Every default, declared once (the properties above): the CLI's options and the wire
    /// conversion take theirs from here.
    public static let defaults = TrainJobSpec()

    public func options() throws(JobSpecError) -> TrainingOptions {
        var options = TrainingOptions()
        options.epochs = epochs
        options.maxSteps = maxSteps
        options.batchSize = batchSize
        options.gradientAccumulation = gradAccum
        options.learningRate = lr
        options.weightDecay = weightDecay
        options.maxGradNorm = maxGradNorm
        guard let schedule = LearningRateSchedule(rawValue: lrSchedule) else {
            throw JobSpecError(field: "lr-schedule", "must be constant, linear or cosine, got \(lrSchedule)")
        }
        options.schedule = schedule
        options.warmupSteps = warmupSteps
        options.evalEvery = evalEvery
        options.saveTotalLimit = saveTotalLimit
        options.saveEvery = saveEvery
        options.seed = seed
        options.shuffle = !noShuffle
        options.dropout = dropout
        // Every step goes to the JSONL log: the loss curves are drawn from it.
        options.logEvery = 1
        do { try options.validate() } catch {
            if case let .invalidOption(name, reason) = error { throw JobSpecError(field: name, reason) }
            throw JobSpecError(field: "options", error.description)
        }
        return options
    }

    /// Checks the options and the model before the job is queued. The data may not exist yet
    /// when a queued prepare job will write it (`dataPending`).
    public func validate(in directory: DataDirectory, dataPending: Bool = false) throws(JobSpecError) {
        _ = try options()
        if model.hasPrefix("init:") {
            let name = String(model.dropFirst(5))
            guard GPT2Config.named(name) != nil else { throw JobSpecError(field: "model", "init:\(name): unknown shape (tiny, mini, small, medium)") }
        } else {
            let path = try directory.requireExisting(model, field: "model")
            guard FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("config.json")) else {
                throw JobSpecError(field: "model", "\(model) has no config.json: not a model directory")
            }
        }
        if dataPending { _ = try directory.resolve(data, field: "data") } else { _ = try directory.requireExisting(data, field: "data") }
        _ = try directory.resolve(out, field: "out")
        if let logJson { _ = try directory.resolve(logJson, field: "log-json") }
    }

    /// Loads (or initialises) the model and the data, checks that they belong together, and
    /// returns the trainer that `run` drives.
    public func makeTrainer(in directory: DataDirectory) throws -> Trainer {
        let options = try options()
        let dataPath = try directory.requireExisting(data, field: "data")
        let prepared: PreparedData
        do { prepared = try PreparedData(directory: dataPath) } catch { throw JobSpecError(field: "data", "\(error)") }
        let gpt2: GPT2
        var tokenizerFiles: [String] = []
        if model.hasPrefix("init:") {
            let name = String(model.dropFirst(5))
            guard var config = GPT2Config.named(name) else {
                throw JobSpecError(field: "model", "init:\(name): unknown shape (tiny, mini, small, medium)")
            }
            config.vocabSize = max(prepared.manifest.vocabSize, 1)
            config.nPositions = max(config.nPositions, prepared.manifest.maxLength)
            config.bosTokenId = prepared.manifest.eosTokenId
            config.eosTokenId = prepared.manifest.eosTokenId
            gpt2 = GPT2.randomlyInitialized(config: config, seed: seed)
        } else {
            let modelPath = try directory.requireExisting(model, field: "model")
            do { gpt2 = try ModelLoader.load(directory: modelPath).model } catch { throw JobSpecError(field: "model", "\(error)") }
            if let tokenizer = try? BPETokenizer(directory: modelPath) {
                guard tokenizer.fingerprint == prepared.manifest.tokenizerFingerprint else {
                    throw JobSpecError(field: "data", PreparedDataError.tokenizerMismatch(
                        path: data, data: prepared.manifest.tokenizerFingerprint, model: tokenizer.fingerprint).description)
                }
                tokenizerFiles = ["tokenizer.json", "vocab.json", "merges.txt"].map { (modelPath as NSString).appendingPathComponent($0) }
            }
        }
        do {
            return try Trainer(model: gpt2, data: prepared, options: options, outputDirectory: try directory.resolve(out, field: "out"),
                               tokenizerFiles: tokenizerFiles, jsonLog: try logJson.map { path throws(JobSpecError) in try directory.resolve(path, field: "log-json") })
        } catch let error as TrainingError {
            throw JobSpecError(field: "data", error.description)
        }
    }
}
