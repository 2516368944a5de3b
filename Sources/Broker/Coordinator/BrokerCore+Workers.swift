import Foundation
import Messaging
import Wire

extension BrokerCore {
    static let jobAddressPrefix: [UInt8] = [0] + Array("job:".utf8)

    /// The reply address of a job: libzmq never gives a peer a routing id that starts with a
    /// zero byte and is this long, so no client can pose as a job.
    static func jobAddress(_ id: String) -> [UInt8] { jobAddressPrefix + Array(id.utf8) }

    static func jobId(fromAddress address: [UInt8]) -> String? {
        guard address.starts(with: jobAddressPrefix) else { return nil }
        return String(decoding: address.dropFirst(jobAddressPrefix.count), as: UTF8.self)
    }

    var expiry: UInt64 { now + UInt64(Majordomo.liveness * configuration.heartbeatMilliseconds) }

    func handleWorker(_ identity: [UInt8], _ command: Majordomo.WorkerCommand, _ rest: [[UInt8]]) {
        let worker = workers[identity]
        worker?.expiry = expiry
        switch command {
        case .ready:
            guard worker == nil else {
                // A second READY on one connection breaks the protocol: start over.
                logger.warning("worker \(worker!.name) sent READY twice; disconnecting it")
                removeWorker(identity, reason: "protocol error")
                sendToWorker(identity, .disconnect)
                return
            }
            guard rest.count >= 2, rest[1].count <= Self.maxHelloBytes, let hello = try? WorkerHello(wire: rest[1]), hello.version == .v1,
                  hello.service == String(decoding: rest[0], as: UTF8.self), !hello.service.isEmpty else {
                return refuseWorker(identity, "a worker's READY was malformed, over \(Self.maxHelloBytes) bytes or of another protocol version")
            }
            if let problem = Self.helloProblem(hello) {
                return refuseWorker(identity, "a worker's READY was refused: \(problem)")
            }
            guard !hello.service.hasPrefix(InternalService.namespace), InternalService.renamed[hello.service] == nil else {
                logger.warning("a worker tried to register '\(hello.service)', a name of the coordinator's own; disconnecting it")
                sendToWorker(identity, .disconnect)
                return
            }
            register(identity, hello)
        case .heartbeat:
            guard let worker else { sendToWorker(identity, .disconnect); return }
            if let body = rest.first, body.count <= Self.maxHelloBytes, let beat = try? Heartbeat(wire: body) {
                worker.busyReported = Int(min(beat.busy, 1 << 20))
            }
        case .partial, .final:
            guard rest.count >= 3 else { return drop(rest, "a worker reply without client address and body") }
            handleWorkerReply(worker: worker, identity: identity, client: rest[0], body: rest[2], final: command == .final)
        case .disconnect:
            if let worker { removeWorker(identity, reason: "\(worker.name) left") }
        case .request:
            drop(rest, "a worker sent REQUEST")
        }
    }

    /// What a worker's READY may hold: everyone's `status` lists it (five workers with 15 MB
    /// hellos made the readiness probe fail for all).
    static let maxHelloBytes = 16 << 10
    static var helloFieldLimits: [(String, KeyPath<WorkerHello, String>, Int)] {[
        ("service", \.service, Majordomo.maxServiceNameBytes), ("worker_id", \.workerId, 128), ("host", \.host, 255),
        ("model", \.model, 1024), ("current_job", \.currentJob, 128),
    ]}
    static let maxWorkerCapacity: UInt32 = 4096

    static func helloProblem(_ hello: WorkerHello) -> String? {
        for (name, field, limit) in helloFieldLimits where hello[keyPath: field].utf8.count > limit {
            return "\(name) has \(hello[keyPath: field].utf8.count) bytes (at most \(limit))"
        }
        if hello.capacity > maxWorkerCapacity { return "capacity \(hello.capacity) (at most \(maxWorkerCapacity))" }
        return nil
    }

    func refuseWorker(_ identity: [UInt8], _ reason: String) {
        let (write, leftOut) = logLimiter.admit("refused worker", now: now)
        if write { logger.warning("\(reason); disconnecting it\(leftOut > 0 ? " (\(leftOut) more not logged)" : "")") }
        sendToWorker(identity, .disconnect)
    }

