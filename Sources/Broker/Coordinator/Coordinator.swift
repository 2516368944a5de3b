import Foundation
import JobSpecs
import Logging
import Messaging
import Wire

public struct CoordinatorConfiguration: Sendable {
    /// Where clients and workers connect (loopback unless told otherwise).
    public var endpoints = [CoordinatorEndpoint.local]
    /// The folder every worker shares; jobs name paths relative to it.
    public var dataDirectory: String
    /// The durable job store, SQLite (default: <data>/coordinator/jobs.db).
    public var storePath: String
    public var maxAttempts = 3
    public var maxMessageBytes = Majordomo.defaultMaxMessageBytes
    /// How long a request to a known service without a live worker waits for one.
    public var serviceWaitMilliseconds = 10_000
    public var heartbeatMilliseconds = Majordomo.heartbeatMilliseconds
    /// Requests a service's busy workers leave waiting here; past it: OVERLOADED.
    public var maxQueuedRequests = 64
    /// CurveZMQ: the coordinator's keys and the client keys it accepts (nil: no encryption).
    public var curve: CurveKeys?
    public var allowedClientKeys: [String] = []

    public init(dataDirectory: String, storePath: String? = nil) {
        self.dataDirectory = dataDirectory
        self.storePath = storePath ?? (dataDirectory as NSString).appendingPathComponent("coordinator/jobs.db")
    }
}

/// The broker of the Majordomo pattern plus the job queue: clients address services by name,
/// workers register and heartbeat, and prepare/train jobs wait in a durable store until a
/// worker of their kind is free. Single-threaded: one loop owns every piece of state.
public final class Coordinator {
    /// Services the system defines: requests to them wait for a worker instead of failing.
    public static let knownServices: Set<String> = ["tokenize", "generate", "prepare", "train"]
    static let jobServices: Set<String> = ["prepare", "train"]

    struct PendingRequest {
        let client: [UInt8]
        let service: String
        let body: [UInt8]
        let received: DispatchTime
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
        var expiry: DispatchTime
        var assignments: [Assignment] = []
        var busyReported = 0

        init(identity: [UInt8], hello: WorkerHello, expiry: DispatchTime) {
            self.identity = identity
            self.hello = hello
            self.expiry = expiry
        }

        var service: String { hello.service }
        var name: String { hello.workerId.isEmpty ? identity.map { String(format: "%02x", $0) }.joined() : hello.workerId }
        /// What the worker's heartbeats say it is busy with counts too (a job it kept running
        /// across a reconnect, requests from direct clients).
        var freeSlots: Int { leaving ? 0 : max(1, Int(hello.capacity)) - max(assignments.count, busyReported) }
        /// Said it is stopping (it handed its job back).
        var leaving = false
    }

    public let configuration: CoordinatorConfiguration
    let logger: Logger
    let context: ZMQContext
    let socket: ZMQSocket
    let store: JobStore
    let data: DataDirectory
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
    var restoredGrace = DispatchTime.now()
    var nextBroadcast = 0
    /// Old service names already warned about (once each).
    var warnedRenamed: Set<String> = []
    var zapHandler: ZAPHandler?
    /// Frames that could not be parsed at all and were dropped (see service.proto).
    public private(set) var droppedFrames = 0
    public private(set) var boundEndpoints: [String] = []

    public init(configuration: CoordinatorConfiguration, context: ZMQContext, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.context = context
        data = DataDirectory(root: configuration.dataDirectory)
        store = try JobStore(path: configuration.storePath)
        if store.importedJobs > 0 || store.skippedLines > 0 {
            logger.notice("job store \(configuration.storePath): imported \(store.importedJobs) job(s) from the jobs.jsonl of an earlier version (renamed jobs.jsonl.imported)\(store.skippedLines > 0 ? "; skipped \(store.skippedLines) unreadable line(s) (a write torn by a crash)" : "")")
        }
        // Jobs that were running when the previous coordinator stopped wait for their worker to
        // come back (it reports them in READY) or for a free one.
        for id in store.order where store.jobs[id]!.state == .running {
            var job = store.jobs[id]!
            job.state = .queued
            job.worker = ""
            try store.put(job)
            restoredJobs.insert(id)
        }
        restoredGrace = .now() + .milliseconds(2 * Majordomo.liveness * configuration.heartbeatMilliseconds)
        socket = try ZMQSocket(context, .router)
        try socket.setRouterMandatory(true)
        try socket.setMaxMessageSize(4 * configuration.maxMessageBytes)
        try socket.setHighWaterMarks(send: 10_000, receive: 10_000)
        if let curve = configuration.curve {
            zapHandler = try ZAPHandler(context: context, allowedClientKeys: Set(configuration.allowedClientKeys), logger: logger)
            try socket.setCurveServer(keys: curve)
        }
        for endpoint in configuration.endpoints {
            try socket.bind(endpoint)
            boundEndpoints.append(socket.lastEndpoint)
        }
        let queued = store.jobs.values.filter { $0.state == .queued }.count
        logger.info("coordinator listening on \(boundEndpoints.joined(separator: ", ")); data directory \(configuration.dataDirectory); \(store.jobs.count) job(s) in the store, \(queued) queued")
    }

