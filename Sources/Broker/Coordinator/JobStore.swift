import Foundation
import GRDB
import JobSpecs
import Wire

/// One job as the coordinator keeps it. (`Codable` only to import the JSON-lines journal of
/// earlier versions; the store itself has a schema of its own, see `JobStore`.)
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
    /// Who submitted it: a CurveZMQ client key, or a connection without CurveZMQ ("" for jobs of
    /// earlier versions: an admin's only).
    public var owner = ""

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
    /// A row the store cannot turn back into a job: never skipped silently.
    case undecodable(path: String, id: String, reason: String)

    public var description: String {
        switch self {
        case let .io(path, reason): "job store \(path): \(reason)"
        case let .undecodable(path, id, reason):
            "job store \(path): job \(id) cannot be read: \(reason). Nothing was changed. Start the coordinator once with --repair to move every such row to the table quarantined_jobs (kept, never deleted; sqlite3 \(path) 'select * from quarantined_jobs') and go on with the others"
        }
    }
}

/// The durable job list, in SQLite (`sqlite3 DATA/coordinator/jobs.db` shows it): one row per
/// job, the specification as its protobuf bytes (the wire format, versioned) beside indexed
/// columns for state, kind and times. WAL with `synchronous = FULL`: `put` returns after the
/// transaction is on disk, so `kill -9` at any moment loses nothing that was acknowledged.
/// The coordinator reads its working copy from memory (`jobs`, `order`); the database is
/// read once, when the store opens. A journal of earlier versions (`jobs.jsonl` beside the
/// database) is imported on first start and renamed `jobs.jsonl.imported`; jobs already in
/// the database are not overwritten by it.
public final class JobStore {
    public let path: String
    public private(set) var jobs: [String: JobRecord] = [:]
    /// Job ids in submission order.
    public private(set) var order: [String] = []
    /// Lines of an imported journal that could not be read (a write torn by a crash).
    public private(set) var skippedLines = 0
    /// Jobs imported from an earlier version's journal on this start.
    public private(set) var importedJobs = 0
    /// Why the store could only be opened with exclusive locking (a full disk), if it was.
    public private(set) var openedExclusively: String?
    /// Rows moved to `quarantined_jobs` on this start (`repair`): each one's id and why.
    public private(set) var quarantined: [(id: String, reason: String)] = []
    let database: DatabaseQueue
    var nextNumber = 1
    /// Where each job is in `order`, and which of those positions hold unfinished jobs: the
    /// coordinator's per-message work looks at these, not at every job ever submitted.
    private var position: [String: Int] = [:]
    private var unfinishedPositions: Set<Int> = []
    /// Changes with every job stored: nothing new can be dispatched while it and the free
    /// workers stay the same.
    public private(set) var revision = 0

    /// `path` names the database; a path ending in `.jsonl` (an earlier version's `--store`)
    /// names the journal to import, and the database goes beside it with the extension `.db`.
    /// `repair`: rows that cannot be read are moved to the table `quarantined_jobs` (with the
    /// reason) instead of stopping the start.
    public init(path requested: String, repair: Bool = false) throws {
        let journal: String
        if requested.hasSuffix(".jsonl") {
            journal = requested
            path = String(requested.dropLast(".jsonl".count)) + ".db"
        } else {
            path = requested
            journal = ((requested as NSString).deletingLastPathComponent as NSString).appendingPathComponent("jobs.jsonl")
        }
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        do {
            database = try Self.open(path, exclusive: false)
        } catch let first {
            // A full disk refuses the shared-memory file (-shm) that WAL mode needs, and SQLite
            // then refuses to open at all. With exclusive locking SQLite keeps that index in the
            // process's memory, so the jobs can be read (the coordinator then runs read-only
            // until a write succeeds); an operator's sqlite3 waits meanwhile.
            guard let retried = try? Self.open(path, exclusive: true) else { throw JobStoreError.io(path: path, reason: "\(first)") }
            database = retried
            openedExclusively = "\(first)"
        }
        try load(repair: repair)
        if FileManager.default.fileExists(atPath: journal) { try importJournal(journal) }
    }

