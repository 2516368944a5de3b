import Foundation
import RunOptions

/// Every option of `cuentista prepare`; the same value runs locally or as a queued job: the
/// paths, and the engine's `PrepareOptions` as they are (`spec.maxLength` reads
/// `spec.options.maxLength`). Encoded flat, so each option's wire field and CLI flag are its
/// name (see `TrainingOptions`).
public struct PrepareJobSpec: JobSpecification {
    public var inputs: [String] = []
    public var tokenizer = ""
    public var out = ""
    public var options = PrepareOptions.defaults

    public init() {}

    /// Every default: the CLI's options and the wire conversion take theirs from here.
    public static let defaults = PrepareJobSpec()

    /// What the coordinator checks before queueing: every value, and that every path stays in
    /// the data directory. Whether the files exist is the worker's check (`Jobs`).
    public func checkValues(in data: DataDirectory) throws(JobSpecError) {
        _ = try checkedOptions()
        if inputs.isEmpty { throw JobSpecError(field: "input", "give at least one input file") }
        for input in inputs { _ = try data.resolve(input, field: "input") }
        _ = try data.resolve(tokenizer, field: "tokenizer")
        _ = try data.resolve(out, field: "out")
    }

    private enum PathKeys: String, CodingKey { case inputs, tokenizer, out }

    public init(from decoder: any Decoder) throws {
        let paths = try decoder.container(keyedBy: PathKeys.self)
        inputs = try paths.decodeIfPresent([String].self, forKey: .inputs) ?? []
        tokenizer = try paths.decodeIfPresent(String.self, forKey: .tokenizer) ?? ""
        out = try paths.decodeIfPresent(String.self, forKey: .out) ?? ""
        options = try PrepareOptions(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var paths = encoder.container(keyedBy: PathKeys.self)
        try paths.encode(inputs, forKey: .inputs)
        try paths.encode(tokenizer, forKey: .tokenizer)
        try paths.encode(out, forKey: .out)
        try options.encode(to: encoder)
    }
}
