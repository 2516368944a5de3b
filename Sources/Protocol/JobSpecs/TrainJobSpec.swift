import Foundation
import RunOptions

/// Every option of `cuentista train`; the same value runs locally or as a queued job. The
/// defaults are `TrainingOptions`' (the one declaration); this adds the paths, the queue's own
/// options and the spelling the CLI and the wire use.
public struct TrainJobSpec: Codable, Sendable, Equatable {
    private static let options = TrainingOptions.defaults

    /// A model directory, or init:<shape> with a shape of `initShapes`.
    public var model = ""
    public var data = ""
    public var out = ""
    public var epochs = options.epochs
    public var maxSteps = options.maxSteps
    public var batchSize = options.batchSize
    public var gradAccum = options.gradientAccumulation
    public var lr = options.learningRate
    public var weightDecay = options.weightDecay
    public var maxGradNorm = options.maxGradNorm
    public var lrSchedule = options.schedule.rawValue
    public var warmupSteps = options.warmupSteps
    public var dropout = options.dropout
    public var evalEvery = options.evalEvery
    public var saveTotalLimit = options.saveTotalLimit
    public var saveEvery = options.saveEvery
    public var seed = options.seed
    public var noShuffle = !options.shuffle
    /// Queued jobs: switch the generator to the best model when the job succeeds.
    public var deploy = false
    public var logJson: String?

    public init() {}

    /// Every default: the CLI's options and the wire conversion take theirs from here.
    public static let defaults = TrainJobSpec()

    /// The shapes `init:<shape>` names (`GPT2Config.named`; a test keeps the two lists equal).
    public static let initShapes = ["tiny", "mini", "small", "medium"]

    /// The engine's options, with every value checked (no file is read).
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
            throw JobSpecError(field: "lr-schedule", "must be \(LearningRateSchedule.allCases.map(\.rawValue).joined(separator: ", ")), got \(lrSchedule)")
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
        do { try options.validate() } catch { throw JobSpecError(field: error.name, error.reason) }
        return options
    }

    /// The shape of `init:<shape>`, nil for a model directory.
    public func initShape() throws(JobSpecError) -> String? {
        guard model.hasPrefix("init:") else { return nil }
        let name = String(model.dropFirst(5))
        guard Self.initShapes.contains(name) else {
            throw JobSpecError(field: "model", "init:\(name): unknown shape (\(Self.initShapes.joined(separator: ", ")))")
        }
        return name
    }

    /// What the coordinator checks before queueing: every value, and that every path stays in
    /// the data directory. Whether the model and the data exist is the worker's check (`Jobs`).
    public func checkValues(in directory: DataDirectory) throws(JobSpecError) {
        _ = try options()
        if try initShape() == nil { _ = try directory.resolve(model, field: "model") }
        _ = try directory.resolve(data, field: "data")
        _ = try directory.resolve(out, field: "out")
        if let logJson { _ = try directory.resolve(logJson, field: "log-json") }
    }
}
