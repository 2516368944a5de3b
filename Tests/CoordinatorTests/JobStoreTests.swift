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

    /// A store holding `count` jobs (job-000001, ...), closed, and a connection of its own to
    /// change its rows as an operator (or a corrupted disk) would.
    static func storeWithJobs(_ count: Int) throws -> (path: String, queue: DatabaseQueue) {
        let path = folder() + "/jobs.db"
        do {
            let store = try JobStore(path: path)
            for _ in 0..<count { try store.put(JobRecord(id: store.newId(), spec: spec())) }
        }
        return (path, try DatabaseQueue(path: path))
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
        let (path, queue) = try Self.storeWithJobs(2)
        try queue.write { db in try db.execute(sql: "UPDATE jobs SET spec = x'ffff01' WHERE id = 'job-000002'") }
        #expect {
            try JobStore(path: path)
        } throws: { error in
            "\(error)".contains("job-000002") && "\(error)".contains("cannot be read")
        }
        try queue.write { db in try db.execute(sql: "UPDATE jobs SET state = 'exploded' WHERE id = 'job-000001'") }
        #expect { try JobStore(path: path) } throws: { "\($0)".contains("job-000001") && "\($0)".contains("exploded") }
    }

    @Test("--repair moves unreadable rows to quarantined_jobs, loudly, and their ids are never handed out again")
    func repairQuarantines() throws {
        let (path, queue) = try Self.storeWithJobs(2)
        // The last row is the one that cannot be read: without a stored mark its id would be next.
        try queue.write { db in try db.execute(sql: "UPDATE jobs SET spec = x'ffff01' WHERE id = 'job-000002'") }
        #expect { try JobStore(path: path) } throws: { "\($0)".contains("--repair") }
        let repaired = try JobStore(path: path, repair: true)
        #expect(repaired.order == ["job-000001"])
        #expect(repaired.quarantined.map(\.id) == ["job-000002"] && repaired.quarantined[0].reason.contains("specification"))
        #expect(repaired.newId() == "job-000003")
        let kept = try queue.read { db in try Row.fetchAll(db, sql: "SELECT id, spec, reason FROM quarantined_jobs") }
        #expect(kept.count == 1 && kept[0]["id"] == "job-000002" && kept[0]["spec"] == Data([0xFF, 0xFF, 0x01]))
        // Opening again is quiet: nothing left to repair, and the id is still taken.
        let again = try JobStore(path: path)
        #expect(again.quarantined.isEmpty && again.newId() == "job-000003")
    }

    @Test("ids come from a stored high-water mark: a row an operator deleted does not give its id back")
    func highWaterMark() throws {
        let (path, queue) = try Self.storeWithJobs(3)
        try queue.write { db in try db.execute(sql: "DELETE FROM jobs WHERE id = 'job-000003'") }
        let store = try JobStore(path: path)
        #expect(store.order == ["job-000001", "job-000002"] && store.newId() == "job-000004")
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

    /// Lines exactly as the journal of the version before the SQLite store wrote them (Swift's
    /// field names, every option of that time, none added since).
    static let oldJournal = #"""
    {"id":"job-000001","spec":{"train":{"_0":{"model":"models\/base","data":"prepared\/p","out":"runs\/ft","epochs":7,"batchSize":4,"gradAccum":2,"lr":0.001,"weightDecay":0.01,"maxGradNorm":1,"lrSchedule":"cosine","warmupSteps":5,"evalEvery":0,"saveTotalLimit":2,"saveEvery":50,"seed":3,"noShuffle":false,"deploy":true}}},"state":"queued","attempts":0,"worker":"","error":"","result":"","createdUnixMilliseconds":1700000000000,"updatedUnixMilliseconds":1700000000000,"started":false,"cancelRequested":false}
    {"id":"job-000002","spec":{"prepare":{"_0":{"inputs":["corpus\/p.jsonl"],"tokenizer":"models\/base","out":"prepared\/p","format":"auto","maxLength":256,"layout":"pad","valFraction":0.2,"seed":7,"dedupe":true,"minChars":1,"blocks":false,"delimiter":";","shuffleWindow":100}}},"state":"succeeded","attempts":1,"worker":"prep-1","error":"","result":"prepared\/p","createdUnixMilliseconds":1700000000500,"updatedUnixMilliseconds":1700000000900,"started":true,"cancelRequested":false}
    """#

    @Test("a journal written by the earlier version itself imports every job; options added since take their defaults")
    func importsOldFormat() throws {
        let folder = Self.folder()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data((Self.oldJournal + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/jobs.jsonl"))
        let store = try JobStore(path: folder + "/jobs.db")
        #expect(store.importedJobs == 2 && store.skippedLines == 0)
        guard case let .train(train)? = store.jobs["job-000001"]?.spec, case let .prepare(prepare)? = store.jobs["job-000002"]?.spec else {
            Issue.record("jobs missing: \(store.order)"); return
        }
        #expect(train.model == "models/base" && train.epochs == 7 && train.gradAccum == 2 && train.lr == 0.001 && train.lrSchedule == .cosine)
        #expect(train.saveEvery == 50 && train.deploy && train.adamBeta2 == 0.999)
        #expect(prepare.inputs == ["corpus/p.jsonl"] && prepare.maxLength == 256 && prepare.layout == "pad" && prepare.valFraction == 0.2)
        #expect(prepare.delimiter == ";" && prepare.shuffleWindow == 100 && prepare.dedupe)
        #expect(store.jobs["job-000002"]?.state == .succeeded && store.jobs["job-000002"]?.worker == "prep-1")
    }

    @Test("a journal line that cannot be read in the middle is an error naming it; nothing is imported or renamed")
    func refusesBadMiddleLine() throws {
        let folder = Self.folder()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let lines = Self.oldJournal.split(separator: "\n")
        try Data((lines[0] + "\n{\"id\":\"job-000009\",\"spec\":{}}\n" + lines[1] + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/jobs.jsonl"))
        #expect(throws: JobStoreError.self) { try JobStore(path: folder + "/jobs.db") }
        #expect(FileManager.default.fileExists(atPath: folder + "/jobs.jsonl"))
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
