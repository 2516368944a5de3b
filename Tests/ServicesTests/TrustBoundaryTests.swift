import Foundation
#if canImport(Glibc)
import Glibc
#endif
import JobSpecs
import Jobs
import Messaging
import Services
import Testing
import Wire

/// Issue 15 as an attacker would try it, without CurveZMQ: raw DEALER sockets, hand-framed
/// Majordomo, the messages of Protos/ only.
@Suite("Trust boundaries: clients are not workers, work has owners", .serialized)
struct TrustBoundaryTests {
    static func frames(_ socket: ZMQSocket, timeout: Int = 1500) throws -> [[UInt8]]? {
        try poll([socket], timeoutMilliseconds: timeout)[0] ? try socket.receive() : nil
    }

    @Test("a client that sends worker READY on the client endpoint gets no work: a real generator answers the request, the fake never sees it")
    func clientPosingAsWorker() throws {
        let system = try GeneratorServiceTests.system()
        let fake = try ZMQSocket(system.context, .dealer)
        try fake.connect(system.endpoint)
        let hello = WorkerHello(version: .v1, service: "generate", workerId: "fake", host: "attacker", capacity: 1000).wire()
        try fake.send([[], Majordomo.workerHeader, [Majordomo.WorkerCommand.ready.rawValue], Array("generate".utf8), hello])
        Thread.sleep(forTimeInterval: 0.3)
        let workers = try system.client().status().services.first { $0.service == "generate" }?.workers.map(\.workerId) ?? []
        #expect(workers == ["generator"])
        for i in 0..<5 {
            let result = try system.generate(GenerateRequest(version: .v1, requestId: "r\(i)", prompt: .text("Había"),
                                                             parameters: GeneratorServiceTests.parameters { $0.maxNewTokens = 2 }))
            guard case .final = result.final.event else { Issue.record("\(result.final)"); return }
        }
        #expect(try Self.frames(fake, timeout: 300) == nil, "the fake worker received something")
        #expect(system.log("coordinator").contains("refused a worker command on the client endpoint"))
    }

