import Foundation
import JobSpecs
import Logging
import Messaging
import Wire

/// The broker of the Majordomo pattern plus the job queue, without a socket: every input is a
/// message (`handle`), the passing of time (`tick`) or a peer found unreachable
/// (`unreachable`), each with the time it happened, and every output is the list of messages
/// to send. `Coordinator` is the thin ZeroMQ loop around it; the unit tests drive it with a
/// clock of their own. Not thread-safe: one loop owns it.
public final class BrokerCore {
    /// Services the system defines: requests to them wait for a worker instead of failing.
    public static let knownServices: Set<String> = ["tokenize", "generate", "prepare", "train"]
    static let jobServices: Set<String> = ["prepare", "train"]

    /// Where a peer is connected: clients and workers are different principals, on different
    /// endpoints (sockets), so a client connection can never speak as a worker.
    public enum Channel: Sendable, Equatable {
        /// Clients; `admins` is the operator's own endpoint (a Unix socket in the data folder).
        case clients, admins, workers

        /// The first byte of a client's address inside the core: replies go back on the socket
        /// the request came from, and equal routing ids of two sockets stay apart.
        var clientTag: UInt8 { self == .admins ? 2 : 1 }
    }

    /// Who a request comes from: a CurveZMQ key (with its role), the operator's endpoint, or
    /// without CurveZMQ the connection itself. Jobs and requests belong to their submitter;
    /// admins act on everyone's.
    public struct Principal: Sendable, Equatable {
        public let name: String
        public let admin: Bool

        public init(name: String, admin: Bool) {
            self.name = name
            self.admin = admin
        }

        /// From the User-Id the ZAP handler gave the connection (`role:key`), or the channel
        /// and the connection when there is none.
        init(userId: String, channel: Channel, routingId: [UInt8]) {
            if channel == .admins {
                self.init(name: "operator", admin: true)
            } else if userId.hasPrefix("admin:") {
                self.init(name: String(userId.dropFirst(6)), admin: true)
            } else if userId.hasPrefix("client:") {
                self.init(name: String(userId.dropFirst(7)), admin: false)
            } else {
                self.init(name: "connection:" + routingId.map { String(format: "%02x", $0) }.joined(), admin: false)
            }
        }

        public static let coordinator = Principal(name: "coordinator", admin: true)
    }

    /// A message to send on a channel's ROUTER socket: the peer's routing id, then the frames.
    public struct Message: Sendable, Equatable {
        public let channel: Channel
        public let frames: [[UInt8]]

        public init(_ channel: Channel, _ frames: [[UInt8]]) {
            self.channel = channel
            self.frames = frames
        }
    }

    struct PendingRequest {
        let client: [UInt8]
        let service: String
        let body: [UInt8]
        /// When it arrived (milliseconds of the broker's clock).
        let received: UInt64
        /// Who sent it (only they, or an admin, may cancel it).
        var owner = ""
        var attempts = 0
        /// Generation requests: the client's id, for cancels.
        var requestId = ""
        /// Some partial reply reached the client: the request cannot be replayed elsewhere.
        var streamed = false
    }

    /// A model switch sent to every generator; the client gets one answer when all replied.
    struct Broadcast {
        let client: [UInt8]?
        var waiting: Set<[UInt8]>
        var reply: [UInt8]?
        var error: [UInt8]?
    }

    enum Assignment {
        case request(PendingRequest)
        case job(String)
    }

    final class WorkerEntry {
        let identity: [UInt8]
        var hello: WorkerHello
        var expiry: UInt64
        var assignments: [Assignment] = []
        var busyReported = 0

        init(identity: [UInt8], hello: WorkerHello, expiry: UInt64) {
            self.identity = identity
            self.hello = hello
            self.expiry = expiry
        }

        var service: String { hello.service }
        /// Set at registration when the worker gave no id: a routing id is never shown (seeing
        /// one would let a peer guess the next ones libzmq hands out).
        var anonymousName = ""
        var name: String { hello.workerId.isEmpty ? anonymousName : hello.workerId }
        /// What the worker's heartbeats say it is busy with counts too (a job it kept running
        /// across a reconnect, requests from direct clients).
        var freeSlots: Int { leaving ? 0 : max(1, Int(hello.capacity)) - max(assignments.count, busyReported) }
        /// Said it is stopping (it handed its job back).
        var leaving = false
    }

