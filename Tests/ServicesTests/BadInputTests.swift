import Foundation
import JobSpecs
import Messaging
import Services
import Testing
import Wire

/// Every kind of bad input gets an error reply (or a documented drop), and the services keep
/// serving. Real sockets, real processes.
@Suite("Services: bad input", .serialized)
struct BadInputTests {
    static let limit = 4096

    static func system() throws -> LiveSystem {
        let system = try LiveSystem(coordinatorArguments: ["--max-message-bytes", String(limit), "--service-wait-ms", "1000"])
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.addCorpus()
        try system.startCoordinator()
        try system.startWorker("tokenizer", "cuentista-tokenizer", ["--tokenizer", "models/tiny"])
        try system.waitForWorkers("tokenize", count: 1)
        return system
    }

    /// Sends raw frames and returns the decoded error of the reply (nil when none came).
    static func errorReply(_ client: MajordomoClient, _ frames: [[UInt8]], timeout: Int = 2000) throws -> ErrorReply? {
        try client.sendRaw(frames)
        guard let reply = try client.receive(timeoutMilliseconds: timeout) else { return nil }
        #expect(reply.final)
        return try TokenizeReply(wire: reply.body).reply.flatMap { if case let .error(e) = $0 { e } else { nil } }
    }

    static func request(_ service: String, _ body: [UInt8]) -> [[UInt8]] {
        [[], Majordomo.clientHeader, [1], Array(service.utf8), body]
    }

    /// The services still answer correctly.
    static func stillServing(_ system: LiveSystem) throws {
        let reply = try system.client().tokenize(TokenizeRequest(version: .v1, request: .count(CountRequest(texts: ["Había una vez"]))))
        guard case let .count(counts) = reply.reply else { Issue.record("no count"); return }
        #expect(counts.counts.count == 1 && counts.counts[0] > 0)
        #expect(try system.client().status().services.contains { $0.service == "tokenize" })
    }

    @Test("garbage frames are dropped and logged; a wrong Majordomo version and an unknown service get errors")
    func framing() throws {
        let system = try Self.system()
        let client = try MajordomoClient(context: system.context, endpoint: system.endpoint)
        #expect(try Self.errorReply(client, [Array("garbage".utf8)], timeout: 500) == nil)
        #expect(try Self.errorReply(client, [[], Array("XYZ".utf8), [1], [9]], timeout: 500) == nil)
        #expect(try Self.errorReply(client, [[], Majordomo.clientHeader, [7], Array("tokenize".utf8), []], timeout: 500) == nil)
        let version = try #require(try Self.errorReply(client, [[], Array("MDPC01".utf8), [1], Array("tokenize".utf8), []]))
        #expect(version.code == .badVersion)
        let unknown = try #require(try Self.errorReply(client, Self.request("no-such-service", [])))
        #expect(unknown.code == .unknownService)
        #expect(unknown.message.contains("no-such-service"))
        let direct = try #require(try Self.errorReply(client, Self.request("train", [])))
        #expect(direct.code == .invalidArgument)
        #expect(system.log("coordinator").contains("dropped a message"))
        try Self.stillServing(system)
    }

    @Test("a known service without workers answers UNKNOWN_SERVICE after the wait, not never")
    func noWorker() throws {
        let system = try Self.system()
        let client = try MajordomoClient(context: system.context, endpoint: system.endpoint)
        let error = try #require(try Self.errorReply(client, Self.request("generate", GeneratorCall().wire()), timeout: 5000))
        #expect(error.code == .unknownService)
    }

    @Test("wrong protocol versions and malformed bodies get BAD_VERSION and MALFORMED from the service that reads them")
    func bodies() throws {
        let system = try Self.system()
        let client = try MajordomoClient(context: system.context, endpoint: system.endpoint)
        let tokenizeVersion = try #require(try Self.errorReply(client, Self.request("tokenize", TokenizeRequest(version: .unspecified, request: .count(CountRequest(texts: ["a"]))).wire())))
        #expect(tokenizeVersion.code == .badVersion)
        let garbage = try #require(try Self.errorReply(client, Self.request("tokenize", [0xFF, 0xFF, 0xFF])))
        #expect(garbage.code == .malformed)
        let jobsVersion = try #require(try Self.errorReply(client, Self.request(InternalService.jobs, JobRequest(version: .unspecified, request: .list(true)).wire())))
        #expect(jobsVersion.code == .badVersion)
        let jobsGarbage = try #require(try Self.errorReply(client, Self.request(InternalService.jobs, [0x0A, 0xFF])))
        #expect(jobsGarbage.code == .malformed)
        let statusGarbage = try #require(try Self.errorReply(client, Self.request(InternalService.status, [0xFF])))
        #expect(statusGarbage.code == .malformed)
        let outOfVocabulary = try #require(try Self.errorReply(client, Self.request("tokenize", TokenizeRequest(version: .v1, request: .decode(DecodeRequest(ids: [1, 99_999]))).wire())))
        #expect(outOfVocabulary.code == .invalidArgument && outOfVocabulary.message.contains("ids[1]"))
        let noTokenizer = try #require(try Self.errorReply(client, Self.request("tokenize", TokenizeRequest(version: .v1, tokenizer: "models/none", request: .count(CountRequest(texts: ["a"]))).wire())))
        #expect(noTokenizer.code == .notFound)
        let noJob = try #require(try Self.errorReply(client, Self.request(InternalService.jobs, JobRequest(version: .v1, request: .status("job-999999")).wire())))
        #expect(noJob.code == .notFound)
        // The coordinator's own services have a namespace; the old names still answer (one release).
        try client.sendRaw(Self.request("jobs", JobRequest(version: .v1, request: .list(true)).wire()))
        let oldName = try #require(try client.receive(timeoutMilliseconds: 2000))
        guard case .list = try JobReply(wire: oldName.body).reply else { Issue.record("the old name 'jobs' did not answer a list"); return }
        let unknownInternal = try #require(try Self.errorReply(client, Self.request("cuentista.admin", [])))
        #expect(unknownInternal.code == .unknownService)
        try Self.stillServing(system)
    }

