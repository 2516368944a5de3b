import Foundation
import JobSpecs
import Messaging
import Services
import Testing
import Wire

/// A coordinator whose disk fills: it starts all the same, read-only, says so, refuses what it
/// cannot store without losing anything, and goes back to normal when space returns. The disk
/// is a real file system of 4 MB (tmpfs), which needs the right to mount (CI runs as root).
@Suite("Services: a full disk", .serialized, .enabled(if: FullDisk.canMount, "needs permission to mount a tmpfs"))
struct FullDiskTests {
    @Test("with the disk full the coordinator starts read-only, lists its jobs, refuses submissions clearly, and recovers when space returns")
    func startsReadOnly() throws {
        let disk = try FullDisk()
        defer { disk.unmount() }
        let store = disk.path + "/jobs.db"
        let system = try LiveSystem(coordinatorArguments: ["--store", store])
        try system.startCoordinator()
        try system.waitUntilAnswering()
        func submit(_ out: String) throws -> JobReply {
            var spec = JobFlowTests.prepareSpec()
            spec.out = out
            let request = JobRequest(version: .v1, request: .submit(JobSubmit(version: .v1, spec: .prepare(spec.wire))))
            return try JobReply(wire: try system.client().client.request(service: InternalService.jobs, body: request.wire()))
        }
        for out in ["prepared/a", "prepared/b"] {
            guard case .status = try submit(out).reply else { Issue.record("not stored"); return }
        }
        #expect(system.stop("coordinator") == 0)
        disk.fill()
        try system.startCoordinator()
        try system.waitUntilAnswering()
        #expect(system.isRunning("coordinator"))
        #expect(system.log("coordinator").contains("running read-only"))
        guard case let .list(list) = try system.client().jobs(JobRequest(version: .v1, request: .list(true))).reply else { Issue.record("no list"); return }
        #expect(list.jobs.map(\.jobId) == ["job-000001", "job-000002"])
        guard case let .error(refused) = try submit("prepared/c").reply else { Issue.record("a submission was accepted on a full disk"); return }
        #expect(refused.code == .overloaded && refused.message.contains("cannot be written"))
        disk.emptyFiller()
        let deadline = Date().addingTimeInterval(15)
        var accepted = false
        while !accepted && Date() < deadline {
            if case .status = try submit("prepared/c").reply { accepted = true } else { Thread.sleep(forTimeInterval: 0.5) }
        }
        #expect(accepted, "\(system.log("coordinator").suffix(1500))")
        #expect(system.log("coordinator").contains("can be written again"))
        #expect(system.stop("coordinator") == 0)
        // Nothing left behind but the store itself.
        let left = try FileManager.default.contentsOfDirectory(atPath: disk.path).filter { !$0.hasPrefix("jobs.db") && $0 != "filler" }
        #expect(left.isEmpty, "\(left)")
    }
}

/// A 4 MB tmpfs, mounted for one test.
struct FullDisk {
    let path: String

    static let canMount: Bool = {
        guard let disk = try? FullDisk() else { return false }
        disk.unmount()
        return true
    }()

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("cuentista-disk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Self.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", path]) else {
            try? FileManager.default.removeItem(atPath: path)
            throw CocoaError(.fileWriteNoPermission)
        }
    }

    /// Writes a file until the file system refuses more.
    func fill() {
        let fd = open(path + "/filler", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x55, count: 4096)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    func emptyFiller() { _ = truncate(path + "/filler", 0) }

    func unmount() {
        _ = Self.run(["umount", "-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }

    static func run(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