    public let configuration: CoordinatorConfiguration
    let logger: Logger
    let store: JobStore
    let data: DataDirectory
    /// The time of the input being handled (milliseconds of a monotonic clock).
    private(set) var now: UInt64
    /// Who sent the input being handled.
    var caller = Principal.coordinator
    /// What handling the current input decided to send.
    private var outbox: [Message] = []
    var nextHeartbeat: UInt64
    var workers: [[UInt8]: WorkerEntry] = [:]
    /// Registration order: among equally loaded workers, the longest registered gets the request.
    var workerOrder: [[UInt8]] = []
    var queues: [String: [PendingRequest]] = [:]
    var followers: [String: [[UInt8]]] = [:]
    var lastProgress: [String: JobProgress] = [:]
    var broadcasts: [Int: Broadcast] = [:]
    /// Jobs that were running when the previous coordinator stopped: their workers get a few
    /// heartbeats to report them before anyone else may start them again.
    var restoredJobs: Set<String> = []
    let restoredGrace: UInt64
    var nextBroadcast = 0
    var anonymousWorkers = 0
    /// Jobs dispatched while handling the current input, as they were before: an assignment the
    /// transport then fails to deliver is undone, not charged as an attempt.
    var dispatchedJobs: [String: JobRecord] = [:]
    /// Old service names already warned about (once each).
    var warnedRenamed: Set<String> = []
    /// Messages refused because they came on the other side's endpoint.
    public internal(set) var refusedRole = 0
    var nextRoleLog: UInt64 = 0
    /// Worker reports on jobs the worker does not hold (or may not adopt), refused.
    public internal(set) var refusedReports = 0
    var nextRefusalLog: UInt64 = 0
    /// Frames that could not be parsed at all and were dropped (see service.proto).
    public private(set) var droppedFrames = 0
    /// Replies dropped because their client's queue was full (it does not read).
    public internal(set) var slowClientDrops = 0
    /// The job store refused a write (a full disk): no job state changes until a probe
    /// succeeds again (`tick`), so nothing runs that a restart would not know of.
    public internal(set) var storeReadOnly = false
    var nextStoreProbe: UInt64 = 0
    static let storeProbeMilliseconds: UInt64 = 5000
    /// The job dispatch state last looked at (see `dispatchJobs`).
    var lastJobDispatch: JobDispatchState?
    /// Log lines a peer can cause at will are written at most once a second per kind.
    var logLimiter = LogRateLimiter()

    public init(configuration: CoordinatorConfiguration, store: JobStore, logger: Logger, now: UInt64) throws {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.now = now
        nextHeartbeat = now
        data = DataDirectory(root: configuration.dataDirectory)
        // Jobs that were running when the previous coordinator stopped wait for their worker to
        // come back (it reports them in READY) or for a free one.
        // On a full disk this cannot be stored: the coordinator starts all the same, read-only
        // (see `storeReadOnly`), and says so.
        for id in store.order where store.jobs[id]!.state == .running {
            var job = store.jobs[id]!
            job.state = .queued
            job.worker = ""
            if !store.update(job) { storeReadOnly = true }
            restoredJobs.insert(id)
        }
        if storeReadOnly || !store.probeWritable() {
            storeReadOnly = true
            logger.critical("the job store \(store.path) cannot be written (is the disk full?): running read-only. Jobs are listed but none is submitted, cancelled or started; generation and tokenizing go on. Checked again every \(Self.storeProbeMilliseconds / 1000) s")
        }
        restoredGrace = now + UInt64(2 * Majordomo.liveness * configuration.heartbeatMilliseconds)
    }

    /// A message from a peer on `channel` (its routing id first).
    public func handle(_ frames: [[UInt8]], from channel: Channel, userId: String = "", now: UInt64) -> [Message] {
        self.now = max(self.now, now)
        dispatchedJobs = [:]
        caller = Principal(userId: userId, channel: channel, routingId: frames.first ?? [])
        defer { caller = .coordinator }
        handle(frames, from: channel)
        dispatch()
        return takeOutbox()
    }

