import Foundation
import JobSpecs
import Messaging
import Wire

extension BrokerCore {
    func handleJobsRequest(from client: [UInt8], body: [UInt8]) {
        func reply(_ value: JobReply, final: Bool = true) { sendToClient(client, service: InternalService.jobs, body: value.wire(), final: final) }
        guard let request = try? JobRequest(wire: body) else {
            return replyError(to: client, service: InternalService.jobs, code: .malformed, "the request is not a JobRequest")
        }
        guard request.version == .v1 else {
            return replyError(to: client, service: InternalService.jobs, code: .badVersion, "protocol version \(request.version.rawValue) is not supported (this coordinator speaks 1)")
        }
        if storeReadOnly {
            switch request.request {
            case .submit, .cancel:
                // Temporary, like a full queue: the client may retry.
                return replyError(to: client, service: InternalService.jobs, code: .overloaded,
                                  "the job store cannot be written (is the coordinator's disk full?): jobs are read-only until it can; nothing was changed")
            default: break
            }
        }
        switch request.request {
        case let .submit(submit):
            let spec: JobSpec
            do {
                guard let received = try JobSpec(wire: submit) else {
                    return replyError(to: client, service: InternalService.jobs, code: .invalidArgument, "the submission holds no prepare or train specification", field: "spec")
                }
                spec = received
                switch spec {
                // Values only: whether the files exist is the worker's check (the coordinator
                // need not see the data volume).
                case let .prepare(prepare): try prepare.checkValues(in: data)
                case let .train(train): try train.checkValues(in: data)
                }
            } catch {
                return replyError(to: client, service: InternalService.jobs, code: .invalidArgument, error.description, field: error.field)
            }
            if case let .train(train) = spec, train.deploy, !caller.admin {
                // Deploying switches every generator: an admin's call, like switch_model.
                return replyError(to: client, service: InternalService.jobs, code: .permissionDenied,
                                  "--deploy switches the model for everyone: only an admin may", field: "deploy")
            }
            if let (field, reason) = outputConflict(spec) {
                return replyError(to: client, service: InternalService.jobs, code: .invalidArgument, reason, field: field)
            }
            var job = JobRecord(id: store.newId(), spec: spec)
            job.owner = caller.name
            do { try store.put(job) } catch {
                return replyError(to: client, service: InternalService.jobs, code: .internal, "could not store the job: \(error)")
            }
            logger.info("\(job.id) queued (\(job.kind))")
            reply(JobReply(reply: .status(status(of: job))))
        case let .status(id):
            guard let job = visibleJob(id) else { return replyError(to: client, service: InternalService.jobs, code: .notFound, "no job \(LogLimits.quote(id))") }
            reply(JobReply(reply: .status(status(of: job))))
        case let .cancel(id):
            guard var job = visibleJob(id) else { return replyError(to: client, service: InternalService.jobs, code: .notFound, "no job \(LogLimits.quote(id))") }
            if job.state == .queued {
                job.state = .cancelled
                job.error = "cancelled before it started"
                persist(job)
                finishFollowers(of: job)
            } else if job.state == .running && !job.cancelRequested {
                job.cancelRequested = true
                persist(job)
                if let worker = holder(of: id) {
                    let cancel = JobAssignment(version: .v1, jobId: id, attempt: UInt32(job.attempts), action: .cancel(true))
                    sendToWorker(worker.identity, .request, [Self.jobAddress(id), [], cancel.wire()])
                }
            }
            reply(JobReply(reply: .status(status(of: store.jobs[id]!))))
        case let .follow(id):
            guard let job = visibleJob(id) else { return replyError(to: client, service: InternalService.jobs, code: .notFound, "no job \(LogLimits.quote(id))") }
            if job.state.isFinished { return reply(JobReply(reply: .status(status(of: job)))) }
            followers[id, default: []].append(client)
            reply(JobReply(reply: .status(status(of: job))), final: false)
            if let progress = lastProgress[id] { reply(JobReply(reply: .progress(progress)), final: false) }
        case .list:
            reply(JobReply(reply: .list(JobList(jobs: store.order.compactMap(visibleJob).map(status(of:))))))
        case nil:
            replyError(to: client, service: InternalService.jobs, code: .invalidArgument, "the JobRequest names no request", field: "request")
        }
    }

    func handleStatusRequest(from client: [UInt8], body: [UInt8]) {
        guard let request = try? StatusRequest(wire: body) else {
            return replyError(to: client, service: InternalService.status, code: .malformed, "the request is not a StatusRequest")
        }
        guard request.version == .v1 else {
            return replyError(to: client, service: InternalService.status, code: .badVersion, "protocol version \(request.version.rawValue) is not supported (this coordinator speaks 1)")
        }
        var byService: [String: [WorkerHello]] = [:]
        for identity in workerOrder {
            let worker = workers[identity]!
            var hello = worker.hello
            // Which host runs what, and which job, is the operator's business.
            if !caller.admin {
                hello.host = ""
                hello.currentJob = ""
            }
            byService[worker.service, default: []].append(hello)
        }
        let services = byService.keys.sorted().map { WorkerStatus(service: $0, workers: byService[$0]!) }
        // Bounded whatever waits: running jobs first, then the oldest queued; the rest counted.
        let unfinished = store.unfinished.compactMap(visibleJob)
        let listed = (unfinished.filter { $0.state == .running } + unfinished.filter { $0.state != .running }).prefix(StatusReply.maxJobs)
        let reply = StatusReply(services: services, jobs: listed.map(status(of:)), jobsNotListed: UInt32(clamping: unfinished.count - listed.count))
        sendToClient(client, service: InternalService.status, body: reply.wire(), final: true)
    }

