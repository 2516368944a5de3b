import Foundation

/// Reads a file line by line in fixed-size chunks, so memory stays bounded whatever the
/// file's size. Lines come without their "\n" (and "\r\n"); a last line without a newline
/// is still a line. A UTF-8 BOM at the start of the file is dropped.
public struct LineReader: Sequence, IteratorProtocol {
    public struct Line {
        public let number: Int
        public let bytes: [UInt8]
    }

    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var position = 0
    /// `buffer[position..<scanned]` holds no newline: a line longer than a chunk is searched
    /// once, not again from its start after every chunk (which was quadratic in its length).
    private var scanned = 0
    private var finished = false
    private var number = 0
    private let chunkSize: Int
    /// Bytes read from the file so far (for progress).
    public private(set) var bytesRead = 0

    public init(path: String, chunkSize: Int = 1 << 20) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw PrepError.io(path: path, reason: "cannot open the file")
        }
        self.handle = handle
        self.chunkSize = chunkSize
    }

    public mutating func next() -> Line? {
        while true {
            if let newline = newline(from: Swift.max(position, scanned)) {
                var end = newline
                if end > position && buffer[end - 1] == 0x0D { end -= 1 }
                let line = Array(buffer[position..<end])
                position = newline + 1
                return emit(line)
            }
            if finished {
                guard position < buffer.count else { return nil }
                var line = Array(buffer[position...])
                if line.last == 0x0D { line.removeLast() }
                position = buffer.count
                return emit(line)
            }
            // Keep the unfinished tail, read the next chunk. The tail moves once: afterwards
            // `position` is 0 until a newline turns up.
            scanned = buffer.count - position
            buffer.removeFirst(position)
            position = 0
            let data = handle.readData(ofLength: chunkSize)
            if data.isEmpty { finished = true } else { buffer.append(contentsOf: data); bytesRead += data.count }
        }
    }

    /// The index of the first newline in `buffer[start...]`; memchr, as this is every byte's loop.
    private func newline(from start: Int) -> Int? {
        buffer.withUnsafeBufferPointer { bytes in
            guard start < bytes.count, let hit = memchr(bytes.baseAddress! + start, 0x0A, bytes.count - start) else { return nil }
            return bytes.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }

    private mutating func emit(_ bytes: [UInt8]) -> Line {
        number += 1
        if number == 1 && bytes.starts(with: [0xEF, 0xBB, 0xBF]) { return Line(number: 1, bytes: Array(bytes.dropFirst(3))) }
        return Line(number: number, bytes: bytes)
    }
}

public enum PrepError: Error, CustomStringConvertible, Equatable {
    case io(path: String, reason: String)
    case invalidOption(name: String, reason: String)
    case cancelled

    public var description: String {
        switch self {
        case let .io(path, reason): return "\(path): \(reason)"
        case let .invalidOption(name, reason): return "invalid --\(name): \(reason)"
        case .cancelled: return "preparation stopped before the end"
        }
    }
}
