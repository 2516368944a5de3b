import Coordinator
import Foundation
import JobSpecs
import Messaging
import Testing
import Wire

/// Every lifecycle rule of service.proto, on the broker core with a clock of the test's own:
/// no socket, no process, no waiting. (ServicesTests runs the same rules across real processes.)
@Suite("Broker core: the lifecycle rules of service.proto")
struct BrokerCoreTests {
    static let disconnect: UInt8 = 6, heartbeat: UInt8 = 5

    static func generate(_ id: String) -> [UInt8] {
        GeneratorCall(call: .generate(GenerateRequest(version: .v1, requestId: id, prompt: .text("Había una vez")))).wire()
    }

    @Test("registration: READY registers once; a second READY, a malformed hello, a coordinator name or an unknown peer's heartbeat is answered DISCONNECT")
    func registration() throws {
        let broker = try BrokerHarness()
        #expect(broker.ready("W1", "tokenize").isEmpty)
        #expect(try broker.registered() == ["tokenize": ["W1"]])
        #expect(broker.ready("W1", "tokenize").toWorker("W1").map(\.command) == [Self.disconnect])
        #expect(try broker.registered() == [:])
        for name in [InternalService.jobs, InternalService.status, "jobs", "status"] {
            #expect(broker.ready("X", name).toWorker("X").map(\.command) == [Self.disconnect], "\(name)")
        }
        #expect(broker.worker("Y", 1, [Array("tokenize".utf8), [0xff, 0xff]]).toWorker("Y").map(\.command) == [Self.disconnect])
        let otherService = WorkerHello(version: .v1, service: "generate").wire()
        #expect(broker.worker("Y", 1, [Array("tokenize".utf8), otherService]).toWorker("Y").map(\.command) == [Self.disconnect])
        #expect(broker.heartbeat("Z").toWorker("Z").map(\.command) == [Self.disconnect])
        #expect(broker.reply("Z", to: BrokerHarness.address("C1"), [1]).toWorker("Z").map(\.command) == [Self.disconnect])
        #expect(try broker.registered() == [:])
    }

    @Test("a request reaches a worker with the client's address and its reply comes back; a reply for a request the worker does not hold is dropped")
    func routing() throws {
        let broker = try BrokerHarness()
        broker.ready("W1", "tokenize")
        let request = broker.request(from: "C1", "tokenize", [1, 2, 3]).requests(to: "W1")
        #expect(request.count == 1 && request[0].address == BrokerHarness.address("C1") && request[0].body == [1, 2, 3])
        let replies = broker.reply("W1", to: BrokerHarness.address("C1"), [9]).toClient("C1")
        #expect(replies.count == 1 && replies[0].final && replies[0].service == "tokenize" && replies[0].body == [9])
        #expect(broker.reply("W1", to: BrokerHarness.address("C2"), [9]).isEmpty)
        // The least loaded worker gets the next request; the longest registered on a tie.
        broker.ready("W2", "tokenize", capacity: 2)
        #expect(broker.request(from: "C3", "tokenize", [3]).requests(to: "W1").count == 1)
        #expect(broker.request(from: "C4", "tokenize", [4]).requests(to: "W2").count == 1)
    }

    @Test("an unknown service is refused at once; a known one without a worker waits for one, then is refused after the wait")
    func serviceWait() throws {
        let broker = try BrokerHarness(serviceWaitMilliseconds: 5000)
        #expect(broker.request(from: "C1", "nosuch", [1]).toClient("C1").first?.error?.code == .unknownService)
        #expect(broker.request(from: "C2", "generate", Self.generate("a")).isEmpty)
        #expect(broker.request(from: "C3", "generate", Self.generate("b")).isEmpty)
        #expect(broker.advance(4000).toClient("C2").isEmpty)
        // A worker that arrives in time gets the waiting requests.
        #expect(broker.ready("G1", "generate", capacity: 1).requests(to: "G1").map(\.address) == [BrokerHarness.address("C2")])
        #expect(broker.unreachable("G1").toClient("C3").isEmpty)
        // C2's request went back to the queue; with no generator left, both wait out the rest.
        let expired = broker.advance(2000)
        #expect(expired.toClient("C2").first?.error?.code == .unknownService)
        #expect(expired.toClient("C3").first?.error?.code == .unknownService)
    }

