import Foundation
import Jobs

/// One job as the coordinator keeps it.
public struct JobRecord: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case queued, running, succeeded, failed, cancelled
        public var isFinished: Bool { self == .succeeded || self == .failed || self == .cancelled }
    }

    public var id: String
    public var spec: JobSpec
    public var state: State = .queued
    /// Runs started so far (a job handed back cleanly does not count).
    public var attempts = 0
    public var worker = ""
    public var error = ""
    public var result = ""
    public var createdUnixMilliseconds: UInt64
    public var updatedUnixMilliseconds: UInt64
    /// Some run got as far as starting: the next one resumes from the latest checkpoint.
    public var started = false
    public var cancelRequested = false

    public init(id: String, spec: JobSpec, now: UInt64 = JobStore.nowMilliseconds()) {
        self.id = id
        self.spec = spec
        createdUnixMilliseconds = now
        updatedUnixMilliseconds = now
    }

    public var kind: String { spec.kind }
}

public enum JobStoreError: Error, CustomStringConvertible {
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .io(path, reason): "job store \(path): \(reason)"
        }
    }
}

/// The durable job list: an append-only journal of whole job records, one JSON line each,
/// fsynced before the coordinator answers. `kill -9` at any moment loses nothing that was
/// acknowledged; a torn last line (a crash in the middle of a write) is skipped on load. The
/// journal is compacted (rewritten with one line per job, atomically) when it is opened.
public final class JobStore {
    public let path: String
    public private(set) var jobs: [String: JobRecord] = [:]
    /// Job ids in submission order.
    public private(set) var order: [String] = []
    /// Lines of the journal that could not be read when it was opened (reported in the log).
    public private(set) var skippedLines = 0
    var descriptor: Int32 = -1
    var nextNumber = 1

    public init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if let data = FileManager.default.contents(atPath: path) {
            let decoder = JSONDecoder()
            for line in data.split(separator: 0x0A) where !line.isEmpty {
                guard let record = try? decoder.decode(JobRecord.self, from: Data(line)) else {
                    skippedLines += 1
                    continue
                }
                remember(record)
            }
        }
        try compact()
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    public static func nowMilliseconds() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    func remember(_ record: JobRecord) {
        if jobs[record.id] == nil { order.append(record.id) }
        jobs[record.id] = record
        if record.id.hasPrefix("job-"), let number = Int(record.id.dropFirst(4)) { nextNumber = max(nextNumber, number + 1) }
    }

    /// A new id: job-000001, job-000002, ... never reused.
    public func newId() -> String {
        defer { nextNumber += 1 }
        return String(format: "job-%06d", nextNumber)
    }

    /// Stores `record` durably (returns after fsync); on failure the journal is cut back to its
    /// last whole line and the record is not remembered.
    public func put(_ record: JobRecord) throws {
        var record = record
        record.updatedUnixMilliseconds = Self.nowMilliseconds()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(record)
        line.append(0x0A)
        let end = lseek(descriptor, 0, SEEK_END)
        do {
            try write(line, to: descriptor)
            guard fsync(descriptor) == 0 else { throw JobStoreError.io(path: path, reason: "fsync: \(String(cString: strerror(errno)))") }
        } catch {
            // A half-written line would swallow the next record when the journal is read back.
            if end >= 0 { _ = ftruncate(descriptor, end) }
            throw error
        }
        remember(record)
    }

    /// A state change the running coordinator must see even if the disk refuses it (so that it
    /// never hands one job to two workers); returns whether it was stored durably.
    @discardableResult
    public func update(_ record: JobRecord) -> Bool {
        do {
            try put(record)
            return true
        } catch {
            var record = record
            record.updatedUnixMilliseconds = Self.nowMilliseconds()
            remember(record)
            return false
        }
    }

    func write(_ data: Data, to descriptor: Int32) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) throws in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw JobStoreError.io(path: path, reason: "write: \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
    }

    /// Rewrites the journal with the current records (temp file, fsync, rename, fsync folder).
    func compact() throws {
        let temporary = path + ".compact"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw JobStoreError.io(path: temporary, reason: String(cString: strerror(errno))) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for id in order {
            var line = try encoder.encode(jobs[id]!)
            line.append(0x0A)
            try write(line, to: fd)
        }
        guard fsync(fd) == 0, close(fd) == 0, rename(temporary, path) == 0 else {
            throw JobStoreError.io(path: path, reason: String(cString: strerror(errno)))
        }
        let folder = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        if folder >= 0 { fsync(folder); close(folder) }
        if descriptor >= 0 { close(descriptor) }
        descriptor = open(path, O_WRONLY | O_APPEND)
        guard descriptor >= 0 else { throw JobStoreError.io(path: path, reason: String(cString: strerror(errno))) }
    }
}