    /// Time passed: heartbeats when one is due, expiry of silent workers and of requests that
    /// waited too long for a worker, then dispatch. Call it at least every heartbeat.
    public func tick(now: UInt64) -> [Message] {
        self.now = max(self.now, now)
        dispatchedJobs = [:]
        if storeReadOnly && self.now >= nextStoreProbe {
            nextStoreProbe = self.now + Self.storeProbeMilliseconds
            if store.probeWritable() {
                storeReadOnly = false
                lastJobDispatch = nil
                logger.notice("the job store \(store.path) can be written again: jobs are submitted and started again")
            }
        }
        if self.now >= nextHeartbeat {
            heartbeatWorkers()
            purgeExpiredWorkers()
            expireWaitingRequests()
            nextHeartbeat = self.now + UInt64(configuration.heartbeatMilliseconds)
        }
        dispatch()
        return takeOutbox()
    }

    /// `message` (to its first frame's peer) could not be sent: the peer is `gone` (no such
    /// connection any more) or too slow to keep up (its queue is full). A worker is removed and
    /// its work given to others, except that work in the undelivered message itself goes back
    /// as if never sent; a client stops following jobs and its generations are cancelled, and
    /// one that is gone loses its waiting requests too.
    public func unreachable(_ message: Message, gone: Bool, now: UInt64) -> [Message] {
        self.now = max(self.now, now)
        guard let peer = message.frames.first else { return [] }
        if message.channel == .workers {
            if let worker = workers[peer] {
                takeBackUndelivered(message.frames, from: worker)
                removeWorker(peer, reason: gone ? "unreachable" : "not reading its messages")
            }
        } else {
            if !gone {
                slowClientDrops += 1
                let (write, leftOut) = logLimiter.admit("slow client", now: now)
                if write {
                    logger.warning("a client is not reading its replies (\(Coordinator.clientQueueLimit) wait for it): a reply to it was dropped and its streams stopped (replies dropped so far: \(slowClientDrops)\(leftOut > 0 ? ", \(leftOut) not logged" : ""))")
                }
            }
            clientVanished([message.channel.clientTag] + peer, dropWaiting: gone)
        }
        dispatch()
        return takeOutbox()
    }

    /// An assignment that never left: the job is as it was before the dispatch, a request goes
    /// back to the front of its queue, neither counted as an attempt.
    private func takeBackUndelivered(_ message: [[UInt8]], from worker: WorkerEntry) {
        guard message.count >= 7, message[2] == Majordomo.workerHeader, message[3] == [Majordomo.WorkerCommand.request.rawValue] else { return }
        let address = message[4], body = message[6]
        if let jobId = Self.jobId(fromAddress: address), let before = dispatchedJobs.removeValue(forKey: jobId) {
            worker.assignments.removeAll { if case .job(jobId) = $0 { true } else { false } }
            persist(before)
            logger.info("\(jobId) could not be sent to \(worker.name); queued again")
        } else if let index = worker.assignments.firstIndex(where: {
            if case let .request(r) = $0 { r.client == address && r.body == body && !r.streamed } else { false }
        }), case let .request(request) = worker.assignments[index] {
            worker.assignments.remove(at: index)
            queues[request.service, default: []].insert(request, at: 0)
        }
    }

    /// Stopping: every worker is told to disconnect.
    public func shutdown() -> [Message] {
        for identity in workerOrder { sendToWorker(identity, .disconnect) }
        return takeOutbox()
    }

    private func takeOutbox() -> [Message] {
        defer { outbox = [] }
        return outbox
    }

    // MARK: frames