    func register(_ identity: [UInt8], _ hello: WorkerHello) {
        let entry = WorkerEntry(identity: identity, hello: hello, expiry: expiry)
        if hello.workerId.isEmpty {
            anonymousWorkers += 1
            entry.anonymousName = "\(hello.service)-worker-\(anonymousWorkers)"
        }
        // Still busy with a job of its own: no new work until a heartbeat says otherwise.
        if !hello.currentJob.isEmpty { entry.busyReported = 1 }
        workers[identity] = entry
        workerOrder.append(identity)
        // A worker that kept running a job while it was cut off (or while the coordinator
        // restarted) reports it here: it keeps the job if the job is of its kind, was started,
        // and nobody else took it over. Anything else it is told to drop.
        if !hello.currentJob.isEmpty, let job = store.jobs[hello.currentJob] {
            if job.kind == hello.service && job.started && !job.state.isFinished && holder(of: job.id) == nil {
                adopt(job.id, by: entry)
            } else {
                let why = job.kind != hello.service ? "a \(job.kind) job" : !job.started ? "a job never started" :
                    job.state.isFinished ? job.state.rawValue : "running elsewhere"
                refusedReport("worker \(entry.name) (\(hello.service)) claims \(job.id), \(why): cancelling its copy")
                let cancel = JobAssignment(version: .v1, jobId: job.id, action: .cancel(true))
                sendToWorker(identity, .request, [Self.jobAddress(job.id), [], cancel.wire()])
            }
        }
        logger.info("worker \(entry.name) registered for service '\(hello.service)' (capacity \(max(1, hello.capacity)), host \(hello.host))")
    }

    func handleWorkerReply(worker: WorkerEntry?, identity: [UInt8], client: [UInt8], body: [UInt8], final: Bool) {
        if let number = Self.broadcastNumber(fromAddress: client) {
            guard let worker else { return }
            return handleBroadcastReply(number, from: worker, body: body)
        }
        if let jobId = Self.jobId(fromAddress: client) {
            // Only the job's holder speaks for it: a worker that was cut off and replaced must
            // not finish (or cancel) the job the replacement is running. A registered worker
            // answering for a job nobody holds (the coordinator restarted) takes it back.
            // Only the job's holder speaks for it. A connection not registered (the coordinator
            // restarted) registers again first, reporting its job in READY, which adopts it.
            guard let worker else {
                sendToWorker(identity, .disconnect)
                return
            }
            guard holder(of: jobId) === worker else {
                return refusedReport("worker \(worker.name) (\(worker.service)) reported on \(jobId), which it does not hold; ignored")
            }
            if final {
                worker.assignments.removeAll { if case .job(jobId) = $0 { true } else { false } }
                // A job handed back means its worker is stopping: send it nothing more.
                if case let .status(status) = (try? JobReply(wire: body))?.reply, status.state == .queued, status.error != "busy" {
                    worker.leaving = true
                }
            }
            return handleJobReply(jobId: jobId, body: body, final: final)
        }
        guard let worker else { sendToWorker(identity, .disconnect); return }
        // One connection may have several requests at a worker: a generator's replies name
        // theirs (request_id), so the right one is finished or marked as streamed, and a dead
        // generator's unstarted requests are the ones replayed. Other services answer in order.
        let replyId = worker.service == "generate" ? (try? GenerateEvent(wire: body))?.requestId : nil
        func held(_ assignment: Assignment, byId: Bool) -> Bool {
            guard case let .request(r) = assignment, r.client == client else { return false }
            return !byId || r.requestId == replyId
        }
        guard let index = worker.assignments.firstIndex(where: { held($0, byId: true) }) ?? worker.assignments.firstIndex(where: { held($0, byId: false) }),
              case var .request(request) = worker.assignments[index] else {
            logger.warning("worker \(worker.name) answered a request it does not hold; dropped")
            return
        }
        if final {
            worker.assignments.remove(at: index)
        } else if replyId != nil {
            request.streamed = true
            worker.assignments[index] = .request(request)
        } else {
            // Without ids a partial cannot be told apart: mark all of the connection's requests,
            // so that none that may have streamed is ever replayed.
            for i in worker.assignments.indices {
                if case var .request(other) = worker.assignments[i], other.client == client {
                    other.streamed = true
                    worker.assignments[i] = .request(other)
                }
            }
        }
        sendToClient(client, service: request.service, body: body, final: final)
    }

