import Foundation
import Jobs
import Logging
import Messaging
import Prep
import Synchronization
import Training
import Wire

/// A prepare or train worker: takes one job at a time from the coordinator, runs it on its own
/// thread while the main loop keeps heartbeating, streams progress, and answers with the job's
/// final status. On SIGTERM a training run stops at a checkpoint and hands the job back.
public final class JobWorker {
    public let kind: String
    let data: DataDirectory
    let logger: Logger
    public let workerId: String
    var current: RunningJob?

    public init(kind: String, data: DataDirectory, workerId: String, logger: Logger) {
        self.kind = kind
        self.data = data
        self.workerId = workerId
        self.logger = logger
    }

    public var hello: WorkerHello {
        WorkerHello(version: .v1, service: kind, workerId: workerId, host: ProcessInfo.processInfo.hostName, capacity: 1,
                    currentJob: current?.id ?? "")
    }

    /// Set when the worker begins to stop: it takes no new job.
    var stopping = false

    public var heartbeat: Heartbeat {
        Heartbeat(workerId: workerId, busy: current == nil && !stopping ? 0 : 1, jobId: current?.id ?? "")
    }

    /// Serves jobs until `shouldStop`; then hands back (or finishes) the current job and leaves.
    public func serve(_ worker: MajordomoWorker, shouldStop: () -> Bool) throws {
        while true {
            if shouldStop() && !stopping {
                stopping = true
                if let current {
                    logger.info("stopping: handing \(current.id) back at its next checkpoint")
                    current.requestStop(.handBack)
                }
            }
            if stopping && current == nil { break }
            if let request = try worker.next(timeoutMilliseconds: 100) { handle(request, worker) }
            if let current {
                for (body, final) in current.takeOutbox() {
                    try worker.reply(to: current.address, body: body, final: final)
                    if final { self.current = nil }
                }
            }
        }
        worker.disconnect()
        logger.info("\(workerId) stopped")
    }

    func handle(_ request: MajordomoWorker.Request, _ worker: MajordomoWorker) {
        func refuse(_ code: ErrorCode, _ message: String) {
            logger.warning("refused a request: \(message)")
            try? worker.reply(to: request.client, body: JobReply(reply: .error(ErrorReply(code: code, message: message))).wire(), final: true)
        }
        guard let assignment = try? JobAssignment(wire: request.body) else { return refuse(.malformed, "the request is not a JobAssignment") }
        guard assignment.version == .v1 else { return refuse(.badVersion, "protocol version \(assignment.version.rawValue) is not supported") }
        switch assignment.action {
        case .cancel:
            if let current, current.id == assignment.jobId {
                logger.info("cancelling \(current.id)")
                current.requestStop(.cancel)
            }
        case let .run(submit):
            guard current == nil && !stopping else {
                // "busy" and "stopping" are the two reasons jobs.proto names for a refusal.
                let status = JobStatus(jobId: assignment.jobId, state: .queued, error: stopping ? "stopping" : "busy")
                try? worker.reply(to: request.client, body: JobReply(reply: .status(status)).wire(), final: true)
                return
            }
            let spec: JobSpec
            do {
                guard let received = try JobSpec(wire: submit), received.kind == kind else {
                    return refuse(.invalidArgument, "a \(kind) worker got a job of another kind")
                }
                spec = received
            } catch {
                return refuse(.invalidArgument, error.description)
            }
            let job = RunningJob(id: assignment.jobId, address: request.client)
            current = job
            logger.info("running \(job.id) (attempt \(assignment.attempt)\(assignment.resume ? ", resuming" : ""))")
            let (data, logger, resume) = (self.data, self.logger, assignment.resume)
            Thread.detachNewThread { job.run(spec, data: data, resume: resume, logger: logger) }
        case nil:
            refuse(.invalidArgument, "the assignment names no action")
        }
    }
}

/// One job in progress, shared between the job's thread and the worker's loop.
final class RunningJob: Sendable {
    enum StopReason: Sendable { case cancel, handBack }

    let id: String
    let address: [UInt8]
    let stop = Mutex<StopReason?>(nil)
    let outbox = Mutex<[(body: [UInt8], final: Bool)]>([])

    init(id: String, address: [UInt8]) {
        self.id = id
        self.address = address
    }

    func requestStop(_ reason: StopReason) { stop.withLock { if $0 == nil { $0 = reason } } }
    var stopReason: StopReason? { stop.withLock { $0 } }
    func post(_ reply: JobReply, final: Bool = false) { outbox.withLock { $0.append((reply.wire(), final)) } }
    func takeOutbox() -> [(body: [UInt8], final: Bool)] { outbox.withLock { box in defer { box = [] }; return box } }

