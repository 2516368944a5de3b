import Foundation
import RunOptions

/// Every option of `cuentista train`; the same value runs locally or as a queued job: the
/// paths, the queue's own options, and the engine's `TrainingOptions` as they are
/// (`spec.epochs` reads `spec.options.epochs`). Encoded flat, so each option's wire field and
/// CLI flag are its name (see `TrainingOptions`).
public struct TrainJobSpec: JobSpecification {
    /// A model directory, or init:<shape> with a shape of `initShapes`.
    public var model = ""
    public var data = ""
    public var out = ""
    /// Queued jobs: switch the generators to the best model when the job succeeds.
    public var deploy = false
    /// Also write the JSONL log here (the run folder always has log.jsonl).
    public var logJson: String?
    public var options = TrainingOptions.defaults

    public init() {}

    /// Every default: the CLI's options and the wire conversion take theirs from here.
    public static let defaults = TrainJobSpec()

    /// The shapes `init:<shape>` names (`GPT2Config.named`; a test keeps the two lists equal).
    public static let initShapes = ["tiny", "mini", "small", "medium"]

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
        _ = try checkedOptions()
        if try initShape() == nil { _ = try directory.resolve(model, field: "model") }
        _ = try directory.resolve(data, field: "data")
        _ = try directory.resolve(out, field: "out")
        if let logJson { _ = try directory.resolve(logJson, field: "log-json") }
    }

    private enum JobKeys: String, CodingKey { case model, data, out, deploy, logJson }

    public init(from decoder: any Decoder) throws {
        let job = try decoder.container(keyedBy: JobKeys.self)
        model = try job.decodeIfPresent(String.self, forKey: .model) ?? ""
        data = try job.decodeIfPresent(String.self, forKey: .data) ?? ""
        out = try job.decodeIfPresent(String.self, forKey: .out) ?? ""
        deploy = try job.decodeIfPresent(Bool.self, forKey: .deploy) ?? false
        logJson = try job.decodeIfPresent(String.self, forKey: .logJson)
        options = try TrainingOptions(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var job = encoder.container(keyedBy: JobKeys.self)
        try job.encode(model, forKey: .model)
        try job.encode(data, forKey: .data)
        try job.encode(out, forKey: .out)
        try job.encode(deploy, forKey: .deploy)
        try job.encodeIfPresent(logJson, forKey: .logJson)
        try options.encode(to: encoder)
    }
}