    /// A client a reply could not reach: it follows no job any more, generators stop work for
    /// it, and when it is gone (not merely slow) its waiting requests are dropped.
    func clientVanished(_ client: [UInt8], dropWaiting: Bool) {
        for id in followers.keys { followers[id]!.removeAll { $0 == client } }
        if dropWaiting {
            for service in queues.keys { queues[service]!.removeAll { $0.client == client } }
        }
        for identity in workerOrder {
            let worker = workers[identity]!
            let served = worker.assignments.contains { if case let .request(r) = $0 { r.client == client } else { false } }
            guard served else { continue }
            logger.info("a client of '\(worker.service)' is gone")
            worker.assignments.removeAll { if case let .request(r) = $0 { r.client == client } else { false } }
            if worker.service == "generate" {
                let call = GeneratorCall(call: .cancel(CancelRequest(version: .v1, requestId: "")))
                sendToWorker(identity, .request, [client, [], call.wire()])
            }
        }
    }

    /// A worker's report on a job it may not speak for: refused, and logged (at most once a
    /// second, with a count, so a flood cannot fill the log).
    func refusedReport(_ message: String) {
        refusedReports += 1
        if now >= nextRefusalLog {
            logger.warning("\(message) (refused reports so far: \(refusedReports))")
            nextRefusalLog = now + 1000
        }
    }

    /// The worker running a job, if any.
    func holder(of jobId: String) -> WorkerEntry? {
        workers.values.first { $0.assignments.contains { if case .job(jobId) = $0 { true } else { false } } }
    }

    func adopt(_ jobId: String, by worker: WorkerEntry) {
        guard var job = store.jobs[jobId] else { return }
        restoredJobs.remove(jobId)
        job.state = .running
        job.worker = worker.name
        persist(job)
        worker.assignments.append(.job(jobId))
        logger.info("worker \(worker.name) is still running \(jobId): it keeps it")
    }

    func heartbeatWorkers() {
        for identity in workerOrder { sendToWorker(identity, .heartbeat) }
    }

    func purgeExpiredWorkers() {
        for identity in workerOrder where workers[identity]!.expiry < now {
            removeWorker(identity, reason: "no heartbeat for \(Majordomo.liveness * configuration.heartbeatMilliseconds) ms")
        }
    }

    /// Forgets a worker and gives its work to others: requests go back to the front of their
    /// queue, jobs back to the job queue (or to failed, after the last attempt).
    func removeWorker(_ identity: [UInt8], reason: String) {
        guard let worker = workers.removeValue(forKey: identity) else { return }
        workerOrder.removeAll { $0 == identity }
        logger.warning("worker \(worker.name) of '\(worker.service)' removed: \(reason)")
        for number in broadcasts.keys where broadcasts[number]!.waiting.contains(identity) {
            broadcasts[number]!.waiting.remove(identity)
            finishBroadcastIfDone(number)
        }
        for assignment in worker.assignments.reversed() {
            switch assignment {
            case var .request(request):
                request.attempts += 1
                if request.streamed {
                    replyError(to: request.client, service: request.service, code: .internal,
                               "the worker serving this request stopped in the middle of its stream (\(reason)); send it again")
                } else if request.attempts >= configuration.maxAttempts {
                    replyError(to: request.client, service: request.service, code: .internal,
                               "\(request.attempts) workers of '\(request.service)' failed while serving this request; giving up")
                } else {
                    queues[request.service, default: []].insert(request, at: 0)
                }
            case let .job(id):
                jobLostWorker(id, worker: worker.name, reason: reason)
            }
        }
    }

    func expireWaitingRequests() {
        let limit = UInt64(configuration.serviceWaitMilliseconds)
        for (service, queue) in queues where !queue.isEmpty {
            guard !workers.values.contains(where: { $0.service == service }) else { continue }
            let (expired, kept) = (queue.filter { now - $0.received > limit }, queue.filter { now - $0.received <= limit })
            queues[service] = kept
            for request in expired {
                replyError(to: request.client, service: service, code: .unknownService,
                           "no worker of service '\(service)' registered within \(configuration.serviceWaitMilliseconds) ms")
            }
        }
    }

    /// The least loaded worker of a service with a free slot (the longest registered on ties).
    func freeWorker(for service: String) -> WorkerEntry? {
        var best: WorkerEntry?
        for identity in workerOrder {
            let worker = workers[identity]!
            guard worker.service == service, worker.freeSlots > 0 else { continue }
            if best == nil || worker.assignments.count < best!.assignments.count { best = worker }
        }
        return best
    }

    func dispatch() {
        for service in queues.keys {
            while !(queues[service]!.isEmpty), let worker = freeWorker(for: service) {
                let request = queues[service]!.removeFirst()
                sendToWorker(worker.identity, .request, [request.client, [], request.body])
                worker.assignments.append(.request(request))
            }
        }
        dispatchJobs()
    }
}