    func finish(_ state: JobState, result: String = "", error: String = "", retryable: Bool = false) {
        post(JobReply(reply: .status(JobStatus(jobId: id, state: state, error: error, result: result, retryable: retryable))), final: true)
    }

    func run(_ spec: JobSpec, data: DataDirectory, resume: Bool, logger: Logger) {
        do {
            switch spec {
            case let .prepare(prepare): try runPrepare(prepare, data: data)
            case let .train(train): try runTrain(train, data: data, resume: resume)
            }
        } catch let error as JobSpecError {
            logger.error("\(id) failed: \(error)")
            finish(.failed, error: error.description)
        } catch let error as TrainingError {
            // Bad data or a diverging run: another attempt would do the same. A checkpoint that
            // could not be written (a full disk) may go better elsewhere or later.
            logger.error("\(id) failed: \(error)")
            if case .checkpoint = error { finish(.failed, error: error.description, retryable: true) } else { finish(.failed, error: error.description) }
        } catch PrepError.cancelled {
            finish(stopReason == .handBack ? .queued : .cancelled)
        } catch let error as PrepError {
            logger.error("\(id) failed: \(error)")
            finish(.failed, error: error.description)
        } catch {
            // I/O and the like may pass on another worker or later: the coordinator retries.
            logger.error("\(id) failed: \(error)")
            finish(.failed, error: "\(error)", retryable: true)
        }
    }

    func runPrepare(_ spec: PrepareJobSpec, data: DataDirectory) throws {
        let started = Date()
        var lastSent = Date.distantPast
        let counts = try spec.run(in: data, progress: { done, total in
            guard Date().timeIntervalSince(lastSent) > 0.5 else { return }
            lastSent = Date()
            let share = total > 0 ? Double(done) / Double(total) : 0
            let elapsed = Date().timeIntervalSince(started)
            post(JobReply(reply: .progress(JobProgress(jobId: id, step: UInt32(clamping: Int(share * 100)), totalSteps: 100,
                                                        tokensPerSecond: 0, etaSeconds: share > 0 ? elapsed * (1 - share) / share : 0))))
        }, shouldStop: { stopReason != nil })
        let summary = "\(counts.kept) documents kept of \(counts.rowsRead) rows; blocks train \(counts.blocks["train"] ?? 0), validation \(counts.blocks["validation"] ?? 0)"
        post(JobReply(reply: .progress(JobProgress(jobId: id, step: 100, totalSteps: 100, checkpoint: summary))))
        finish(.succeeded, result: spec.out)
    }

    func runTrain(_ spec: TrainJobSpec, data: DataDirectory, resume: Bool) throws {
        var spec = spec
        if spec.logJson == nil { spec.logJson = (spec.out as NSString).appendingPathComponent("log.jsonl") }
        let trainer = try spec.makeTrainer(in: data)
        var lastSent = Date.distantPast
        // The evaluation events carry the epoch's mean training loss, for the per-epoch table.
        var epochLoss: (epoch: Int, sum: Double, count: Int) = (0, 0, 0)
        let root = data.root.hasSuffix("/") ? data.root : data.root + "/"
        let result = try trainer.run(resume: resume, onEvent: { event in
            switch event {
            case let .step(step, total, epoch, loss, rate, eta):
                if epoch != epochLoss.epoch { epochLoss = (epoch, 0, 0) }
                epochLoss.sum += Double(loss)
                epochLoss.count += 1
                guard step == total || Date().timeIntervalSince(lastSent) > 0.25 else { return }
                lastSent = Date()
                post(JobReply(reply: .progress(JobProgress(jobId: id, step: UInt32(clamping: step), totalSteps: UInt32(clamping: total), epoch: UInt32(clamping: epoch),
                                                            loss: loss, tokensPerSecond: rate, etaSeconds: eta))))
            case let .evaluation(step, epoch, loss, perplexity):
                post(JobReply(reply: .progress(JobProgress(jobId: id, step: UInt32(clamping: step), totalSteps: UInt32(clamping: trainer.totalSteps),
                                                            epoch: UInt32(clamping: epoch), loss: epochLoss.count > 0 && epochLoss.epoch == epoch ? Float(epochLoss.sum / Double(epochLoss.count)) : .nan,
                                                            eval: Evaluation(loss: loss, perplexity: perplexity)))))
            case let .checkpoint(path):
                let relative = path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path
                post(JobReply(reply: .progress(JobProgress(jobId: id, totalSteps: UInt32(clamping: trainer.totalSteps), checkpoint: relative))))
            case .resumed:
                break
            }
        }, shouldStop: { stopReason != nil })
        if result.stopped {
            finish(stopReason == .handBack ? .queued : .cancelled)
        } else {
            finish(.succeeded, result: (spec.out as NSString).appendingPathComponent("final"))
        }
    }
}
