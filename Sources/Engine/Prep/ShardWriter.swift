import Checkpoint
import Foundation

/// Appends blocks to a split's shard (and mask) files as they fill.
///
/// Linear in the tokens written, however long a document: `pack` cuts blocks straight out of
/// the ids it is given and keeps only the start of the next block (fewer than `blockLength`
/// tokens) for the next call. It used to append every document to one pending array and
/// `removeFirst` each block from its front, which moved the rest of a long document once per
/// block: quadratic (16 MiB of text in 32-token blocks took minutes).
final class ShardWriter {
    let tokensPath: String, masksPath: String
    let wide: Bool
    let hasMasks: Bool
    private let tokensHandle: FileHandle
    private let masksHandle: FileHandle?
    /// The start of the next block (pack): fewer than `blockLength` tokens.
    private var carry: [Int32] = []
    /// Bytes not yet written: one write per megabyte rather than one `Data` and one write per
    /// block, which dominated short blocks.
    private var tokenBytes: [UInt8] = []
    private var maskBytes: [UInt8] = []
    private(set) var blocks = 0
    private(set) var realTokens = 0
    static let flushBytes = 1 << 20

    init(directory: String, name: String, wide: Bool, masks: Bool) throws {
        tokensPath = (directory as NSString).appendingPathComponent("\(name).bin")
        masksPath = (directory as NSString).appendingPathComponent("\(name).mask.bin")
        self.wide = wide
        hasMasks = masks
        tokensHandle = try OutputFile.open(tokensPath)
        masksHandle = masks ? try OutputFile.open(masksPath) : nil
    }

    /// pack: documents joined (the caller follows each with EOS) and cut into full blocks; the
    /// tail that does not fill a block is dropped at the end, as in `group_texts`. `shouldStop`
    /// is asked before each block, so that a long document can be cancelled halfway
    /// (`PrepError.cancelled`).
    func pack(_ ids: [Int32], blockLength: Int, shouldStop: () -> Bool) throws {
        try ids.withUnsafeBufferPointer { ids in
            var start = 0
            if !carry.isEmpty {
                start = min(blockLength - carry.count, ids.count)
                carry.append(contentsOf: ids[..<start])
                guard carry.count == blockLength else { return }
                try carry.withUnsafeBufferPointer { try block($0, shouldStop) }
                carry.removeAll(keepingCapacity: true)
            }
            while ids.count - start >= blockLength {
                try block(UnsafeBufferPointer(rebasing: ids[start..<start + blockLength]), shouldStop)
                start += blockLength
            }
            carry.append(contentsOf: ids[start...])
        }
    }

    private func block(_ tokens: UnsafeBufferPointer<Int32>, _ shouldStop: () -> Bool) throws {
        if shouldStop() { throw PrepError.cancelled }
        try append(tokens)
        realTokens += tokens.count
    }

    func pad(_ ids: [Int32], blockLength: Int, padToken: Int32) throws {
        let block = ids + [Int32](repeating: padToken, count: blockLength - ids.count)
        try block.withUnsafeBufferPointer { try append($0) }
        maskBytes.append(contentsOf: repeatElement(1, count: ids.count))
        maskBytes.append(contentsOf: repeatElement(0, count: blockLength - ids.count))
        realTokens += ids.count
    }

    /// One block, little-endian uint16 or uint32 per token.
    private func append(_ tokens: UnsafeBufferPointer<Int32>) throws {
        let width = wide ? 4 : 2
        let start = tokenBytes.count
        tokenBytes.append(contentsOf: repeatElement(0, count: tokens.count * width))
        tokenBytes.withUnsafeMutableBytes { bytes in
            // Raw stores: a per-token `Data.append` was the writer's hot loop.
            let out = bytes.baseAddress! + start
            if wide {
                for (k, id) in tokens.enumerated() { out.storeBytes(of: UInt32(bitPattern: id).littleEndian, toByteOffset: 4 * k, as: UInt32.self) }
            } else {
                for (k, id) in tokens.enumerated() { out.storeBytes(of: UInt16(truncatingIfNeeded: id).littleEndian, toByteOffset: 2 * k, as: UInt16.self) }
            }
        }
        blocks += 1
        if tokenBytes.count >= Self.flushBytes { try flush() }
    }

    private func flush() throws {
        // Through OutputFile: a full disk is reported with the shard's path.
        try OutputFile.write(tokenBytes, to: tokensHandle, path: tokensPath)
        tokenBytes.removeAll(keepingCapacity: true)
        if let masksHandle {
            try OutputFile.write(maskBytes, to: masksHandle, path: masksPath)
            maskBytes.removeAll(keepingCapacity: true)
        }
    }

    func finish() throws {
        try flush()
        try OutputFile.finish(tokensHandle, path: tokensPath)
        if let masksHandle { try OutputFile.finish(masksHandle, path: masksPath) }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: tokensPath)
        try? FileManager.default.removeItem(atPath: masksPath)
    }
}
