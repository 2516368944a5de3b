import Checkpoint
import Foundation

/// Token data prepared for training (written by `cuentista prepare`), format version 1:
///
///     manifest.json            this description
///     train.bin, validation.bin  blocks of `max_length` token ids, little-endian uint16 or uint32
///     train.mask.bin, ...      `pad` layout only: one byte per token, 1 = real, 0 = padding
///
/// `pack` joins documents with EOS and cuts blocks with no padding; `pad` truncates or pads
/// each document to one block. Padding is masked by the mask, never by token id, so EOS stays
/// a learned target even when it doubles as the pad token.
public struct PreparedManifest: Codable, Sendable, Equatable {
    public struct Split: Codable, Sendable, Equatable {
        public var file: String
        public var mask: String?
        public var blocks: Int
        public var tokens: Int
        public init(file: String, mask: String? = nil, blocks: Int, tokens: Int) {
            self.file = file
            self.mask = mask
            self.blocks = blocks
            self.tokens = tokens
        }
    }

    public var format = "cuentista-prepared"
    public var formatVersion = 1
    public var tokenizerFingerprint: String
    public var layout: String
    public var maxLength: Int
    public var dtype: String
    public var vocabSize: Int
    /// The end-of-text token documents were joined with, if the tokenizer has one.
    public var eosTokenId: Int?
    public var splits: [String: Split]

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", tokenizerFingerprint = "tokenizer_fingerprint", layout
        case maxLength = "max_length", dtype, vocabSize = "vocab_size", eosTokenId = "eos_token_id", splits
    }

    public init(tokenizerFingerprint: String, layout: String, maxLength: Int, dtype: String, vocabSize: Int, splits: [String: Split]) {
        self.tokenizerFingerprint = tokenizerFingerprint
        self.layout = layout
        self.maxLength = maxLength
        self.dtype = dtype
        self.vocabSize = vocabSize
        self.splits = splits
    }
}

public enum PreparedDataError: Error, CustomStringConvertible, Equatable {
    case invalid(path: String, reason: String)
    case tokenizerMismatch(path: String, data: String, model: String)

    public var description: String {
        switch self {
        case let .invalid(path, reason): return "\(path): \(reason)"
        case let .tokenizerMismatch(path, data, model):
            return "\(path): the data was prepared with another tokenizer (fingerprint \(data.prefix(12))…, the model's is \(model.prefix(12))…); prepare it again with the model's tokenizer"
        }
    }
}

/// One split of prepared data, memory-mapped.
public struct PreparedSplit: @unchecked Sendable {
    public let blocks: Int
    public let length: Int
    let tokens: MappedFile
    let mask: MappedFile?
    let wide: Bool

    /// Tokens and learned targets of block `index` (targets: next token, -100 where padding).
    public func block(_ index: Int) -> (tokens: [Int32], targets: [Int32]) {
        var ids = [Int32](repeating: 0, count: length)
        let base = index * length
        for t in 0..<length {
            ids[t] = wide ? Int32(bitPattern: tokens.bytes.loadUnaligned(fromByteOffset: 4 * (base + t), as: UInt32.self))
                : Int32(tokens.bytes.loadUnaligned(fromByteOffset: 2 * (base + t), as: UInt16.self))
        }
        var targets = [Int32](repeating: -100, count: length)
        for t in 0..<(length - 1) {
            let real = mask.map { $0.bytes[base + t + 1] != 0 && $0.bytes[base + t] != 0 } ?? true
            if real { targets[t] = ids[t + 1] }
        }
        return (ids, targets)
    }
}

public struct PreparedData: Sendable {
    public let directory: String
    public let manifest: PreparedManifest
    public let train: PreparedSplit
    public let validation: PreparedSplit?

