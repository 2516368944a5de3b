import Foundation
import JobSpecs
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
}