    @Test("heartbeats go out every interval; a worker silent for three is removed and its request goes to another")
    func heartbeatsAndExpiry() throws {
        let broker = try BrokerHarness()
        broker.ready("W1", "tokenize")
        broker.ready("W2", "tokenize")
        let beats = broker.advance(1)
        #expect(beats.toWorker("W1").map(\.command) == [Self.heartbeat] && beats.toWorker("W2").map(\.command) == [Self.heartbeat])
        #expect(broker.advance(500).isEmpty)
        #expect(broker.request(from: "C1", "tokenize", [1]).requests(to: "W1").count == 1)
        var moved: [Sent.ToWorker] = []
        for _ in 0..<3 {
            broker.heartbeat("W2")
            moved += broker.advance(1000).requests(to: "W2")
        }
        #expect(moved.map(\.address) == [BrokerHarness.address("C1")])
        #expect(try broker.registered() == ["tokenize": ["W2"]])
    }

    @Test("a request is tried by at most max-attempts workers, then the client gets INTERNAL; a streamed one is never replayed")
    func attempts() throws {
        let broker = try BrokerHarness(maxAttempts: 3)
        broker.request(from: "C1", "tokenize", [1])
        for (n, worker) in ["W1", "W2", "W3"].enumerated() {
            #expect(broker.ready(worker, "tokenize").requests(to: worker).count == 1)
            let lost = broker.unreachable(worker).toClient("C1")
            #expect(n < 2 ? lost.isEmpty : lost.first?.error?.code == .internal)
        }
        broker.ready("G1", "generate")
        broker.request(from: "C2", "generate", Self.generate("r"))
        #expect(broker.reply("G1", to: BrokerHarness.address("C2"), [7], final: false).toClient("C2").map(\.final) == [false])
        let stopped = broker.unreachable("G1").toClient("C2")
        #expect(stopped.first?.error?.code == .internal && stopped.first?.error?.message.contains("middle of its stream") == true)
        #expect(broker.ready("G2", "generate").requests(to: "G2").isEmpty)
    }