    public init(directory: String) throws(PreparedDataError) {
        self.directory = directory
        let path = (directory as NSString).appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalid(path: path, reason: "missing (prepare data with `cuentista prepare`)")
        }
        let manifest: PreparedManifest
        do { manifest = try JSONDecoder().decode(PreparedManifest.self, from: data) } catch {
            throw .invalid(path: path, reason: "not a prepared-data manifest (\(error))")
        }
        guard manifest.format == "cuentista-prepared", manifest.formatVersion == 1 else {
            throw .invalid(path: path, reason: "unsupported format \(manifest.format) version \(manifest.formatVersion)")
        }
        guard manifest.dtype == "uint16" || manifest.dtype == "uint32", manifest.maxLength > 1 else {
            throw .invalid(path: path, reason: "dtype must be uint16 or uint32 and max_length > 1")
        }
        self.manifest = manifest
        func open(_ name: String) throws(PreparedDataError) -> PreparedSplit? {
            guard let split = manifest.splits[name] else { return nil }
            let wide = manifest.dtype == "uint32"
            let file = (directory as NSString).appendingPathComponent(split.file)
            let tokens: MappedFile
            do { tokens = try MappedFile(path: file) } catch { throw .invalid(path: file, reason: error.description) }
            guard tokens.bytes.count == split.blocks * manifest.maxLength * (wide ? 4 : 2) else {
                throw .invalid(path: file, reason: "holds \(tokens.bytes.count) bytes, the manifest promises \(split.blocks) blocks of \(manifest.maxLength)")
            }
            var mask: MappedFile?
            if let maskName = split.mask {
                let maskPath = (directory as NSString).appendingPathComponent(maskName)
                do { mask = try MappedFile(path: maskPath) } catch { throw .invalid(path: maskPath, reason: error.description) }
                guard mask!.bytes.count == split.blocks * manifest.maxLength else {
                    throw .invalid(path: maskPath, reason: "size does not match \(split.blocks) blocks")
                }
            }
            return PreparedSplit(blocks: split.blocks, length: manifest.maxLength, tokens: tokens, mask: mask, wide: wide)
        }
        guard let train = try open("train"), train.blocks > 0 else { throw .invalid(path: path, reason: "no training blocks") }
        self.train = train
        validation = try open("validation")
    }

    /// Writes a prepared dataset (used by `cuentista prepare` and tests).
    public static func write(
        blocks: [[Int32]], masks: [[UInt8]]?, validation: [[Int32]], validationMasks: [[UInt8]]?,
        to directory: String, tokenizerFingerprint: String, vocabSize: Int, maxLength: Int, eosTokenId: Int? = nil
    ) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let wide = vocabSize > 65536
        func encode(_ rows: [[Int32]]) -> Data {
            var data = Data(capacity: rows.count * maxLength * (wide ? 4 : 2))
            for row in rows {
                precondition(row.count == maxLength)
                for id in row {
                    if wide { withUnsafeBytes(of: UInt32(bitPattern: id).littleEndian) { data.append(contentsOf: $0) } }
                    else { withUnsafeBytes(of: UInt16(truncatingIfNeeded: id).littleEndian) { data.append(contentsOf: $0) } }
                }
            }
            return data
        }
        var splits: [String: PreparedManifest.Split] = [:]
        for (name, rows, rowMasks) in [("train", blocks, masks), ("validation", validation, validationMasks)] where !rows.isEmpty {
            try AtomicFile.write(encode(rows), to: (directory as NSString).appendingPathComponent("\(name).bin"))
            var maskFile: String?
            if let rowMasks {
                maskFile = "\(name).mask.bin"
                try AtomicFile.write(Data(rowMasks.flatMap { $0 }), to: (directory as NSString).appendingPathComponent(maskFile!))
            }
            let realTokens = rowMasks.map { $0.reduce(0) { $0 + $1.filter { $0 != 0 }.count } } ?? rows.count * maxLength
            splits[name] = .init(file: "\(name).bin", mask: maskFile, blocks: rows.count, tokens: realTokens)
        }
        var manifest = PreparedManifest(tokenizerFingerprint: tokenizerFingerprint, layout: masks == nil ? "pack" : "pad",
                                        maxLength: maxLength, dtype: wide ? "uint32" : "uint16", vocabSize: vocabSize, splits: splits)
        manifest.eosTokenId = eosTokenId
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(manifest), to: (directory as NSString).appendingPathComponent("manifest.json"))
    }
}