    func handle(_ frames: [[UInt8]], from channel: Channel) {
        guard frames.count >= 4, frames[1].isEmpty else { return drop(frames, "no empty delimiter frame") }
        let header = frames[2]
        let sender = channel == .workers ? frames[0] : [channel.clientTag] + frames[0]
        // Each endpoint speaks one side of the protocol: a worker command on the client
        // endpoint (a client posing as a worker) or a request on the worker endpoint is refused.
        if (channel != .workers && header == Majordomo.workerHeader) || (channel == .workers && header != Majordomo.workerHeader) {
            refusedRole += 1
            if now >= nextRoleLog {
                logger.warning("refused a \(channel != .workers ? "worker command on the client" : "non-worker message on the worker") endpoint (refused so far: \(refusedRole)); workers connect to the worker endpoint, clients to the client one")
                nextRoleLog = now + 1000
            }
            return
        }
        if header == Majordomo.clientHeader {
            guard frames.count >= 6, frames[3] == [Majordomo.ClientCommand.request.rawValue] else {
                return drop(frames, "a client message that is not a REQUEST with service and body")
            }
            guard frames[4].count <= Majordomo.maxServiceNameBytes else {
                return replyError(to: sender, service: "", code: .malformed,
                                  "a service name has at most \(Majordomo.maxServiceNameBytes) bytes; this one has \(frames[4].count)")
            }
            let service = String(decoding: frames[4], as: UTF8.self)
            handleClientRequest(from: sender, service: service, body: frames[5])
        } else if header == Majordomo.workerHeader {
            guard frames[3].count == 1, let command = Majordomo.WorkerCommand(rawValue: frames[3][0]) else {
                return drop(frames, "an unknown worker command")
            }
            handleWorker(sender, command, Array(frames[4...]))
        } else if header.starts(with: Array("MDPC".utf8)) {
            let service = frames.count > 4 && frames[4].count <= Majordomo.maxServiceNameBytes ? String(decoding: frames[4], as: UTF8.self) : ""
            replyError(to: sender, service: service, code: .badVersion,
                       "this broker speaks MDPC02 (Majordomo 0.2); the request said \(LogLimits.quote(bytes: header))")
        } else {
            drop(frames, "an unknown protocol header")
        }
    }

    func drop(_ frames: [[UInt8]], _ reason: String) {
        droppedFrames += 1
        let (write, leftOut) = logLimiter.admit("drop", now: now)
        guard write else { return }
        logger.warning("dropped a message of \(frames.count) frame(s): \(reason) (dropped so far: \(droppedFrames)\(leftOut > 0 ? "; \(leftOut) not logged" : ""))")
    }

    /// The most a request body for `service` may have: what the service can use. The broker
    /// decodes the bodies of its own services and of `generate` (to route cancels and model
    /// switches), so those are held to their size before any decoding; other services' bodies
    /// travel to their workers up to `maxMessageBytes`.
    func maxBodyBytes(for service: String) -> Int {
        switch service {
        case InternalService.status: 4 << 10
        case InternalService.jobs: 1 << 20
        case "generate": min(configuration.maxMessageBytes, GenerateRequest.maxBodyBytes)
        default: configuration.maxMessageBytes
        }
    }

