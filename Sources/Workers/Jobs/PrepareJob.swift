import Foundation
import Prep
import Tokenizer

/// Every option of `cuentista prepare`; the same value runs locally or as a queued job.
public struct PrepareJobSpec: Codable, Sendable, Equatable {
    public var inputs: [String] = []
    public var tokenizer = ""
    public var out = ""
    public var format = "auto"
    public var field: String?
    public var template: String?
    public var maxLength = 512
    public var layout = "pack"
    public var valFraction = 0.1
    public var seed: UInt64 = 42
    public var dedupe = false
    public var limit: Int?
    public var fraction: Double?
    public var minChars = 1
    public var maxChars: Int?
    public var blocks = false
    public var delimiter = ","
    public var shuffleWindow = 10_000

    public init() {}

    /// Every default, declared once (the properties above): the CLI's options and the wire
    /// conversion take theirs from here.
    public static let defaults = PrepareJobSpec()

    public func options() throws(JobSpecError) -> PrepareOptions {
        var options = PrepareOptions()
        guard let format = InputFormat(rawValue: format) else {
            throw JobSpecError(field: "format", "must be auto, jsonl, csv or text, got \(self.format)")
        }
        options.format = format
        options.field = field
        options.template = template?.replacingOccurrences(of: "\\n", with: "\n")
        options.maxLength = maxLength
        options.layout = layout
        options.validationFraction = valFraction
        options.seed = seed
        options.dedupe = dedupe
        options.limit = limit
        options.fraction = fraction
        options.minChars = minChars
        options.maxChars = maxChars
        options.textBlocks = blocks
        options.shuffleWindow = shuffleWindow
        guard delimiter.utf8.count == 1 else { throw JobSpecError(field: "delimiter", "must be one ASCII character") }
        options.delimiter = delimiter.utf8.first!
        do { try options.validate() } catch {
            if case let .invalidOption(name, reason) = error { throw JobSpecError(field: name, reason) }
            throw JobSpecError(field: "options", error.description)
        }
        return options
    }

    /// Checks what can be checked before the job runs: option values and that inputs exist.
    public func validate(in data: DataDirectory) throws(JobSpecError) {
        _ = try options()
        if inputs.isEmpty { throw JobSpecError(field: "input", "give at least one input file") }
        for input in inputs { _ = try data.requireExisting(input, field: "input") }
        _ = try data.requireExisting(tokenizer, field: "tokenizer")
        _ = try data.resolve(out, field: "out")
    }

    public func run(in data: DataDirectory, commandLine: [String] = [], progress: (Int, Int) -> Void = { _, _ in },
                    shouldStop: () -> Bool = { false }) throws -> PrepareCounts {
        let options = try options()
        let inputs = try self.inputs.map { input throws(JobSpecError) in try data.requireExisting(input, field: "input") }
        let tokenizerPath = try data.requireExisting(tokenizer, field: "tokenizer")
        let bpe: BPETokenizer
        do { bpe = try BPETokenizer(directory: tokenizerPath) } catch {
            throw JobSpecError(field: "tokenizer", error.description)
        }
        return try Preparer.run(inputs: inputs, tokenizer: bpe, options: options, to: try data.resolve(out, field: "out"),
                                commandLine: commandLine, progress: progress, shouldStop: shouldStop)
    }
}