    /// The schema, one migration per version; never edit a registered one, add the next.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: jobs") { db in
            try db.create(table: "jobs") { t in
                t.autoIncrementedPrimaryKey("seq")  // submission order
                t.column("id", .text).notNull().unique()
                t.column("kind", .text).notNull().indexed()
                t.column("state", .text).notNull().indexed()
                t.column("spec", .blob).notNull()  // JobSubmit, protobuf
                t.column("attempts", .integer).notNull()
                t.column("worker", .text).notNull()
                t.column("error", .text).notNull()
                t.column("result", .text).notNull()
                t.column("created_ms", .integer).notNull().indexed()
                t.column("updated_ms", .integer).notNull()
                t.column("started", .boolean).notNull()
                t.column("cancel_requested", .boolean).notNull()
            }
        }
        // Who submitted the job (a CurveZMQ client key, or a connection without CurveZMQ); jobs
        // of earlier versions have none and are an admin's only.
        migrator.registerMigration("v2: owner") { db in
            try db.alter(table: "jobs") { t in t.add(column: "owner", .text).notNull().defaults(to: "") }
        }
        // The id high-water mark (ids are never reused, even when rows leave the table), and
        // where rows that cannot be read are moved by --repair: every column as it was, typed
        // loosely so that anything can be kept, with the reason.
        migrator.registerMigration("v3: high-water mark, quarantine") { db in
            try db.execute(sql: "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            try db.execute(sql: """
                CREATE TABLE quarantined_jobs (seq INTEGER, id, kind, state, spec, attempts, worker, error, result,
                    created_ms, updated_ms, started, cancel_requested, owner, reason TEXT NOT NULL, quarantined_ms INTEGER NOT NULL)
                """)
        }
        return migrator
    }

    private func load(repair: Bool) throws {
        let rows: [Row]
        do {
            rows = try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM jobs ORDER BY seq") }
            let mark = try database.read { db in try Int.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'next_job_number'") }
            nextNumber = max(nextNumber, mark ?? 1)
        } catch {
            throw JobStoreError.io(path: path, reason: "\(error)")
        }
        var bad: [(seq: Int64, id: String, reason: String)] = []
        for row in rows {
            do { remember(try record(from: row)) } catch let JobStoreError.undecodable(_, id, reason) where repair {
                bad.append((row["seq"] ?? -1, id, reason))
                // Its id stays taken.
                if let text = row["id"] as String?, text.hasPrefix("job-"), let number = Int(text.dropFirst(4)) { nextNumber = max(nextNumber, number + 1) }
            }
        }
        guard !bad.isEmpty else { return }
        do {
            try database.write { db in
                for (seq, _, reason) in bad {
                    try db.execute(sql: "INSERT INTO quarantined_jobs SELECT *, ?, ? FROM jobs WHERE seq = ?",
                                   arguments: [reason, Int64(clamping: Self.nowMilliseconds()), seq])
                    try db.execute(sql: "DELETE FROM jobs WHERE seq = ?", arguments: [seq])
                }
                try Self.raiseMark(to: nextNumber, in: db)
            }
        } catch {
            throw JobStoreError.io(path: path, reason: "moving \(bad.count) unreadable row(s) to quarantined_jobs: \(error)")
        }
        quarantined = bad.map { ($0.id, $0.reason) }
    }

    static func raiseMark(to next: Int, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO meta (key, value) VALUES ('next_job_number', ?)
            ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)
            """, arguments: [next])
    }

    private func record(from row: Row) throws -> JobRecord {
        let id: String
        do { id = try row.decode(String.self, forColumn: "id") } catch {
            throw JobStoreError.undecodable(path: path, id: "in row \(row["seq"] ?? "?")", reason: "\(error)")
        }
        let spec: JobSpec
        do {
            let bytes = try row.decode(Data.self, forColumn: "spec")
            guard let decoded = try JobSpec(wire: try JobSubmit(wire: [UInt8](bytes))) else {
                throw JobStoreError.undecodable(path: path, id: id, reason: "the specification names no job kind")
            }
            spec = decoded
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError.undecodable(path: path, id: id, reason: "specification: \(error)")
        }
        let stateName = (try? row.decode(String.self, forColumn: "state")) ?? "(not text)"
        guard let state = JobRecord.State(rawValue: stateName) else {
            throw JobStoreError.undecodable(path: path, id: id, reason: "unknown state '\(stateName)'")
        }
        do {
            guard let created = UInt64(exactly: try row.decode(Int64.self, forColumn: "created_ms")),
                  let updated = UInt64(exactly: try row.decode(Int64.self, forColumn: "updated_ms")) else {
                throw JobStoreError.undecodable(path: path, id: id, reason: "a negative time")
            }
            var record = JobRecord(id: id, spec: spec, now: created)
            record.state = state
            record.attempts = try row.decode(Int.self, forColumn: "attempts")
            record.worker = try row.decode(String.self, forColumn: "worker")
            record.error = try row.decode(String.self, forColumn: "error")
            record.result = try row.decode(String.self, forColumn: "result")
            record.updatedUnixMilliseconds = updated
            record.started = try row.decode(Bool.self, forColumn: "started")
            record.cancelRequested = try row.decode(Bool.self, forColumn: "cancel_requested")
            record.owner = try row.decode(String.self, forColumn: "owner")
            return record
        } catch let error as JobStoreError {
            throw error
        } catch {
            throw JobStoreError.undecodable(path: path, id: id, reason: "\(error)")
        }
    }

    /// Imports the JSON-lines journal of earlier versions in one transaction, then renames it.
    private func importJournal(_ journal: String) throws {
        guard let data = FileManager.default.contents(atPath: journal) else {
            throw JobStoreError.io(path: journal, reason: "an earlier version's journal is here but cannot be read; fix its permissions (it is imported on start)")
        }
        var latest: [String: JobRecord] = [:], seen: [String] = []
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        for (number, line) in lines.enumerated() where !line.isEmpty {
            let record: JobRecord
            do { record = try Self.journalRecord(Data(line)) } catch {
                // A torn last line is what a crash in the middle of a journal write leaves; any
                // other line that cannot be read is an error, never a job silently dropped.
                guard number == lines.count - 1 else {
                    throw JobStoreError.io(path: journal, reason: "line \(number + 1) cannot be read (\(error)); nothing was imported")
                }
                skippedLines += 1
                continue
            }
            if latest[record.id] == nil { seen.append(record.id) }
            latest[record.id] = record
        }
        let fresh = seen.filter { jobs[$0] == nil }.map { latest[$0]! }
        do {
            try database.write { db in
                for record in fresh {
                    try Self.upsert(record, in: db)
                    if record.id.hasPrefix("job-"), let number = Int(record.id.dropFirst(4)) { try Self.raiseMark(to: number + 1, in: db) }
                }
            }
        } catch {
            throw JobStoreError.io(path: path, reason: "importing \(journal): \(error)")
        }
        for record in fresh { remember(record) }
        importedJobs = fresh.count
        guard rename(journal, journal + ".imported") == 0 else {
            throw JobStoreError.io(path: journal, reason: "imported, but cannot rename it: \(String(cString: strerror(errno)))")
        }
    }

    /// One line of an earlier version's journal. Options added since then are missing from it:
    /// the specification is laid over today's defaults first, so they take their defaults.
    static func journalRecord(_ line: Data) throws -> JobRecord {
        guard var object = try JSONSerialization.jsonObject(with: line) as? [String: Any],
              let spec = object["spec"] as? [String: Any], let (kind, wrapped) = spec.first, spec.count == 1,
              let fields = (wrapped as? [String: Any])?["_0"] as? [String: Any] else {
            return try JSONDecoder().decode(JobRecord.self, from: line)
        }
        let defaults: Data = switch kind {
        case "prepare": try JSONEncoder().encode(PrepareJobSpec.defaults)
        case "train": try JSONEncoder().encode(TrainJobSpec.defaults)
        default: Data("{}".utf8)
        }
        var merged = (try JSONSerialization.jsonObject(with: defaults) as? [String: Any]) ?? [:]
        merged.merge(fields) { _, old in old }
        object["spec"] = [kind: ["_0": merged]]
        if object["owner"] == nil { object["owner"] = "" }
        return try JSONDecoder().decode(JobRecord.self, from: try JSONSerialization.data(withJSONObject: object))
    }

    static func upsert(_ record: JobRecord, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO jobs (id, kind, state, spec, attempts, worker, error, result, created_ms, updated_ms, started, cancel_requested, owner)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, state = excluded.state, spec = excluded.spec,
                attempts = excluded.attempts, worker = excluded.worker, error = excluded.error, result = excluded.result,
                updated_ms = excluded.updated_ms, started = excluded.started, cancel_requested = excluded.cancel_requested,
                owner = excluded.owner
            """, arguments: [record.id, record.kind, record.state.rawValue, Data(record.spec.wire.wire()), record.attempts,
                             record.worker, record.error, record.result, Int64(clamping: record.createdUnixMilliseconds),
                             Int64(clamping: record.updatedUnixMilliseconds), record.started, record.cancelRequested, record.owner])
    }

    static func open(_ path: String, exclusive: Bool) throws -> DatabaseQueue {
        var configuration = Configuration()
        // An operator's sqlite3 session may hold a lock for a moment: wait rather than fail.
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            if exclusive { try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE") }
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let database = try DatabaseQueue(path: path, configuration: configuration)
        try migrator.migrate(database)
        return database
    }

    /// `PRAGMA synchronous` of the store's connection (2 = FULL), for tests and `status`.
    public var synchronousMode: Int? { try? database.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } }

    public static func nowMilliseconds() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// Queued and running jobs, in submission order.
    public var unfinished: [String] { unfinishedPositions.sorted().map { order[$0] } }

    func remember(_ record: JobRecord) {
        if jobs[record.id] == nil {
            position[record.id] = order.count
            order.append(record.id)
        }
        jobs[record.id] = record
        revision &+= 1
        if record.state.isFinished { unfinishedPositions.remove(position[record.id]!) } else { unfinishedPositions.insert(position[record.id]!) }
        if record.id.hasPrefix("job-"), let number = Int(record.id.dropFirst(4)) { nextNumber = max(nextNumber, number + 1) }
    }

    /// A new id: job-000001, job-000002, ... never reused.
    public func newId() -> String {
        defer { nextNumber += 1 }
        return String(format: "job-%06d", nextNumber)
    }

    /// Stores `record` durably (returns after the transaction is on disk); on failure nothing
    /// changes, in the database or in memory.
    public func put(_ record: JobRecord) throws {
        var record = record
        record.updatedUnixMilliseconds = Self.nowMilliseconds()
        let known = jobs[record.id]
        do {
            try database.write { db in
                if let known, known.spec == record.spec {
                    // A state change: the specification (up to a megabyte) is not written again.
                    try Self.updateState(record, in: db)
                } else {
                    try Self.upsert(record, in: db)
                    if record.id.hasPrefix("job-"), let number = Int(record.id.dropFirst(4)) { try Self.raiseMark(to: number + 1, in: db) }
                }
            }
        } catch {
            throw JobStoreError.io(path: path, reason: "\(error)")
        }
        remember(record)
    }

    static func updateState(_ record: JobRecord, in db: Database) throws {
        try db.execute(sql: """
            UPDATE jobs SET state = ?, attempts = ?, worker = ?, error = ?, result = ?, updated_ms = ?, started = ?,
                cancel_requested = ?, owner = ? WHERE id = ?
            """, arguments: [record.state.rawValue, record.attempts, record.worker, record.error, record.result,
                             Int64(clamping: record.updatedUnixMilliseconds), record.started, record.cancelRequested, record.owner, record.id])
    }

    /// Whether the store takes a write now (a full disk refuses it): one small durable write.
    public func probeWritable() -> Bool {
        (try? database.write { db in
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('write_probe', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [Int64(clamping: Self.nowMilliseconds())])
        }) != nil
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
}
