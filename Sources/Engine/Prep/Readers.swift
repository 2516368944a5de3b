import Foundation

/// One input row: named fields, and where it came from.
public struct Record {
    public let line: Int
    public let fields: [String: String]
}

/// Why a row was not used; counted per reason with the first few line numbers.
public enum DropReason: String, CaseIterable, Codable, Sendable {
    case invalidUTF8 = "invalid_utf8"
    case unparsable
    case missingField = "missing_field"
    case empty
    case duplicate
    case tooShort = "too_short"
    case tooLong = "too_long"
}

public struct DropCounts: Codable, Sendable, Equatable {
    public var counts: [String: Int] = [:]
    public var firstLines: [String: [Int]] = [:]
    public static let examples = 5

    public init() {}

    public mutating func add(_ reason: DropReason, line: Int) {
        counts[reason.rawValue, default: 0] += 1
        if firstLines[reason.rawValue, default: []].count < Self.examples { firstLines[reason.rawValue, default: []].append(line) }
    }

    public subscript(reason: DropReason) -> Int { counts[reason.rawValue] ?? 0 }
    public var total: Int { counts.values.reduce(0, +) }
}

/// Streams records out of JSONL, CSV (RFC 4180) or plain text. Bad rows are counted in
/// `drops`, never fatal.
public struct RecordReader {
    public let path: String
    public let format: InputFormat
    public var delimiter: UInt8 = UInt8(ascii: ",")
    /// Plain text: one document per line, or per blank-line-separated block.
    public var textBlocks = false

    public init(path: String, format: InputFormat = .auto) {
        self.path = path
        self.format = format == .auto ? InputFormat.detect(path) : format
        if (path as NSString).pathExtension.lowercased() == "tsv" { delimiter = UInt8(ascii: "\t") }
    }

    /// Calls `body` with each record and the drop counts, so that the caller's own reasons
    /// (missing field, duplicate, ...) land in the same table.
    public func forEach(drops: inout DropCounts, progress: (Int) -> Void = { _ in },
                        _ body: (Record, inout DropCounts) throws -> Void) throws {
        var lines = try LineReader(path: path)
        var reported = 0
        func report() {
            if lines.bytesRead - reported >= 1 << 22 { reported = lines.bytesRead; progress(reported) }
        }
        switch format {
        case .jsonl, .auto:
            while let line = lines.next() {
                report()
                guard !line.bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) else { continue }
                guard let text = String(validating: line.bytes, as: UTF8.self) else { drops.add(.invalidUTF8, line: line.number); continue }
                guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                    drops.add(.unparsable, line: line.number)
                    continue
                }
                var fields: [String: String] = [:]
                for (key, value) in object {
                    switch value {
                    case let string as String: fields[key] = string
                    case is NSNull: continue
                    case let number as NSNumber: fields[key] = number.stringValue
                    default:
                        if let data = try? JSONSerialization.data(withJSONObject: value) { fields[key] = String(decoding: data, as: UTF8.self) }
                    }
                }
                try body(Record(line: line.number, fields: fields), &drops)
            }
        case .csv:
            var parser = CSVParser(delimiter: delimiter)
            var header: [String]?
            while let line = lines.next() {
                report()
                guard let rows = parser.feed(line.bytes, line: line.number) else { continue }
                for row in rows {
                    guard let cells = row.cells else { drops.add(.invalidUTF8, line: row.line); continue }
                    guard let columns = header else { header = cells; continue }
                    if cells.count != columns.count { drops.add(.unparsable, line: row.line); continue }
                    try body(Record(line: row.line, fields: Dictionary(zip(columns, cells), uniquingKeysWith: { a, _ in a })), &drops)
                }
            }
            if parser.inQuotes { drops.add(.unparsable, line: parser.recordStart) }
        case .text:
            var block: [String] = []
            var blockStart = 0
            while let line = lines.next() {
                report()
                guard let text = String(validating: line.bytes, as: UTF8.self) else { drops.add(.invalidUTF8, line: line.number); continue }
                if !textBlocks {
                    try body(Record(line: line.number, fields: ["text": text]), &drops)
                } else if text.allSatisfy(\.isWhitespace) {
                    if !block.isEmpty { try body(Record(line: blockStart, fields: ["text": block.joined(separator: "\n")]), &drops) }
                    block = []
                } else {
                    if block.isEmpty { blockStart = line.number }
                    block.append(text)
                }
            }
            if !block.isEmpty { try body(Record(line: blockStart, fields: ["text": block.joined(separator: "\n")]), &drops) }
        }
    }
}

/// RFC 4180 over lines: quoted fields may hold delimiters, doubled quotes and newlines, so a
/// record can span lines; `feed` returns the records a line completes.
struct CSVParser {
    struct Row {
        let line: Int
        let cells: [String]?  // nil: invalid UTF-8
    }

    let delimiter: UInt8
    private(set) var inQuotes = false
    private(set) var recordStart = 0
    private var cells: [[UInt8]] = []
    private var current: [UInt8] = []

    init(delimiter: UInt8) { self.delimiter = delimiter }

    mutating func feed(_ bytes: [UInt8], line: Int) -> [Row]? {
        if !inQuotes { recordStart = line; cells = []; current = [] } else { current.append(0x0A) }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == 0x22 {
                    if i + 1 < bytes.count && bytes[i + 1] == 0x22 { current.append(0x22); i += 1 } else { inQuotes = false }
                } else {
                    current.append(b)
                }
            } else if b == 0x22 && current.isEmpty {
                inQuotes = true
            } else if b == delimiter {
                cells.append(current)
                current = []
            } else {
                current.append(b)
            }
            i += 1
        }
        if inQuotes { return nil }
        cells.append(current)
        let decoded = cells.map { String(validating: $0, as: UTF8.self) }
        let row = Row(line: recordStart, cells: decoded.contains(where: { $0 == nil }) ? nil : decoded.map { $0! })
        return [row]
    }
}
