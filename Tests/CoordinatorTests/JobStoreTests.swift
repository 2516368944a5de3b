import Coordinator
import Foundation
import Jobs
import Testing

@Suite("Job store")
struct JobStoreTests {
    static func path() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("jobstore-\(UUID().uuidString)/jobs.jsonl").path
    }

    static func spec() -> JobSpec {
        var spec = TrainJobSpec()
        spec.model = "models/base"
        spec.data = "prepared"
        spec.out = "runs/a"
        return .train(spec)
    }

    @Test("records survive reopening; the last record of a job wins; ids continue")
    func reopen() throws {
        let path = Self.path()
        do {
            let store = try JobStore(path: path)
            var first = JobRecord(id: store.newId(), spec: Self.spec())
            try store.put(first)
            first.state = .running
            first.attempts = 1
            try store.put(first)
            try store.put(JobRecord(id: store.newId(), spec: .prepare(PrepareJobSpec())))
        }
        let reopened = try JobStore(path: path)
        #expect(reopened.order == ["job-000001", "job-000002"])
        #expect(reopened.jobs["job-000001"]?.state == .running)
        #expect(reopened.jobs["job-000001"]?.attempts == 1)
        #expect(reopened.jobs["job-000001"]?.spec == Self.spec())
        #expect(reopened.newId() == "job-000003")
        // Compaction left one line per job.
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
    }

    @Test("a torn last line (a crash in the middle of a write) is skipped and counted; the rest loads")
    func tornLine() throws {
        let path = Self.path()
        do {
            let store = try JobStore(path: path)
            try store.put(JobRecord(id: store.newId(), spec: Self.spec()))
        }
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"id\":\"job-000002\",\"sta".utf8))
        try handle.close()
        let reopened = try JobStore(path: path)
        #expect(reopened.skippedLines == 1)
        #expect(reopened.order == ["job-000001"])
        try reopened.put(JobRecord(id: reopened.newId(), spec: Self.spec()))
        #expect(try JobStore(path: path).order == ["job-000001", "job-000002"])
    }
}
