import Foundation

/// Every option of a data preparation: the one declaration of each option's name, type,
/// default and valid values (see `TrainingOptions` for how the CLI and the wire derive).
public struct PrepareOptions: JobOptions {
    public var format: InputFormat = .auto
    public var field: String?
    /// e.g. "{product_title}\n{product_description}"; every named field must be present. The
    /// two characters `\n` stand for a line break (a shell cannot easily pass one).
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
    /// Text inputs: documents are separated by blank lines instead of being one per line.
    public var blocks = false
    /// CSV: the field separator, one ASCII character.
    public var delimiter = ","
    /// Seeded shuffle of the documents within a window of this many (0: input order). A
    /// window keeps memory bounded on inputs of any size.
    public var shuffleWindow = 10_000

    public init() {}

    public static let defaults = PrepareOptions()

    public func validate() throws(InvalidOption) {
        if field != nil && template != nil { throw InvalidOption(name: "template", reason: "give --field or --template, not both") }
        // 2 tokens at least; at most a context no GPT-2 configuration comes near (a pad block
        // of this many tokens is what one document costs in memory).
        try InvalidOption.check(maxLength, "max-length", 2...131_072)
        if layout != "pack" && layout != "pad" { throw InvalidOption(name: "layout", reason: "must be pack or pad, got \(layout)") }
        if !(valFraction >= 0 && valFraction < 1) { throw InvalidOption(name: "val-fraction", reason: "must be in [0, 1), got \(valFraction)") }
        if delimiter.utf8.count != 1 || !delimiter.unicodeScalars.allSatisfy(\.isASCII) { throw InvalidOption(name: "delimiter", reason: "must be one ASCII character") }
        if let fraction, !(fraction > 0 && fraction <= 1) { throw InvalidOption(name: "fraction", reason: "must be in (0, 1], got \(fraction)") }
        if let limit { try InvalidOption.check(limit, "limit", 1...TrainingOptions.maxCount) }
        try InvalidOption.check(minChars, "min-chars", 0...TrainingOptions.maxCount)
        if let maxChars { try InvalidOption.check(maxChars, "max-chars", max(1, minChars)...TrainingOptions.maxCount) }
        // The window is held in memory: 10 million documents is already gigabytes.
        try InvalidOption.check(shuffleWindow, "shuffle-window", 0...10_000_000)
        if limit != nil && fraction != nil { throw InvalidOption(name: "fraction", reason: "give --limit or --fraction, not both") }
    }
}

/// The formats `prepare` reads; `auto` goes by the file's extension.
public enum InputFormat: String, CaseIterable, Codable, Sendable {
    case auto, jsonl, csv, text

    public static func detect(_ path: String) -> InputFormat {
        switch (path as NSString).pathExtension.lowercased() {
        case "jsonl", "ndjson", "json": return .jsonl
        case "csv", "tsv": return .csv
        default: return .text
        }
    }
}

extension PrepareOptions {
    /// The template as the engine uses it: `\n` written as two characters is a line break.
    public var expandedTemplate: String? { template?.replacingOccurrences(of: "\\n", with: "\n") }

    /// The delimiter as the CSV reader takes it (`validate` has checked it is one ASCII byte).
    public var delimiterByte: UInt8 { delimiter.utf8.first ?? UInt8(ascii: ",") }
}
