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
    /// `shouldStop` says yes the run ends with `PrepError.cancelled` and leaves no shards
    /// behind (the manifest is only written at the end). It is asked every 1,024 rows or
    /// megabyte of text, and within a long document every megabyte encoded and every block
    /// packed, so a single huge document stops promptly too.
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
                // The EOS apart rather than `ids + [eos]`: no copy of a long document.
                try writers[split]!.pack(ids, blockLength: options.maxLength, shouldStop: shouldStop)
                try writers[split]!.pack([eos], blockLength: options.maxLength, shouldStop: shouldStop)
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
        // Text bytes since `shouldStop` was last asked between documents.
        var unasked = 0
        do {
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
                    if index % 1024 == 0 || unasked >= 1 << 20 {
                        unasked = 0
                        if shouldStop() {
                            (cancelled, stop) = (true, true)
                            return
                        }
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
                    unasked += text.utf8.count
                    if text.allSatisfy(\.isWhitespace) { drops.add(.empty, line: record.line); return }
                    let characters = text.count
                    if characters < options.minChars { drops.add(.tooShort, line: record.line); return }
                    if let maxChars = options.maxChars, characters > maxChars { drops.add(.tooLong, line: record.line); return }
                    let hash = Self.hash(text)
                    if options.dedupe && !seen.insert(hash).inserted { drops.add(.duplicate, line: record.line); return }
                    if let fraction = options.fraction, Self.unit(options.seed ^ 0x5EED, UInt64(index)) >= fraction { return }
                    counts.kept += 1
                    words.append(Self.wordCount(text))
                    // The split is a function of the seed and the text: stable across runs and inputs.
                    let split = Self.unit(options.seed, hash) < options.valFraction ? "validation" : "train"
                    guard let ids = tokenizer.encode(text, allowSpecial: false, shouldStop: shouldStop) else { throw PrepError.cancelled }
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
        } catch PrepError.cancelled {
            // Partial shards would only mislead: a stopped run leaves nothing behind.
            for writer in writers.values { writer.remove() }
            throw PrepError.cancelled
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

    /// `text.split(whereSeparator: \.isWhitespace).count`, without making the substrings and
    /// the Characters that took most of a long document's time (16 MiB: 5 s). A Character is
    /// whitespace when its first scalar is (`Character.isWhitespace`). Two ASCII scalars other
    /// than CR LF are always two Characters, so ASCII stretches are walked byte by byte; any
    /// other Character is found and classified by the standard library.
    static func wordCount(_ text: String) -> Int {
        var text = text
        text.makeContiguousUTF8()
        let string = text
        return text.withUTF8 { bytes in
            var count = 0
            var inWord = false
            var i = 0
            while i < bytes.count {
                let byte = bytes[i]
                let space: Bool
                if byte < 0x80 && (i + 1 == bytes.count || (bytes[i + 1] < 0x80 && (byte != 0x0D || bytes[i + 1] != 0x0A))) {
                    space = byte == 0x20 || (0x09...0x0D).contains(byte)
                    i += 1
                } else {
                    let start = string.utf8.index(string.utf8.startIndex, offsetBy: i)
                    space = string.unicodeScalars[start].properties.isWhitespace
                    i = string.utf8.distance(from: string.utf8.startIndex, to: string.index(after: start))
                }
                if !space && !inWord { count += 1 }
                inWord = !space
            }
            return count
        }
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