    /// Serves until `shouldStop` says yes (checked at least every heartbeat).
    public func run(shouldStop: () -> Bool) throws {
        var nextHeartbeat = DispatchTime.now()
        while !shouldStop() {
            zapHandler?.serve()
            var sockets = [socket]
            if let zap = zapHandler { sockets.append(zap.socket) }
            let readable = try poll(sockets, timeoutMilliseconds: min(configuration.heartbeatMilliseconds, 100))
            if readable[0] {
                // Drain what is there, a bounded number at a time so heartbeats keep their beat.
                for _ in 0..<1000 {
                    guard let frames = try socket.receive(dontWait: true) else { break }
                    handle(frames)
                }
            }
            if DispatchTime.now() >= nextHeartbeat {
                heartbeatWorkers()
                purgeExpiredWorkers()
                expireWaitingRequests()
                nextHeartbeat = .now() + .milliseconds(configuration.heartbeatMilliseconds)
            }
            dispatch()
        }
        for identity in workerOrder { sendToWorker(identity, .disconnect) }
        logger.info("coordinator stopped")
    }

    // MARK: frames

    func handle(_ frames: [[UInt8]]) {
        guard frames.count >= 4, frames[1].isEmpty else { return drop(frames, "no empty delimiter frame") }
        let sender = frames[0], header = frames[2]
        if header == Majordomo.clientHeader {
            guard frames.count >= 6, frames[3] == [Majordomo.ClientCommand.request.rawValue] else {
                return drop(frames, "a client message that is not a REQUEST with service and body")
            }
            let service = String(decoding: frames[4], as: UTF8.self)
            handleClientRequest(from: sender, service: service, body: frames[5])
        } else if header == Majordomo.workerHeader {
            guard frames[3].count == 1, let command = Majordomo.WorkerCommand(rawValue: frames[3][0]) else {
                return drop(frames, "an unknown worker command")
            }
            handleWorker(sender, command, Array(frames[4...]))
        } else if header.starts(with: Array("MDPC".utf8)) {
            let service = frames.count > 4 ? String(decoding: frames[4], as: UTF8.self) : ""
            replyError(to: sender, service: service, code: .badVersion,
                       "this broker speaks MDPC02 (Majordomo 0.2); the request said \(String(decoding: header, as: UTF8.self))")
        } else {
            drop(frames, "an unknown protocol header")
        }
    }

    func drop(_ frames: [[UInt8]], _ reason: String) {
        droppedFrames += 1
        logger.warning("dropped a message of \(frames.count) frame(s): \(reason) (dropped so far: \(droppedFrames))")
    }

    func handleClientRequest(from client: [UInt8], service: String, body: [UInt8]) {
        if body.count > configuration.maxMessageBytes {
            return replyError(to: client, service: service, code: .tooLarge,
                              "the request has \(body.count) bytes; this broker accepts at most \(configuration.maxMessageBytes)")
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
                              "the coordinator has no service '\(service)' (its own: \(InternalService.jobs), \(InternalService.status))")
        case _ where Self.jobServices.contains(service):
            return replyError(to: client, service: service, code: .invalidArgument,
                              "'\(service)' workers take jobs from the coordinator: submit them to service '\(InternalService.jobs)'")
        default: break
        }
        let registered = workers.values.contains { $0.service == service }
        guard registered || Self.knownServices.contains(service) else {
            return replyError(to: client, service: service, code: .unknownService,
                              "no worker has registered service '\(service)' (services: \(InternalService.jobs), \(InternalService.status), \(Self.knownServices.sorted().joined(separator: ", ")))")
        }
        var request = PendingRequest(client: client, service: service, body: body, received: .now())
        if service == "generate", let call = try? GeneratorCall(wire: body) {
            switch call.call {
            case let .cancel(cancel): return cancelGeneration(from: client, cancel)
            case let .switchModel(switchModel): return self.switchModel(from: client, switchModel)
            case let .generate(generate): request.requestId = generate.requestId
            case nil: break
            }
        }
        if registered && freeWorker(for: service) == nil && queues[service, default: []].count >= configuration.maxQueuedRequests {
            return replyError(to: client, service: service, code: .overloaded,
                              "every '\(service)' worker is busy and \(configuration.maxQueuedRequests) requests already wait; retry later")
        }
        queues[service, default: []].append(request)
    }

    // MARK: sending

    /// Sends to a client; false when the client is gone (or too slow to keep up).
    @discardableResult
    func sendToClient(_ client: [UInt8], service: String, body: [UInt8], final: Bool) -> Bool {
        let command: Majordomo.ClientCommand = final ? .final : .partial
        do {
            try socket.send([client, [], Majordomo.clientHeader, [command.rawValue], Array(service.utf8), body], dontWait: true)
            return true
        } catch {
            logger.debug("reply to a client dropped: \(error)")
            return false
        }
    }

    func replyError(to client: [UInt8], service: String, code: ErrorCode, _ message: String, field: String = "") {
        logger.info("error \(code) to a client of '\(service)': \(message)")
        sendToClient(client, service: service, body: ErrorReply.wire(code: code, message: message, field: field), final: true)
    }

    @discardableResult
    func sendToWorker(_ identity: [UInt8], _ command: Majordomo.WorkerCommand, _ rest: [[UInt8]] = []) -> Bool {
        do {
            try socket.send([identity, [], Majordomo.workerHeader, [command.rawValue]] + rest, dontWait: true)
            return true
        } catch {
            logger.debug("message to a worker dropped: \(error)")
            return false
        }
    }
}