    /// A job the caller may see and act on: its own, or any for an admin. Anyone else's is
    /// answered as if it did not exist.
    func visibleJob(_ id: String) -> JobRecord? {
        guard let job = store.jobs[id], caller.admin || job.owner == caller.name else { return nil }
        return job
    }

    /// Each job writes a folder of its own. Refused: the data directory itself and the
    /// coordinator's folder; a log outside the job's `out`; an `out` (or a folder inside it, or
    /// one holding it) that another owner's job wrote or reads from, or that an unfinished job
    /// is writing. Admins may reuse any job's folder. (field, reason) when refused.
    func outputConflict(_ spec: JobSpec) -> (String, String)? {
        let out = Self.folder(spec.out)
        if out.isEmpty || out == "coordinator" || out.hasPrefix("coordinator/") {
            return ("out", "\(spec.out) is not a folder a job may write: name a folder of its own, e.g. runs/NAME")
        }
        if !caller.admin, !JobSpec.clientOutputFolders.contains(where: { out.hasPrefix($0 + "/") }) {
            return ("out", "\(spec.out): a job writes inside \(JobSpec.clientOutputFolders.map { $0 + "/" }.joined(separator: " or ")) (the rest of the data directory is the operator's)")
        }
        if case let .train(train) = spec, let log = train.logJson, !Self.folder(log).hasPrefix(out + "/") {
            return ("log-json", "\(log) is outside the job's --out \(spec.out): the log goes in the job's own folder")
        }
        func overlaps(_ path: String) -> Bool {
            let other = Self.folder(path)
            return !other.isEmpty && (other == out || other.hasPrefix(out + "/") || out.hasPrefix(other + "/"))
        }
        for id in store.order {
            let job = store.jobs[id]!
            let mine = job.owner == caller.name || caller.admin
            if overlaps(job.spec.out) && (!mine || !job.state.isFinished) {
                return ("out", "\(spec.out) is another job's output folder (\(mine ? "\(id), not finished" : "not yours")); choose another --out")
            }
            if !mine, !job.state.isFinished, job.spec.inputs.contains(where: overlaps) {
                return ("out", "\(spec.out) holds another user's job inputs; choose another --out")
            }
        }
        return nil
    }

    /// A relative path in one spelling, split as the kernel does (`..` never gets this far).
    static func folder(_ path: String) -> String { DataDirectory.normalized(path) }

    /// The folders queued or running prepare jobs will write (a train job reading one waits).
    func pendingPrepareOutputs() -> Set<String> {
        Set(store.unfinished.compactMap { id in
            if case let .prepare(spec) = store.jobs[id]!.spec { Self.folder(spec.out) } else { nil }
        })
    }

    func status(of job: JobRecord) -> JobStatus {
        let state: JobState = switch job.state {
        case .queued: .queued
        case .running: .running
        case .succeeded: .succeeded
        case .failed: .failed
        case .cancelled: .cancelled
        }
        return JobStatus(jobId: job.id, state: state, kind: job.kind, attempts: UInt32(job.attempts), worker: job.worker,
                         error: job.error, result: job.result, createdUnixMs: job.createdUnixMilliseconds,
                         updatedUnixMs: job.updatedUnixMilliseconds)
    }

    func persist(_ job: JobRecord) {
        if !store.update(job) {
            logger.critical("could not store \(job.id) durably (state \(job.state.rawValue)); a restart would not know it. Read-only until the store can be written")
            storeReadOnly = true
        }
    }

    /// What decides whether a queued job could start: the jobs, the job workers with free
    /// slots and the restart grace. While it stays the same, dispatching would find nothing to
    /// do, so the work per message does not grow with the jobs waiting (10,000 train jobs
    /// waiting on a prepare kept an idle coordinator at 72% CPU).
    struct JobDispatchState: Equatable {
        let revision: Int
        let freeWorkers: [[UInt8]]
        let inGrace: Bool
    }

    func jobDispatchState() -> JobDispatchState {
        JobDispatchState(revision: store.revision, freeWorkers: workerOrder.filter {
            let worker = workers[$0]!
            return Self.jobServices.contains(worker.service) && worker.freeSlots > 0
        }, inGrace: now < restoredGrace)
    }