    func handleClientRequest(from client: [UInt8], service: String, body: [UInt8]) {
        let maxBody = maxBodyBytes(for: InternalService.renamed[service] ?? service)
        if body.count > maxBody {
            return replyError(to: client, service: service, code: .tooLarge,
                              "the request has \(body.count) bytes; this broker accepts at most \(maxBody) for '\(LogLimits.quote(service))'")
        }
        switch service {
        case InternalService.jobs: return handleJobsRequest(from: client, body: body)
        case InternalService.status: return handleStatusRequest(from: client, body: body)
        case _ where InternalService.renamed[service] != nil:
            // Earlier versions' clients (a rolling upgrade, an old CLI in a probe) still work,
            // for this release; the log says what to change.
            let current = InternalService.renamed[service]!
            if warnedRenamed.insert(service).inserted {
                logger.warning("a client used service '\(service)', now '\(current)'; the old name will stop working in a later version")
            }
            return handleClientRequest(from: client, service: current, body: body)
        case _ where service.hasPrefix(InternalService.namespace):
            return replyError(to: client, service: service, code: .unknownService,
                              "the coordinator has no service '\(LogLimits.quote(service))' (its own: \(InternalService.jobs), \(InternalService.status))")
        case _ where Self.jobServices.contains(service):
            return replyError(to: client, service: service, code: .invalidArgument,
                              "'\(service)' workers take jobs from the coordinator: submit them to service '\(InternalService.jobs)'")
        default: break
        }
        let registered = workers.values.contains { $0.service == service }
        guard registered || Self.knownServices.contains(service) else {
            return replyError(to: client, service: service, code: .unknownService,
                              "no worker has registered service '\(LogLimits.quote(service))' (services: \(InternalService.jobs), \(InternalService.status), \(Self.knownServices.sorted().joined(separator: ", ")))")
        }
        var request = PendingRequest(client: client, service: service, body: body, received: now, owner: caller.name)
        if service == "generate" {
            // Decoded here anyway (to route cancels and switches): one that cannot be is
            // answered now, not queued for a generator that would say the same.
            let call: GeneratorCall
            do { call = try GeneratorCall(wire: body) } catch {
                return replyError(to: client, service: service, code: .malformed, "the request is not a GeneratorCall: \(error)")
            }
            switch call.call {
            case let .cancel(cancel): return cancelGeneration(from: client, cancel)
            case let .switchModel(switchModel): return self.switchModel(from: client, switchModel)
            case let .generate(generate): request.requestId = generate.requestId
            case nil: break
            }
        }
        if let refusal = queueRefusal(for: request) {
            return replyError(to: client, service: service, code: .overloaded, refusal)
        }
        queues[service, default: []].append(request)
    }

    /// Why `request` may not wait here (nil: it may). Whether or not a worker is registered, a
    /// request that cannot start at once counts against its service's queue length, the
    /// client's bytes and everyone's bytes.
    func queueRefusal(for request: PendingRequest) -> String? {
        guard freeWorker(for: request.service) == nil else { return nil }
        let service = LogLimits.quote(request.service)
        if queues[request.service, default: []].count >= configuration.maxQueuedRequests {
            return "\(configuration.maxQueuedRequests) requests for '\(service)' already wait for a worker; retry later"
        }
        var total = 0, owners = 0
        for queue in queues.values {
            for waiting in queue {
                total += waiting.body.count
                if waiting.owner == request.owner { owners += waiting.body.count }
            }
        }
        if owners + request.body.count > configuration.maxQueuedBytesPerClient {
            return "your requests waiting here would hold \(owners + request.body.count) bytes; one client may have \(configuration.maxQueuedBytesPerClient) waiting: retry when some are answered"
        }
        if total + request.body.count > configuration.maxQueuedBytes {
            return "the requests waiting here would hold \(total + request.body.count) bytes, over the coordinator's \(configuration.maxQueuedBytes); retry later"
        }
        return nil
    }

    // MARK: sending (into the outbox; the transport reports what it could not deliver)

    /// `client`: the core's address of a client (its channel's tag, then its routing id).
    func sendToClient(_ client: [UInt8], service: String, body: [UInt8], final: Bool) {
        let command: Majordomo.ClientCommand = final ? .final : .partial
        let channel: Channel = client.first == Channel.admins.clientTag ? .admins : .clients
        outbox.append(Message(channel, [Array(client.dropFirst()), [], Majordomo.clientHeader, [command.rawValue], Array(service.utf8), body]))
    }

    func replyError(to client: [UInt8], service: String, code: ErrorCode, _ message: String, field: String = "") {
        let (write, leftOut) = logLimiter.admit("error \(code)", now: now)
        if write {
            logger.info("error \(code) to a client of '\(LogLimits.quote(service))': \(LogLimits.quote(message))\(leftOut > 0 ? " (and \(leftOut) more not logged)" : "")")
        }
        sendToClient(client, service: service, body: ErrorReply.wire(code: code, message: message, field: field), final: true)
    }

    func sendToWorker(_ identity: [UInt8], _ command: Majordomo.WorkerCommand, _ rest: [[UInt8]] = []) {
        outbox.append(Message(.workers, [identity, [], Majordomo.workerHeader, [command.rawValue]] + rest))
    }
}
