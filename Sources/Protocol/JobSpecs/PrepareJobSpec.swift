import Foundation
import RunOptions

/// Every option of `cuentista prepare`; the same value runs locally or as a queued job. The
/// defaults are `PrepareOptions`' (the one declaration); this adds the paths and the spelling
/// the CLI and the wire use.
public struct PrepareJobSpec: Codable, Sendable, Equatable {
    private static let options = PrepareOptions.defaults

    public var inputs: [String] = []
    public var tokenizer = ""
    public var out = ""
    public var format = options.format.rawValue
    public var field = options.field
    public var template = options.template
    public var maxLength = options.maxLength
    public var layout = options.layout
    public var valFraction = options.validationFraction
    public var seed = options.seed
    public var dedupe = options.dedupe
    public var limit = options.limit
    public var fraction = options.fraction
    public var minChars = options.minChars
    public var maxChars = options.maxChars
    public var blocks = options.textBlocks
    public var delimiter = String(UnicodeScalar(options.delimiter))
    public var shuffleWindow = options.shuffleWindow

    public init() {}

    /// Every default: the CLI's options and the wire conversion take theirs from here.
    public static let defaults = PrepareJobSpec()

    /// The engine's options, with every value checked (no file is read).
    public func options() throws(JobSpecError) -> PrepareOptions {
        var options = PrepareOptions()
        guard let format = InputFormat(rawValue: format) else {
            throw JobSpecError(field: "format", "must be \(InputFormat.allCases.map(\.rawValue).joined(separator: ", ")), got \(self.format)")
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
        do { try options.validate() } catch { throw JobSpecError(field: error.name, error.reason) }
        return options
    }

    /// What the coordinator checks before queueing: every value, and that every path stays in
    /// the data directory. Whether the files exist is the worker's check (`Jobs`).
    public func checkValues(in data: DataDirectory) throws(JobSpecError) {
        _ = try options()
        if inputs.isEmpty { throw JobSpecError(field: "input", "give at least one input file") }
        for input in inputs { _ = try data.resolve(input, field: "input") }
        _ = try data.resolve(tokenizer, field: "tokenizer")
        _ = try data.resolve(out, field: "out")
    }
}
