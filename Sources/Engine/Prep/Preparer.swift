import Checkpoint
import Foundation
import Kernels
import Tokenizer
import PreparedFormat

public struct PrepareCounts: Codable, Sendable, Equatable {
    public var rowsRead = 0
    public var kept = 0
    public var dropped = DropCounts()
    public var documents: [String: Int] = [:]
    public var tokens: [String: Int] = [:]
    public var blocks: [String: Int] = [:]
    public var medianWords: Double = 0

    enum CodingKeys: String, CodingKey {
        case rowsRead = "rows_read", kept, dropped, documents, tokens, blocks, medianWords = "median_words"
    }
}

/// Turns raw files into the token shards the trainer reads (format 1, see `PreparedData`).
public enum Preparer {
    /// `progress` gets (bytes read, total bytes of the inputs) every few megabytes; when
    /// `shouldStop` says yes (asked every 1,024 rows) the run ends with `PrepError.cancelled`.
    public static func run(inputs: [String], tokenizer: BPETokenizer, options: PrepareOptions, to directory: String,
                           commandLine: [String] = [], progress: (Int, Int) -> Void = { _, _ in },
                           shouldStop: () -> Bool = { false }) throws -> PrepareCounts {
        let total = inputs.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        var done = 0
        do { try options.validate() } catch { throw PrepError.invalidOption(name: error.name, reason: error.reason) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard let eos = tokenizer.eosTokenId else {
            throw PrepError.invalidOption(name: "tokenizer", reason: "the tokenizer has no <|endoftext|> token to join or pad documents with")
        }
        let wide = tokenizer.vocabularySize > 65536
        var writers = ["train": try ShardWriter(directory: directory, name: "train", wide: wide, masks: options.layout == "pad"),
                       "validation": try ShardWriter(directory: directory, name: "validation", wide: wide, masks: options.layout == "pad")]
        var counts = PrepareCounts()
        var seen = Set<UInt64>()
        var words: [Int] = []
        let placeholders = options.expandedTemplate.map(Self.placeholders) ?? []
        var index = 0
        var shuffle = SeededGenerator(seed: options.seed ^ 0x5348_5546)
        var window: [(split: String, ids: [Int32])] = []
        func write(_ split: String, _ ids: [Int32]) throws {
            if options.layout == "pack" {
                try writers[split]!.pack(ids + [eos], blockLength: options.maxLength)
            } else {
                try writers[split]!.pad(Array((ids + [eos]).prefix(options.maxLength)), blockLength: options.maxLength, padToken: eos)
            }
        }
        func emit(_ split: String, _ ids: [Int32]) throws {
            guard options.shuffleWindow > 0 else { return try write(split, ids) }
            window.append((split, ids))
            if window.count >= options.shuffleWindow {
                let pick = Int(shuffle.next() % UInt64(window.count))
                window.swapAt(pick, window.count - 1)
                let document = window.removeLast()
                try write(document.split, document.ids)
            }
        }
        scanning: for input in inputs {
            var reader = RecordReader(path: input, format: options.format)
            reader.textBlocks = options.blocks
            if options.format != .auto || InputFormat.detect(input) == .csv { reader.delimiter = options.delimiterByte }
            var stop = false
            var drops = counts.dropped
            defer { counts.dropped = drops }
            defer { done += (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0 }
            var cancelled = false
            try reader.forEach(drops: &drops, progress: { progress(done + $0, total) }) { record, drops in
                guard !stop else { return }
                if index % 1024 == 0 && shouldStop() {
                    (cancelled, stop) = (true, true)
                    return
                }
                counts.rowsRead += 1
                defer { index += 1 }
                let text: String
                if let template = options.expandedTemplate {
                    guard placeholders.allSatisfy({ record.fields[$0] != nil }) else { drops.add(.missingField, line: record.line); return }
                    text = placeholders.reduce(template) { $0.replacingOccurrences(of: "{\($1)}", with: record.fields[$1]!) }
                    if placeholders.allSatisfy({ record.fields[$0]!.allSatisfy(\.isWhitespace) }) { drops.add(.empty, line: record.line); return }
                } else {
                    let name = options.field ?? "text"
                    guard let value = record.fields[name] else { drops.add(.missingField, line: record.line); return }
                    text = value
                }
                if text.allSatisfy(\.isWhitespace) { drops.add(.empty, line: record.line); return }
                let characters = text.count
                if characters < options.minChars { drops.add(.tooShort, line: record.line); return }
                if let maxChars = options.maxChars, characters > maxChars { drops.add(.tooLong, line: record.line); return }
                let hash = Self.hash(text)
                if options.dedupe && !seen.insert(hash).inserted { drops.add(.duplicate, line: record.line); return }
                if let fraction = options.fraction, Self.unit(options.seed ^ 0x5EED, UInt64(index)) >= fraction { return }
                counts.kept += 1
                words.append(text.split(whereSeparator: \.isWhitespace).count)
                // The split is a function of the seed and the text: stable across runs and inputs.
                let split = Self.unit(options.seed, hash) < options.valFraction ? "validation" : "train"
                let ids = tokenizer.encode(text, allowSpecial: false)
                counts.documents[split, default: 0] += 1
                try emit(split, ids)
                if let limit = options.limit, counts.kept >= limit { stop = true }
            }
            if cancelled { throw PrepError.cancelled }
            if stop { break scanning }
        }
        while !window.isEmpty {
            let pick = Int(shuffle.next() % UInt64(window.count))
            window.swapAt(pick, window.count - 1)
            let document = window.removeLast()
            try write(document.split, document.ids)
        }
        var splits: [String: PreparedManifest.Split] = [:]
        for (name, writer) in writers {
            try writer.finish()
            counts.tokens[name] = writer.realTokens
            counts.blocks[name] = writer.blocks
            if writer.blocks > 0 {
                splits[name] = .init(file: "\(name).bin", mask: writer.hasMasks ? "\(name).mask.bin" : nil, blocks: writer.blocks, tokens: writer.realTokens)
            } else {
                writer.remove()
            }
        }
        writers = [:]
        words.sort()
        counts.medianWords = words.isEmpty ? 0 : (words.count % 2 == 1 ? Double(words[words.count / 2])
            : Double(words[words.count / 2 - 1] + words[words.count / 2]) / 2)
        guard splits["train"] != nil else {
            throw PrepError.invalidOption(name: "input", reason: "no training block could be made: \(counts.kept) documents kept of \(counts.rowsRead) rows read")
        }
        var manifest = PreparedManifest(tokenizerFingerprint: tokenizer.fingerprint, layout: options.layout, maxLength: options.maxLength,
                                        dtype: wide ? "uint32" : "uint16", vocabSize: tokenizer.vocabularySize, splits: splits)
        manifest.eosTokenId = Int(eos)
        try writeManifest(manifest, counts: counts, commandLine: commandLine, to: directory)
        return counts
    }

    static func writeManifest(_ manifest: PreparedManifest, counts: PrepareCounts, commandLine: [String], to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // The trainer's manifest plus the preparation's statistics and command line.
        var object = try JSONSerialization.jsonObject(with: try encoder.encode(manifest)) as! [String: Any]
        object["counts"] = try JSONSerialization.jsonObject(with: try encoder.encode(counts))
        object["command_line"] = commandLine
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data, to: (directory as NSString).appendingPathComponent("manifest.json"))
    }

    static func placeholders(_ template: String) -> [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return h
    }

    /// A uniform number in [0, 1) from (seed, key).
    static func unit(_ seed: UInt64, _ key: UInt64) -> Double {
        var z = seed ^ (key &* 0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) * 0x1.0p-53
    }
}

/// Appends blocks to a split's shard (and mask) files as they fill.
final class ShardWriter {
    let tokensPath: String, masksPath: String
    let wide: Bool
    let hasMasks: Bool
    private let tokensHandle: FileHandle
    private let masksHandle: FileHandle?
    private var pending: [Int32] = []
    private(set) var blocks = 0
    private(set) var realTokens = 0