    @Test("a worker of another kind, or one that does not hold the job, cannot finish or adopt it; a stranger cannot see or cancel it")
    func jobsHaveOwnersAndHolders() throws {
        let system = try LiveSystem()
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.addCorpus()
        try system.startCoordinator()
        try system.waitUntilAnswering()
        // An ordinary client submits (no prep worker yet: the job waits).
        let owner = try ServiceClient(context: system.context, endpoint: system.endpoint)
        guard case let .status(queued) = try owner.jobs(JobRequest(version: .v1, request: .submit(JobSubmit(version: .v1, spec: .prepare(JobFlowTests.prepareSpec().wire))))).reply else {
            Issue.record("not queued"); return
        }
        // A tokenizer worker (the worker endpoint, another kind) reports the job done, then claims it in READY.
        let rogue = try ZMQSocket(system.context, .dealer)
        try rogue.connect(system.workerEndpoint)
        let hello = WorkerHello(version: .v1, service: "tokenize", workerId: "rogue", capacity: 1, currentJob: queued.jobId).wire()
        try rogue.send([[], Majordomo.workerHeader, [Majordomo.WorkerCommand.ready.rawValue], Array("tokenize".utf8), hello])
        let forged = JobReply(reply: .status(JobStatus(jobId: queued.jobId, state: .succeeded, result: "../../etc"))).wire()
        try rogue.send([[], Majordomo.workerHeader, [Majordomo.WorkerCommand.final.rawValue], [0] + Array("job:\(queued.jobId)".utf8), [], forged])
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try system.jobStatus(queued.jobId).state == .queued)
        // A stranger (another connection) neither sees nor cancels it.
        let stranger = try ServiceClient(context: system.context, endpoint: system.endpoint)
        #expect(throws: ServiceError.self) { try stranger.jobs(JobRequest(version: .v1, request: .cancel(queued.jobId))) }
        guard case let .list(list) = try stranger.jobs(JobRequest(version: .v1, request: .list(true))).reply else { Issue.record("no list"); return }
        #expect(list.jobs.isEmpty)
        // Nor reuses its output folder.
        var sameOut = JobFlowTests.prepareSpec()
        sameOut.limit = 10
        #expect(throws: ServiceError.self) {
            try stranger.jobs(JobRequest(version: .v1, request: .submit(JobSubmit(version: .v1, spec: .prepare(sameOut.wire)))))
        }
        // The owner's own connection does see it; a real prep worker runs it.
        guard case let .list(own) = try owner.jobs(JobRequest(version: .v1, request: .list(true))).reply else { Issue.record("no list"); return }
        #expect(own.jobs.map(\.jobId) == [queued.jobId])
        try system.startWorker("prep", "cuentista-prep")
        let final = try system.waitForJob(queued.jobId)
        #expect(final.state == .succeeded && final.result == "prepared/products", "\(final)")
        #expect(system.log("coordinator").contains("which it does not hold") || system.log("coordinator").contains("claims \(queued.jobId)"))
    }

    /// A ZMTP 3.0 peer written by hand (what libzmq's API would not let a client say): NULL
    /// mechanism, a READY whose properties claim `User-Id: admin:evil`.
    final class RawZMTPPeer {
        let fd: Int32

        init(port: Int, properties: [(String, String)]) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw HarnessFailure("connect failed") }
            var greeting = [UInt8](repeating: 0, count: 64)
            greeting[0] = 0xFF; greeting[9] = 0x7F; greeting[10] = 3; greeting[11] = 0
            for (i, byte) in "NULL".utf8.enumerated() { greeting[12 + i] = byte }
            try write(greeting)
            _ = try read(64)
            var ready = [UInt8]([5]) + Array("READY".utf8)
            for (name, value) in properties {
                ready += [UInt8(name.utf8.count)] + Array(name.utf8)
                let length = UInt32(value.utf8.count).bigEndian
                ready += withUnsafeBytes(of: length) { Array($0) } + Array(value.utf8)
            }
            try write([0x04, UInt8(ready.count)] + ready)
            let header = try read(2)
            _ = try read(Int(header[1]))
        }

        deinit { close(fd) }

        func write(_ bytes: [UInt8]) throws {
            guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else { throw HarnessFailure("write failed") }
        }

        func read(_ count: Int) throws -> [UInt8] {
            var out: [UInt8] = []
            var tv = timeval(tv_sec: 3, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            while out.count < count {
                var buffer = [UInt8](repeating: 0, count: count - out.count)
                let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                guard got > 0 else { throw HarnessFailure("read failed after \(out.count) bytes") }
                out += buffer.prefix(got)
            }
            return out
        }

        /// One multipart message (short frames only), then the frames of the reply.
        func request(_ frames: [[UInt8]]) throws -> [[UInt8]] {
            for (i, frame) in frames.enumerated() {
                precondition(frame.count < 256)
                try write([i < frames.count - 1 ? 0x01 : 0x00, UInt8(frame.count)] + frame)
            }
            var reply: [[UInt8]] = []
            while true {
                let header = try read(1)
                let size: Int
                if header[0] & 0x02 != 0 {
                    size = try read(8).reduce(0) { $0 << 8 | Int($1) }
                } else {
                    size = Int(try read(1)[0])
                }
                reply.append(try read(size))
                if header[0] & 0x01 == 0 { return reply }
            }
        }
    }

    struct HarnessFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test("without CurveZMQ a peer cannot make itself admin by claiming a User-Id in its handshake")
    func spoofedUserId() throws {
        let system = try LiveSystem()
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.addCorpus()
        try system.startCoordinator()
        try system.waitUntilAnswering()
        // The operator's job.
        let job = try system.submit(.submit(JobSubmit(version: .v1, spec: .prepare(JobFlowTests.prepareSpec().wire))))
        let port = Int(system.endpoint.split(separator: ":").last!)!
        let spoofer = try RawZMTPPeer(port: port, properties: [("Socket-Type", "DEALER"), ("User-Id", "admin:evil")])
        let list = try spoofer.request([[], Majordomo.clientHeader, [1], Array(InternalService.jobs.utf8), JobRequest(version: .v1, request: .list(true)).wire()])
        guard list.count >= 5, case let .list(seen) = try JobReply(wire: list[4]).reply else { Issue.record("\(list)"); return }
        #expect(seen.jobs.isEmpty, "a spoofed User-Id saw \(seen.jobs.map(\.jobId))")
        let cancel = try spoofer.request([[], Majordomo.clientHeader, [1], Array(InternalService.jobs.utf8), JobRequest(version: .v1, request: .cancel(job.jobId)).wire()])
        guard cancel.count >= 5, case let .error(error) = try JobReply(wire: cancel[4]).reply else { Issue.record("\(cancel)"); return }
        #expect(error.code == .notFound)
        #expect(try system.jobStatus(job.jobId).state == .queued)
    }

    @Test("a worker refuses to write through a symbolic link that leads out of the data directory")
    func symlinkOut() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("links-\(UUID().uuidString)").path
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/runs", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/runs/evil", withDestinationPath: outside)
        let data = DataDirectory(root: root)
        #expect(throws: JobSpecError.self) { try data.writable("runs/evil/final", field: "out") }
        #expect(try data.writable("runs/fine/final", field: "out") == root + "/runs/fine/final")
    }
}