    func dispatchJobs() {
        // A job started now could not be recorded as started.
        guard !storeReadOnly else { return }
        let state = jobDispatchState(), inGrace = state.inGrace
        guard state != lastJobDispatch else { return }
        defer { lastJobDispatch = jobDispatchState() }
        guard !state.freeWorkers.isEmpty else { return }
        let waitingForPrepare = pendingPrepareOutputs()
        for id in store.unfinished where store.jobs[id]!.state == .queued {
            if inGrace && restoredJobs.contains(id) { continue }
            var job = store.jobs[id]!
            if case let .train(spec) = job.spec, waitingForPrepare.contains(Self.folder(spec.data)) { continue }
            guard let worker = freeWorker(for: job.kind) else { continue }
            let assignment = JobAssignment(version: .v1, jobId: id, attempt: UInt32(job.attempts + 1), resume: job.started,
                                           action: .run(job.spec.wire))
            sendToWorker(worker.identity, .request, [Self.jobAddress(id), [], assignment.wire()])
            dispatchedJobs[id] = job
            job.state = .running
            job.attempts += 1
            job.started = true
            job.worker = worker.name
            persist(job)
            worker.assignments.append(.job(id))
            logger.info("\(id) started on \(worker.name) (attempt \(job.attempts) of \(configuration.maxAttempts)\(job.attempts > 1 ? ", resuming" : ""))")
        }
    }

    func handleJobReply(jobId: String, body: [UInt8], final: Bool) {
        guard var job = store.jobs[jobId], !job.state.isFinished else { return }
        guard let reply = try? JobReply(wire: body) else {
            logger.warning("a worker's reply for \(jobId) is not a JobReply")
            if final { jobLostWorker(jobId, worker: job.worker, reason: "its final reply was not a JobReply") }
            return
        }
        switch reply.reply {
        case let .progress(progress) where !final:
            lastProgress[jobId] = progress
            forward(JobReply(reply: .progress(progress)), to: jobId, final: false)
        case let .status(status) where final:
            lastProgress[jobId] = nil
            switch status.state {
            case .succeeded:
                job.state = .succeeded
                job.result = status.result
                job.error = ""
            case .cancelled:
                job.state = .cancelled
                job.error = "cancelled"
            case .queued:
                // Handed back (the worker is stopping): this run does not count as an attempt.
                job.state = job.cancelRequested ? .cancelled : .queued
                job.attempts = max(0, job.attempts - 1)
                job.worker = ""
            default:
                job.error = status.error
                job.worker = ""
                if job.cancelRequested {
                    job.state = .cancelled
                } else if !status.retryable || job.attempts >= configuration.maxAttempts {
                    job.state = .failed
                } else {
                    job.state = .queued
                }
            }
            persist(job)
            logger.info("\(jobId) \(job.state.rawValue)\(job.error.isEmpty ? "" : ": \(LogLimits.quote(job.error))")")
            if job.state.isFinished { finishFollowers(of: job) }
            if job.state == .succeeded { jobSucceeded(job) }
        default:
            if final {
                // The worker ended the exchange without a status (a refusal, a garbled reply):
                // the run is over, so the job goes back like one whose worker died.
                let reason: String
                if case let .error(error) = reply.reply { reason = "the worker refused it: \(error.message)" } else { reason = "no final status" }
                jobLostWorker(jobId, worker: job.worker, reason: reason)
            } else {
                logger.warning("an unexpected partial reply for \(jobId); dropped")
            }
        }
    }

    /// A worker died with the job: it goes back to the queue, or fails after the last attempt.
    func jobLostWorker(_ id: String, worker: String, reason: String) {
        guard var job = store.jobs[id], !job.state.isFinished else { return }
        job.worker = ""
        lastProgress[id] = nil
        if job.cancelRequested {
            job.state = .cancelled
            job.error = "cancelled (its worker \(worker) stopped: \(reason))"
        } else if job.attempts >= configuration.maxAttempts {
            job.state = .failed
            job.error = "worker \(worker) stopped (\(reason)) during attempt \(job.attempts) of \(configuration.maxAttempts)"
        } else {
            job.state = .queued
            job.error = "attempt \(job.attempts) lost with worker \(worker): \(reason)"
        }
        persist(job)
        logger.warning("\(id) \(job.state == .queued ? "requeued" : job.state.rawValue): worker \(worker) \(reason)")
        if job.state.isFinished { finishFollowers(of: job) }
    }

    func forward(_ reply: JobReply, to jobId: String, final: Bool) {
        guard let clients = followers[jobId] else { return }
        let body = reply.wire()
        for client in clients { sendToClient(client, service: InternalService.jobs, body: body, final: final) }
    }

    func finishFollowers(of job: JobRecord) {
        forward(JobReply(reply: .status(status(of: job))), to: job.id, final: true)
        followers[job.id] = nil
    }

    /// `--deploy`: the generators switch to the job's best model.
    func jobSucceeded(_ job: JobRecord) {
        guard case let .train(spec) = job.spec, spec.deploy else { return }
        logger.info("\(job.id): deploying \(job.result)")
        switchModel(from: nil, SwitchModelRequest(version: .v1, model: job.result))
    }
}