    @Test("a worker cannot register a name of the coordinator's own namespace")
    func internalNamesRefused() throws {
        let system = try Self.system()
        let worker = MajordomoWorker(context: system.context, endpoint: system.workerEndpoint, service: InternalService.jobs,
                                     hello: { WorkerHello(version: .v1, service: InternalService.jobs, workerId: "impostor", host: "h", capacity: 1).wire() },
                                     heartbeat: { Heartbeat(workerId: "impostor", busy: 0).wire() })
        var told = false
        worker.onReconnect = { reason in if reason.contains("asked this worker to reconnect") { told = true } }
        let deadline = Date().addingTimeInterval(5)
        while !told && Date() < deadline { _ = try worker.next(timeoutMilliseconds: 100) }
        #expect(told, "the coordinator did not send DISCONNECT to a worker registering \(InternalService.jobs)")
        #expect(try !system.client().status().services.contains { $0.service == InternalService.jobs })
        // The real service still answers.
        #expect(try system.client().jobs(JobRequest(version: .v1, request: .list(true))).reply != nil)
        worker.disconnect()
        try Self.stillServing(system)
    }

    @Test("oversized requests: TOO_LARGE above the limit; beyond the socket's limit the connection is dropped, others go on")
    func oversized() throws {
        let system = try Self.system()
        let client = try MajordomoClient(context: system.context, endpoint: system.endpoint)
        let big = [UInt8](repeating: 0x41, count: Self.limit + 1)
        let tooLarge = try #require(try Self.errorReply(client, Self.request("tokenize", big)))
        #expect(tooLarge.code == .tooLarge)
        let huge = [UInt8](repeating: 0x41, count: 4 * Self.limit + 1)
        #expect(try Self.errorReply(client, Self.request("tokenize", huge), timeout: 1000) == nil)
        try Self.stillServing(system)
    }

    @Test("invalid job specifications are refused with INVALID_ARGUMENT naming the field",
          arguments: ["model", "lr=0", "lr=-1", "lr=3e38", "epochs", "epochs=4294967295", "save-every=4294967295", "out", "data"])
    func invalidTrainSpecs(case name: String) throws {
        let field = String(name.prefix { $0 != "=" })
        let change: (inout TrainJobSpec) -> Void = switch name {
        case "model": { $0.model = "init:huge" }
        case "lr=0": { $0.lr = 0 }
        case "lr=-1": { $0.lr = -1 }
        case "epochs": { $0.epochs = 0 }
        case "lr=3e38": { $0.lr = 3e38 }
        case "epochs=4294967295": { $0.epochs = 4_294_967_295 }
        case "save-every=4294967295": { $0.saveEvery = 4_294_967_295 }
        case "out": { $0.out = "/etc/evil" }
        default: { $0.data = "../outside" }
        }
        let system = try Self.system()
        var spec = JobFlowTests.trainSpec()
        spec.data = "corpus"
        change(&spec)
        do {
            _ = try system.client().jobs(JobRequest(version: .v1, request: .submit(JobSubmit(version: .v1, spec: .train(spec.wire)))))
            Issue.record("accepted an invalid \(field)")
        } catch let error as ServiceError {
            #expect(error.code == .invalidArgument)
            #expect(error.field == field, "\(error.message)")
        }
        try Self.stillServing(system)
    }

    @Test("invalid prepare specifications: val fraction >= 1, missing input, no spec")
    func invalidPrepareSpecs() throws {
        let system = try Self.system()
        for (field, change) in [("val-fraction", { (s: inout PrepareJobSpec) in s.valFraction = 1 }),
                                ("input", { (s: inout PrepareJobSpec) in s.inputs = ["/etc/passwd"] }),
                                ("out", { (s: inout PrepareJobSpec) in s.out = "../outside" }),
                                ("max-length", { (s: inout PrepareJobSpec) in s.maxLength = 4_294_967_295 }),
                                ("shuffle-window", { (s: inout PrepareJobSpec) in s.shuffleWindow = 4_294_967_295 }),
                                ("layout", { (s: inout PrepareJobSpec) in s.layout = "zigzag" })] {
            var spec = JobFlowTests.prepareSpec()
            change(&spec)
            do {
                _ = try system.client().jobs(JobRequest(version: .v1, request: .submit(JobSubmit(version: .v1, spec: .prepare(spec.wire)))))
                Issue.record("accepted an invalid \(field)")
            } catch let error as ServiceError {
                #expect(error.code == .invalidArgument && error.field == field, "\(error.message)")
            }
        }
        do {
            _ = try system.client().jobs(JobRequest(version: .v1, request: .submit(JobSubmit(version: .v1))))
            Issue.record("accepted an empty submission")
        } catch let error as ServiceError {
            #expect(error.code == .invalidArgument)
        }
        let list = try system.client().jobs(JobRequest(version: .v1, request: .list(true)))
        #expect(list.reply == .list(JobList(jobs: [])))
    }
}