    @Test("overload: with every worker busy, requests past max-queued-requests get OVERLOADED")
    func overload() throws {
        let broker = try BrokerHarness(maxQueuedRequests: 2)
        broker.ready("G1", "generate", capacity: 1)
        for client in ["C1", "C2", "C3"] { #expect(broker.request(from: client, "generate", Self.generate(client)).toClient(client).isEmpty) }
        #expect(broker.request(from: "C4", "generate", Self.generate("C4")).toClient("C4").first?.error?.code == .overloaded)
        // A worker's heartbeat that reports work of its own (direct clients) counts too.
        broker.ready("W1", "tokenize", capacity: 1)
        broker.heartbeat("W1", busy: 1)
        broker.request(from: "T1", "tokenize", [1])
        broker.request(from: "T2", "tokenize", [1])
        #expect(broker.request(from: "T3", "tokenize", [1]).toClient("T3").first?.error?.code == .overloaded)
    }

    @Test("cancel routing: a queued generation ends here, a decoding one is forwarded to its generator with the original client's address, an unknown id is NOT_FOUND")
    func cancelRouting() throws {
        let broker = try BrokerHarness()
        broker.ready("G1", "generate", capacity: 1)
        broker.request(from: "C1", "generate", Self.generate("r1"))
        broker.request(from: "C2", "generate", Self.generate("r2"))
        func cancel(_ id: String, on channel: BrokerCore.Channel = .admins, from client: String = "C3") -> Sent {
            broker.request(from: client, "generate", GeneratorCall(call: .cancel(CancelRequest(version: .v1, requestId: id))).wire(), on: channel)
        }
        // Another ordinary client cannot cancel them: they are not its requests.
        #expect(cancel("r2", on: .clients, from: "C9").toClient("C9").first?.error?.code == .notFound)
        #expect(cancel("r1", on: .clients, from: "C9").requests(to: "G1").isEmpty)
        let queued = cancel("r2")
        #expect(queued.toClient("C2").first?.error?.code == .cancelled)
        #expect(try queued.toClient("C3").map { try GenerateEvent(wire: $0.body).requestId } == ["r2"])
        let decoding = cancel("r1")
        let forwarded = decoding.requests(to: "G1")
        #expect(forwarded.count == 1 && forwarded[0].address == BrokerHarness.address("C1"))
        #expect(try GeneratorCall(wire: forwarded[0].body).call == .cancel(CancelRequest(version: .v1, requestId: "r1")))
        #expect(decoding.toClient("C3").count == 1)
        #expect(cancel("nope").toClient("C3").first?.error?.code == .notFound)
    }

    @Test("a client found unreachable: its generation is cancelled at the generator, which is free again")
    func clientGone() throws {
        let broker = try BrokerHarness()
        broker.ready("G1", "generate", capacity: 1)
        broker.request(from: "C1", "generate", Self.generate("r1"))
        let gone = broker.unreachable("C1").requests(to: "G1")
        #expect(gone.count == 1 && gone[0].address == BrokerHarness.address("C1"))
        #expect(try GeneratorCall(wire: gone[0].body).call == .cancel(CancelRequest(version: .v1, requestId: "")))
        #expect(broker.request(from: "C2", "generate", Self.generate("r2")).requests(to: "G1").count == 1)
    }

    @Test("jobs: queued until a worker of their kind is free; a lost worker requeues the job (resuming), the last attempt fails it; a non-retryable failure fails at once")
    func jobAttempts() throws {
        let broker = try BrokerHarness(maxAttempts: 3)
        let id = try broker.submit(BrokerHarness.prepareSpec())
        #expect(try broker.status(id).state == .queued)
        broker.ready("T1", "train")
        for attempt in 1...3 {
            let worker = "P\(attempt)"
            let assignment = try #require(try broker.ready(worker, "prepare").assignments(to: worker).first)
            #expect(assignment.jobId == id && assignment.attempt == UInt32(attempt) && assignment.resume == (attempt > 1))
            guard case let .run(run) = assignment.action, case .prepare = run.spec else { Issue.record("not a run of a prepare job"); return }
            #expect(try broker.status(id).state == .running && broker.status(id).worker == worker)
            broker.unreachable(worker)
        }
        let failed = try broker.status(id)
        #expect(failed.state == .failed && failed.error.contains("attempt 3 of 3"), "\(failed)")

        let second = try broker.submit(BrokerHarness.prepareSpec(out: "prepared/b"))
        #expect(try broker.ready("P4", "prepare").assignments(to: "P4").first?.jobId == second)
        let refusal = JobReply(reply: .status(JobStatus(jobId: second, state: .failed, error: "invalid --input: missing", retryable: false)))
        broker.reply("P4", to: Self.jobAddress(second), refusal.wire())
        #expect(try broker.status(second).state == .failed && broker.status(second).attempts == 1)
    }

    static func jobAddress(_ id: String) -> [UInt8] { [0] + Array("job:\(id)".utf8) }

    @Test("hand-back: a job returned as queued does not count as an attempt and its worker gets nothing more")
    func handBack() throws {
        let broker = try BrokerHarness()
        let id = try broker.submit(BrokerHarness.prepareSpec())
        #expect(try broker.ready("P1", "prepare").assignments(to: "P1").count == 1)
        broker.reply("P1", to: Self.jobAddress(id), JobReply(reply: .status(JobStatus(jobId: id, state: .queued))).wire())
        let back = try broker.status(id)
        #expect(back.state == .queued && back.attempts == 0)
        #expect(broker.jobs(from: "C", .submit(BrokerHarness.prepareSpec(out: "prepared/b").wire)).requests(to: "P1").isEmpty)
        let next = try #require(try broker.ready("P2", "prepare").assignments(to: "P2").first)
        #expect(next.jobId == id && next.attempt == 1)
    }

    @Test("adoption after a restart: a running job waits for its worker to report it in READY, which keeps it; unreported, it goes to another worker after the grace")
    func adoptionAfterRestart() throws {
        let storePath = FileManager.default.temporaryDirectory.appendingPathComponent("broker-\(UUID().uuidString)/jobs.db").path
        var ids: [String] = []
        do {
            let before = try BrokerHarness(storePath: storePath)
            ids = [try before.submit(BrokerHarness.prepareSpec()), try before.submit(BrokerHarness.prepareSpec(out: "prepared/b"))]
            before.ready("P1", "prepare")
            before.ready("P2", "prepare")
            #expect(try ids.map { try before.status($0).state } == [.running, .running])
        }
        let after = try BrokerHarness(storePath: storePath, clock: 5_000_000)
        #expect(try ids.map { try after.status($0).state } == [.queued, .queued])
        // A fresh worker does not take them during the grace (two liveness periods).
        #expect(after.ready("P3", "prepare").requests(to: "P3").isEmpty)
        // P1 comes back still running the first: it keeps it, and nothing is sent to restart it.
        #expect(after.ready("P1", "prepare", currentJob: ids[0]).requests(to: "P1").isEmpty)
        #expect(try after.status(ids[0]).state == .running && after.status(ids[0]).worker == "P1")
        after.reply("P1", to: Self.jobAddress(ids[0]), JobReply(reply: .status(JobStatus(jobId: ids[0], state: .succeeded, result: "prepared/a"))).wire())
        #expect(try after.status(ids[0]).state == .succeeded)
        // P2 never comes back: after the grace, P3 (heartbeating) takes the job over, resuming.
        var taken: [JobAssignment] = []
        for _ in 0..<7 {
            after.heartbeat("P3")
            after.heartbeat("P1")
            taken += try after.advance(1000).assignments(to: "P3")
        }
        #expect(taken.map(\.jobId) == [ids[1]] && taken.first?.resume == true)
    }

    @Test("a thawed worker (removed while frozen, its job given to another) is told to drop its copy and cannot finish the job")
    func thawedWorker() throws {
        let broker = try BrokerHarness()
        let id = try broker.submit(BrokerHarness.prepareSpec())
        broker.ready("P1", "prepare")
        broker.ready("P2", "prepare")
        for _ in 0..<4 {
            broker.heartbeat("P2")
            broker.advance(1000)
        }
        #expect(try broker.status(id).worker == "P2" && broker.status(id).attempts == 2)
        // P1 wakes up: its heartbeat is refused, it registers again reporting the job.
        #expect(broker.heartbeat("P1").toWorker("P1").map(\.command) == [Self.disconnect])
        let told = try broker.ready("P1", "prepare", currentJob: id).assignments(to: "P1")
        #expect(told.count == 1 && told[0].jobId == id && told[0].action == .cancel(true))
        broker.reply("P1", to: Self.jobAddress(id), JobReply(reply: .status(JobStatus(jobId: id, state: .succeeded, result: "x"))).wire())
        #expect(try broker.status(id).state == .running && broker.status(id).worker == "P2")
    }

    @Test("job cancel and follow: a queued job is cancelled here; a running one is told to stop and ends cancelled; followers get progress and the final status")
    func cancelAndFollow() throws {
        let broker = try BrokerHarness()
        let queued = try broker.submit(BrokerHarness.prepareSpec())
        // F1, F2 and C1 are the operator (it acts on every job).
        #expect(broker.jobs(from: "F1", .follow(queued), on: .admins).toClient("F1").map(\.final) == [false])
        let cancelled = broker.jobs(from: "C1", .cancel(queued), on: .admins)
        #expect(try cancelled.jobReplies(to: "F1").map(\.reply) .count == 1 && cancelled.toClient("F1").map(\.final) == [true])
        #expect(try broker.status(queued).state == .cancelled)

        let running = try broker.submit(BrokerHarness.prepareSpec(out: "prepared/b"))
        broker.ready("P1", "prepare")
        #expect(broker.jobs(from: "F2", .follow(running), on: .admins).toClient("F2").map(\.final) == [false])
        let progress = JobReply(reply: .progress(JobProgress(jobId: running, step: 3)))
        #expect(try broker.reply("P1", to: Self.jobAddress(running), progress.wire(), final: false).jobReplies(to: "F2") == [progress])
        let stop = try broker.jobs(from: "C1", .cancel(running), on: .admins).assignments(to: "P1")
        #expect(stop.map(\.action) == [.cancel(true)])
        let end = broker.reply("P1", to: Self.jobAddress(running), JobReply(reply: .status(JobStatus(jobId: running, state: .cancelled))).wire())
        guard case let .status(final) = try end.jobReplies(to: "F2").last?.reply else { Issue.record("no final status"); return }
        #expect(final.state == .cancelled && end.toClient("F2").last?.final == true)
    }

    @Test("a train job whose data a queued prepare job writes waits for it; a --deploy job switches every generator when it succeeds")
    func pipelineAndDeploy() throws {
        let broker = try BrokerHarness()
        let prepare = try broker.submit(BrokerHarness.prepareSpec(out: "prepared/a"))
        var train = TrainJobSpec()
        train.model = "models/base"
        train.data = "prepared/a"
        train.out = "runs/a"
        train.deploy = true
        // Deploying is an admin's call: an ordinary client is refused, the operator is not.
        guard case let .error(denied)? = try broker.jobs(from: "C1", .submit(JobSpec.train(train).wire)).jobReplies(to: "C1").first?.reply else {
            Issue.record("deploy accepted from a client"); return
        }
        #expect(denied.code == .permissionDenied && denied.field == "deploy")
        guard case let .status(queuedTrain)? = try broker.jobs(from: "OP", .submit(JobSpec.train(train).wire), on: .admins).jobReplies(to: "OP").first?.reply else {
            Issue.record("the operator's deploy job was refused"); return
        }
        let trainId = queuedTrain.jobId
        broker.ready("G1", "generate")
        #expect(broker.ready("T1", "train").requests(to: "T1").isEmpty)
        broker.ready("P1", "prepare")
        let prepared = JobReply(reply: .status(JobStatus(jobId: prepare, state: .succeeded, result: "prepared/a")))
        #expect(try broker.reply("P1", to: Self.jobAddress(prepare), prepared.wire()).assignments(to: "T1").map(\.jobId) == [trainId])
        let trained = JobReply(reply: .status(JobStatus(jobId: trainId, state: .succeeded, result: "runs/a/final")))
        let switched = broker.reply("T1", to: Self.jobAddress(trainId), trained.wire()).requests(to: "G1")
        #expect(try switched.map { try GeneratorCall(wire: $0.body).call } == [.switchModel(SwitchModelRequest(version: .v1, model: "runs/a/final"))])
    }

    @Test("broadcast: a model switch goes to every generator; the client gets one answer when all have answered or gone")
    func broadcast() throws {
        let broker = try BrokerHarness()
        broker.ready("G1", "generate")
        broker.ready("G2", "generate")
        let call = GeneratorCall(call: .switchModel(SwitchModelRequest(version: .v1, model: "models/x"))).wire()
        // The operator switches (an admin's call).
        let sent = broker.request(from: "C1", "generate", call, on: .admins)
        let (toG1, toG2) = (sent.requests(to: "G1"), sent.requests(to: "G2"))
        #expect(toG1.count == 1 && toG2.count == 1 && toG1[0].address == toG2[0].address && toG1[0].address.first == 0)
        let info = GenerateEvent(event: .model(ModelInfo(model: "models/x"))).wire()
        #expect(broker.reply("G1", to: toG1[0].address, info).toClient("C1").isEmpty)
        let answer = broker.unreachable("G2").toClient("C1")
        #expect(answer.count == 1 && answer[0].final && answer[0].body == info)
        // With no generator at all the switch is refused.
        broker.unreachable("G1")
        #expect(broker.request(from: "C2", "generate", call, on: .admins).toClient("C2").first?.error?.code == .unknownService)
    }

    @Test("frames that cannot be parsed are dropped and counted; another MDP version gets BAD_VERSION; the coordinator's services answer bad bodies with an error")
    func badFrames() throws {
        let broker = try BrokerHarness()
        #expect(broker.core.handle([BrokerHarness.id("C1"), [1], Array("MDPC02".utf8), [1]], from: .clients, now: broker.clock).isEmpty)
        #expect(broker.core.handle([BrokerHarness.id("C1"), [], Array("XXXX".utf8), [1]], from: .clients, now: broker.clock).isEmpty)
        #expect(broker.core.droppedFrames == 2)
        let old = Sent(broker.core.handle([BrokerHarness.id("C1"), [], Array("MDPC01".utf8), [1], Array("tokenize".utf8), [1]], from: .clients, now: broker.clock))
        #expect(old.toClient("C1").first?.error?.code == .badVersion)
        #expect(broker.request(from: "C2", InternalService.jobs, [0xff]).toClient("C2").first?.error?.code == .malformed)
        #expect(broker.request(from: "C3", "prepare", [1]).toClient("C3").first?.error?.code == .invalidArgument)
    }

    @Test("an assignment the transport could not deliver is not an attempt: the job is as before, a request goes back to the front")
    func undeliveredWork() throws {
        let broker = try BrokerHarness(maxAttempts: 1)
        let id = try broker.submit(BrokerHarness.prepareSpec())
        let sent = broker.ready("P1", "prepare")
        let assignment = try #require(sent.messages.first { $0.frames[0] == BrokerHarness.id("P1") && $0.frames.count >= 7 })
        broker.undelivered(assignment)
        let back = try broker.status(id)
        #expect(back.state == .queued && back.attempts == 0 && back.error.isEmpty, "\(back)")
        let retry = try #require(try broker.ready("P2", "prepare").assignments(to: "P2").first)
        #expect(retry.jobId == id && retry.attempt == 1 && !retry.resume)

        broker.ready("W1", "tokenize")
        let request = try #require(broker.request(from: "C1", "tokenize", [5]).messages.first { $0.frames[0] == BrokerHarness.id("W1") })
        #expect(broker.undelivered(request).toClient("C1").isEmpty)
        let moved = broker.ready("W2", "tokenize").requests(to: "W2")
        #expect(moved.map(\.address) == [BrokerHarness.address("C1")] && moved.first?.body == [5])
    }

    @Test("a client too slow to read stops following and its generation is cancelled, but its waiting requests stay; a client gone loses them")
    func slowClient() throws {
        let broker = try BrokerHarness()
        broker.ready("G1", "generate", capacity: 1)
        broker.request(from: "C1", "generate", Self.generate("r1"))
        broker.request(from: "C1", "generate", Self.generate("r2"))
        // G1 is told to stop r1 and, free again, takes C1's waiting r2, which was kept.
        let slow = try broker.unreachable("C1", gone: false).requests(to: "G1").map { try GeneratorCall(wire: $0.body).call }
        #expect(slow == [.cancel(CancelRequest(version: .v1, requestId: "")),
                         .generate(GenerateRequest(version: .v1, requestId: "r2", prompt: .text("Había una vez")))])
        #expect(broker.request(from: "C2", "generate", Self.generate("r3")).requests(to: "G1").isEmpty)
        broker.unreachable("C2", gone: true)
        broker.reply("G1", to: BrokerHarness.address("C1"), [1])
        #expect(broker.advance(1).requests(to: "G1").isEmpty)
    }

    @Test("only the worker a job was given to may report on it: another kind, another worker, an unregistered connection are refused and counted")
    func reportsOnlyByHolder() throws {
        let broker = try BrokerHarness()
        let queued = try broker.submit(BrokerHarness.prepareSpec())
        broker.ready("W1", "tokenize")
        let forged = JobReply(reply: .status(JobStatus(jobId: queued, state: .succeeded, result: "../../etc"))).wire()
        broker.reply("W1", to: Self.jobAddress(queued), forged)
        #expect(try broker.status(queued).state == .queued && broker.core.refusedReports == 1)
        // READY claiming a queued job that never ran adopts nothing: the claimant is told to drop it.
        broker.ready("T1", "train", currentJob: queued)
        let claimed = try broker.ready("P9", "prepare", currentJob: queued).assignments(to: "P9")
        #expect(claimed.map(\.action) == [.cancel(true)], "\(claimed)")
        #expect(try broker.status(queued).state == .queued)
        // Once its heartbeat says it is free, P9 is given the job the normal way: attempt 1.
        #expect(try broker.heartbeat("P9").assignments(to: "P9").map(\.attempt) == [1])
        #expect(try broker.status(queued).state == .running && broker.status(queued).worker == "P9")
        broker.ready("P2", "prepare")
        broker.reply("P2", to: Self.jobAddress(queued), forged)
        #expect(try broker.status(queued).state == .running)
        #expect(broker.reply("X", to: Self.jobAddress(queued), forged).toWorker("X").map(\.command) == [Self.disconnect])
        #expect(try broker.status(queued).state == .running && broker.core.refusedReports >= 4)
        broker.reply("P9", to: Self.jobAddress(queued), JobReply(reply: .status(JobStatus(jobId: queued, state: .succeeded, result: "prepared/a"))).wire())
        #expect(try broker.status(queued).state == .succeeded && broker.status(queued).result == "prepared/a")
    }

    @Test("after a restart, a job is adopted only by a worker of its kind that reports it in READY")
    func adoptionByKind() throws {
        let storePath = FileManager.default.temporaryDirectory.appendingPathComponent("broker-\(UUID().uuidString)/jobs.db").path
        var id = ""
        do {
            let before = try BrokerHarness(storePath: storePath)
            id = try before.submit(BrokerHarness.prepareSpec())
            before.ready("P1", "prepare")
        }
        let after = try BrokerHarness(storePath: storePath, clock: 9_000_000)
        let wrongKind = try after.ready("T1", "train", currentJob: id).assignments(to: "T1")
        #expect(try wrongKind.map(\.action) == [.cancel(true)] && after.status(id).state == .queued)
        #expect(after.ready("P1", "prepare", currentJob: id).requests(to: "P1").isEmpty)
        #expect(try after.status(id).state == .running && after.status(id).worker == "P1")
    }

    @Test("a client connection cannot act as a worker: worker commands on the client endpoint, and requests on the worker endpoint, are refused")
    func rolesByEndpoint() throws {
        let broker = try BrokerHarness()
        let hello = WorkerHello(version: .v1, service: "generate", workerId: "fake", capacity: 64).wire()
        #expect(broker.worker("C1", 1, [Array("generate".utf8), hello], on: .clients).isEmpty)
        #expect(try broker.registered() == [:] && broker.core.refusedRole == 1)
        let id = try broker.submit(BrokerHarness.prepareSpec())
        let forged = JobReply(reply: .status(JobStatus(jobId: id, state: .succeeded))).wire()
        #expect(broker.worker("C1", 4, [Self.jobAddress(id), [], forged], on: .clients).isEmpty)
        #expect(try broker.status(id).state == .queued)
        let onWorkers = Sent(broker.core.handle([BrokerHarness.id("W9"), [], Array("MDPC02".utf8), [1], Array(InternalService.status.utf8),
                                                 StatusRequest(version: .v1).wire()], from: .workers, now: broker.clock))
        #expect(onWorkers.isEmpty && broker.core.refusedRole == 3)
    }

    @Test("work belongs to whoever submitted it: another client sees, follows and cancels none of it; the same CurveZMQ key on a new connection does; an admin does")
    func ownership() throws {
        let broker = try BrokerHarness()
        let alice = "client:" + String(repeating: "A", count: 40), bob = "client:" + String(repeating: "B", count: 40)
        let admin = "admin:" + String(repeating: "C", count: 40)
        let id = try broker.submit(BrokerHarness.prepareSpec(), from: "A1", userId: alice)
        func replies(_ request: JobRequest.Request, from client: String, userId: String) throws -> [JobReply] {
            try broker.jobs(from: client, request, userId: userId).jobReplies(to: client)
        }
        for request in [JobRequest.Request.status(id), .follow(id), .cancel(id)] {
            let denied = try replies(request, from: "B1", userId: bob)
            guard case let .error(error)? = denied.first?.reply else { Issue.record("\(denied)"); continue }
            #expect(error.code == .notFound && error.message == "no job \(id)")
        }
        guard case let .list(list)? = try replies(.list(true), from: "B1", userId: bob).first?.reply else { Issue.record("no list"); return }
        #expect(list.jobs.isEmpty)
        guard case let .list(own)? = try replies(.list(true), from: "A2", userId: alice).first?.reply else { Issue.record("no list"); return }
        #expect(own.jobs.map(\.jobId) == [id])
        // Without CurveZMQ the connection is the identity: a second connection is someone else.
        let plain = try broker.submit(BrokerHarness.prepareSpec(out: "prepared/plain"), from: "P-conn-1")
        guard case .error? = try broker.jobs(from: "X-conn-2", .status(plain)).jobReplies(to: "X-conn-2").first?.reply else { Issue.record("seen"); return }
        // An admin key sees and cancels anyone's.
        guard case let .status(cancelled)? = try replies(.cancel(id), from: "K1", userId: admin).first?.reply else { Issue.record("admin"); return }
        #expect(cancelled.state == .cancelled)
        // Switching the model is an admin's (or the operator endpoint's) only.
        broker.ready("G1", "generate")
        let call = GeneratorCall(call: .switchModel(SwitchModelRequest(version: .v1, model: "models/x"))).wire()
        #expect(broker.request(from: "B1", "generate", call, userId: bob).toClient("B1").first?.error?.code == .permissionDenied)
        #expect(broker.request(from: "K1", "generate", call, userId: admin).requests(to: "G1").count == 1)
    }

    @Test("an output folder belongs to its job: another owner's, or an unfinished job's, is refused, inside or around it too")
    func outputFolders() throws {
        let broker = try BrokerHarness()
        let alice = "client:" + String(repeating: "A", count: 40), bob = "client:" + String(repeating: "B", count: 40)
        _ = try broker.submit(BrokerHarness.prepareSpec(out: "runs/alice"), from: "A1", userId: alice)
        for out in ["runs/alice", "runs/alice/sub", "runs", "./runs/alice/"] {
            let sent = broker.jobs(from: "B1", .submit(BrokerHarness.prepareSpec(out: out).wire), userId: bob)
            guard case let .error(error)? = try sent.jobReplies(to: "B1").first?.reply else { Issue.record("\(out) accepted"); continue }
            #expect(error.field == "out" && error.code == .invalidArgument, "\(error)")
        }
        // Alice's own second job into it waits for none: refused while the first runs too.
        guard case .error? = try broker.jobs(from: "A1", .submit(BrokerHarness.prepareSpec(out: "runs/alice").wire), userId: alice).jobReplies(to: "A1").first?.reply else {
            Issue.record("two unfinished jobs share a folder"); return
        }
        #expect(try broker.submit(BrokerHarness.prepareSpec(out: "runs/bob"), from: "B1", userId: bob).hasPrefix("job-"))
    }

    @Test("a job writes only its own folder: not the data directory, not the coordinator's folder, its log inside --out, not another user's inputs")
    func writablePaths() throws {
        let broker = try BrokerHarness()
        func refused(_ spec: JobSpec, _ field: String, userId: String = "client:" + String(repeating: "B", count: 40)) throws {
            let reply = try broker.jobs(from: "B1", .submit(spec.wire), userId: userId).jobReplies(to: "B1").first?.reply
            guard case let .error(error)? = reply else { Issue.record("accepted: \(spec)"); return }
            #expect(error.field == field, "\(error)")
        }
        for out in [".", "./", "coordinator", "coordinator/x"] { try refused(BrokerHarness.prepareSpec(out: out), "out") }
        var train = TrainJobSpec()
        train.model = "models/base"; train.data = "prepared/a"; train.out = "runs/b"; train.logJson = "runs/other/log.jsonl"
        try refused(.train(train), "log-json")
        train.logJson = "runs/b/log.jsonl"
        #expect(try broker.submit(.train(train), from: "B1", userId: "client:" + String(repeating: "B", count: 40)).hasPrefix("job-"))
        // Another user may not write where B's job reads (its model, its data).
        try refused(BrokerHarness.prepareSpec(out: "models/base"), "out", userId: "client:" + String(repeating: "C", count: 40))
        try refused(BrokerHarness.prepareSpec(out: "prepared"), "out", userId: "client:" + String(repeating: "C", count: 40))
    }

    @Test("paths are split as the file system splits them: a '/' joined to a combining mark still separates, so '..' is seen")
    func unicodePaths() throws {
        let broker = try BrokerHarness()
        let user = "client:" + String(repeating: "D", count: 40)
        for out in ["runs/alice\u{600}/../alice", "runs/x\u{301}/../../coordinator", "runs/\u{600}/../../etc"] {
            let reply = try broker.jobs(from: "D1", .submit(BrokerHarness.prepareSpec(out: out).wire), userId: user).jobReplies(to: "D1").first?.reply
            guard case let .error(error)? = reply else { Issue.record("accepted \(out.unicodeScalars.map { String($0.value, radix: 16) })"); continue }
            #expect(error.field == "out" && error.message.contains("may not leave the data directory"), "\(error)")
        }
        // Outside runs/ and prepared/ only an admin writes; a finished job's inputs block nobody.
        let reply = try broker.jobs(from: "D1", .submit(BrokerHarness.prepareSpec(out: "models/mine").wire), userId: user).jobReplies(to: "D1").first?.reply
        guard case let .error(error)? = reply else { Issue.record("a client wrote into models/"); return }
        #expect(error.field == "out")
        #expect(try broker.jobs(from: "OP", .submit(BrokerHarness.prepareSpec(out: "models/mine").wire), on: .admins).jobReplies(to: "OP").first.map {
            if case .status = $0.reply { true } else { false }
        } == true)
    }

    @Test("cuentista.status tells an ordinary client which workers serve, not where they run or which job they hold")
    func statusForClients() throws {
        let broker = try BrokerHarness()
        broker.ready("P1", "prepare")
        let sent = broker.request(from: "C1", InternalService.status, StatusRequest(version: .v1).wire())
        let reply = try StatusReply(wire: try #require(sent.toClient("C1").first).body)
        let hello = try #require(reply.services.first?.workers.first)
        #expect(hello.workerId == "P1" && hello.host.isEmpty && hello.currentJob.isEmpty)
        let operatorView = broker.request(from: "OP", InternalService.status, StatusRequest(version: .v1).wire(), on: .admins)
        let full = try StatusReply(wire: try #require(operatorView.toClient("OP").first).body)
        #expect(full.services.first?.workers.first?.host == "test")
    }
}