    init(directory: String, name: String, wide: Bool, masks: Bool) throws {
        tokensPath = (directory as NSString).appendingPathComponent("\(name).bin")
        masksPath = (directory as NSString).appendingPathComponent("\(name).mask.bin")
        self.wide = wide
        hasMasks = masks
        FileManager.default.createFile(atPath: tokensPath, contents: nil)
        tokensHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: tokensPath))
        if masks {
            FileManager.default.createFile(atPath: masksPath, contents: nil)
            masksHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: masksPath))
        } else {
            masksHandle = nil
        }
    }

    private func write(_ ids: [Int32]) {
        var data = Data(capacity: ids.count * (wide ? 4 : 2))
        for id in ids {
            if wide { withUnsafeBytes(of: UInt32(bitPattern: id).littleEndian) { data.append(contentsOf: $0) } }
            else { withUnsafeBytes(of: UInt16(truncatingIfNeeded: id).littleEndian) { data.append(contentsOf: $0) } }
        }
        tokensHandle.write(data)
        blocks += 1
    }

    /// pack: documents joined (each already ends with EOS) and cut into full blocks; the
    /// tail that does not fill a block is dropped at the end, as in `group_texts`.
    func pack(_ ids: [Int32], blockLength: Int) throws {
        pending += ids
        while pending.count >= blockLength {
            write(Array(pending[..<blockLength]))
            realTokens += blockLength
            pending.removeFirst(blockLength)
        }
    }

    func pad(_ ids: [Int32], blockLength: Int, padToken: Int32) throws {
        write(ids + [Int32](repeating: padToken, count: blockLength - ids.count))
        masksHandle?.write(Data([UInt8](repeating: 1, count: ids.count) + [UInt8](repeating: 0, count: blockLength - ids.count)))
        realTokens += ids.count
    }

    func finish() throws {
        try tokensHandle.synchronize()
        try tokensHandle.close()
        try masksHandle?.synchronize()
        try masksHandle?.close()
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: tokensPath)
        try? FileManager.default.removeItem(atPath: masksPath)
    }
}
