import Coordinator
import Foundation
import GRDB
import JobSpecs
import Testing

@Suite("Job store")
struct JobStoreTests {
    static func folder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("jobstore-\(UUID().uuidString)").path
    }

    static func spec() -> JobSpec {
        var spec = TrainJobSpec()
        spec.model = "models/base"
        spec.data = "prepared"
        spec.out = "runs/a"
        spec.epochs = 7
        return .train(spec)
    }

    @Test("records survive reopening; the last record of a job wins; ids continue; the file is SQLite in WAL mode, synchronous FULL")
    func reopen() throws {
        let path = Self.folder() + "/jobs.db"
        do {
            let store = try JobStore(path: path)
            var first = JobRecord(id: store.newId(), spec: Self.spec())
            try store.put(first)
            first.state = .running
            first.attempts = 1
            first.worker = "trainer-1"
            first.cancelRequested = true
            try store.put(first)
            try store.put(JobRecord(id: store.newId(), spec: .prepare(PrepareJobSpec())))
        }
        let reopened = try JobStore(path: path)
        #expect(reopened.order == ["job-000001", "job-000002"])
        let first = try #require(reopened.jobs["job-000001"])
        #expect(first.state == .running && first.attempts == 1 && first.worker == "trainer-1" && first.cancelRequested)
        #expect(first.spec == Self.spec())
        #expect(reopened.newId() == "job-000003")
        // What an operator sees with sqlite3: one row per job, indexed columns.
        let queue = try DatabaseQueue(path: path)
        let (mode, rows, states) = try queue.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs"),
             try String.fetchAll(db, sql: "SELECT state FROM jobs ORDER BY seq"))
        }
        #expect(mode == "wal" && rows == 2 && states == ["running", "queued"])
    }

    @Test("the store opens its connection with synchronous = FULL (durable commits in WAL mode)")
    func synchronousFull() throws {
        let store = try JobStore(path: Self.folder() + "/jobs.db")
        // 2 = FULL; read through the store's own connection.
        #expect(store.synchronousMode == 2)
    }

    @Test("a row that cannot be decoded is an error naming the job, never dropped")
    func undecodableRow() throws {
        let path = Self.folder() + "/jobs.db"
        do {
            let store = try JobStore(path: path)
            try store.put(JobRecord(id: store.newId(), spec: Self.spec()))
            try store.put(JobRecord(id: store.newId(), spec: Self.spec()))
        }
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "UPDATE jobs SET spec = x'ffff01' WHERE id = 'job-000002'") }
        #expect {
            try JobStore(path: path)
        } throws: { error in
            "\(error)".contains("job-000002") && "\(error)".contains("cannot be read")
        }
        try queue.write { db in try db.execute(sql: "UPDATE jobs SET state = 'exploded' WHERE id = 'job-000001'") }
        #expect { try JobStore(path: path) } throws: { "\($0)".contains("job-000001") && "\($0)".contains("exploded") }
    }

    @Test("an earlier version's jobs.jsonl is imported once (a torn last line skipped and counted), then renamed")
    func importsJournal() throws {
        let folder = Self.folder()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        var first = JobRecord(id: "job-000001", spec: Self.spec(), now: 1_700_000_000_000)
        let second = JobRecord(id: "job-000002", spec: .prepare(PrepareJobSpec()), now: 1_700_000_000_500)
        var journal = Data()
        for record in [first, second] { journal += try encoder.encode(record) + Data([0x0A]) }
        first.state = .succeeded
        first.result = "runs/a/final"
        journal += try encoder.encode(first) + Data([0x0A])
        journal += Data(#"{"id":"job-000003","sta"#.utf8)  // torn by a crash
        try journal.write(to: URL(fileURLWithPath: folder + "/jobs.jsonl"))

        let store = try JobStore(path: folder + "/jobs.db")
        #expect(store.importedJobs == 2 && store.skippedLines == 1)
        #expect(store.order == ["job-000001", "job-000002"])
        #expect(store.jobs["job-000001"]?.state == .succeeded && store.jobs["job-000001"]?.result == "runs/a/final")
        #expect(store.jobs["job-000001"]?.createdUnixMilliseconds == 1_700_000_000_000)
        #expect(!FileManager.default.fileExists(atPath: folder + "/jobs.jsonl"))
        #expect(FileManager.default.fileExists(atPath: folder + "/jobs.jsonl.imported"))
        #expect(store.newId() == "job-000003")
        let reopened = try JobStore(path: folder + "/jobs.db")
        #expect(reopened.importedJobs == 0 && reopened.order == ["job-000001", "job-000002"])
    }

    @Test("an earlier version's --store path (….jsonl) imports that journal into a database beside it")
    func legacyStorePath() throws {
        let folder = Self.folder()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try (JSONEncoder().encode(JobRecord(id: "job-000009", spec: Self.spec())) + Data([0x0A]))
            .write(to: URL(fileURLWithPath: folder + "/store.jsonl"))
        let store = try JobStore(path: folder + "/store.jsonl")
        #expect(store.path == folder + "/store.db" && store.order == ["job-000009"] && store.newId() == "job-000010")
        #expect(FileManager.default.fileExists(atPath: folder + "/store.jsonl.imported"))
    }
}
