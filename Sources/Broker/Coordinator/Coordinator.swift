import Foundation
import JobSpecs
import Logging
import Messaging
import Wire

public struct CoordinatorConfiguration: Sendable {
    /// Where clients connect (loopback unless told otherwise).
    public var endpoints = [CoordinatorEndpoint.local]
    /// Where workers connect: a separate endpoint, so that no client connection can speak as a
    /// worker (default: a Unix socket in the data directory, `CoordinatorEndpoint.workers(in:)`).
    public var workerEndpoints: [String]
    /// The operator's endpoint, where every client is an admin (default: a Unix socket in the
    /// data directory, `CoordinatorEndpoint.admin(in:)`).
    public var adminEndpoints: [String]
    /// The folder every worker shares; jobs name paths relative to it.
    public var dataDirectory: String
    /// The durable job store, SQLite (default: <data>/coordinator/jobs.db).
    public var storePath: String
    public var maxAttempts = 3
    public var maxMessageBytes = Majordomo.defaultMaxMessageBytes
    /// How long a request to a known service without a live worker waits for one.
    public var serviceWaitMilliseconds = 10_000
    public var heartbeatMilliseconds = Majordomo.heartbeatMilliseconds
    /// Requests that may wait here for a service (its workers busy, or none registered yet);
    /// past it: OVERLOADED.
    public var maxQueuedRequests = 64
    /// Bytes of request bodies that may wait here, for all services together and for one
    /// client (a CurveZMQ key, or a connection without CurveZMQ); past either: OVERLOADED.
    public var maxQueuedBytes = 256 << 20
    public var maxQueuedBytesPerClient = 64 << 20
    /// Connections the client endpoints hold at once; past it new ones are refused (ZAP) and
    /// logged. Each takes a file descriptor: the process raises its own limit to the hard one.
    public var maxClientConnections = 10_000
    /// Move job rows that cannot be read to `quarantined_jobs` instead of refusing to start.
    public var repairStore = false
    /// CurveZMQ: the coordinator's keys (nil: no encryption) and the public keys allowed in each
    /// role: clients, workers, and admins (clients who may act on everyone's work).
    public var curve: CurveKeys?
    public var allowedClientKeys: [String] = []
    public var allowedWorkerKeys: [String] = []
    public var allowedAdminKeys: [String] = []

    public init(dataDirectory: String, storePath: String? = nil) {
        self.dataDirectory = dataDirectory
        self.storePath = storePath ?? (dataDirectory as NSString).appendingPathComponent("coordinator/jobs.db")
        workerEndpoints = [CoordinatorEndpoint.workers(in: dataDirectory)]
        adminEndpoints = [CoordinatorEndpoint.admin(in: dataDirectory)]
    }
}

/// The coordinator as a process: `BrokerCore` behind two ROUTER sockets, one for clients and
/// one for workers (plus the ZAP handler with CurveZMQ). This loop only moves messages and time
/// between them; every rule is in the core.
public final class Coordinator {
    public let configuration: CoordinatorConfiguration
    public let core: BrokerCore
    let logger: Logger
    let context: ZMQContext
    let clients: ZMQSocket
    let workers: ZMQSocket
    let admins: ZMQSocket
    var zapHandler: ZAPHandler?
    let clientConnections: ConnectionCounter
    /// Held for the coordinator's life: no second one on the same data directory.
    let lock: CoordinatorLock
    public private(set) var boundEndpoints: [String] = []

    public init(configuration: CoordinatorConfiguration, context: ZMQContext, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.context = context
        lock = try CoordinatorLock(dataDirectory: configuration.dataDirectory)
        let store = try JobStore(path: configuration.storePath, repair: configuration.repairStore)
        if let reason = store.openedExclusively {
            logger.critical("job store \(configuration.storePath): opened with exclusive locking after \(reason) (is the disk full?); sqlite3 on it waits until the coordinator stops")
        }
        if !store.quarantined.isEmpty {
            logger.critical("job store \(configuration.storePath): moved \(store.quarantined.count) unreadable job(s) to the table quarantined_jobs: \(store.quarantined.map { "\($0.id) (\(LogLimits.quote($0.reason)))" }.joined(separator: ", "))")
        }
        if store.importedJobs > 0 || store.skippedLines > 0 {
            logger.notice("job store \(configuration.storePath): imported \(store.importedJobs) job(s) from the jobs.jsonl of an earlier version (renamed jobs.jsonl.imported)\(store.skippedLines > 0 ? "; skipped \(store.skippedLines) unreadable line(s) (a write torn by a crash)" : "")")
        }
        core = try BrokerCore(configuration: configuration, store: store, logger: logger, now: Self.clock())
        // The ZAP handler checks CurveZMQ keys, and counts against the connection cap with or
        // without CurveZMQ (in the clients' domain, open to NULL connections without it).
        var clientRoles = Dictionary(configuration.allowedClientKeys.map { ($0, "client") }) { a, _ in a }
        for key in configuration.allowedAdminKeys { clientRoles[key] = "admin" }
        zapHandler = try ZAPHandler(context: context, roles: [
            "clients": clientRoles,
            "workers": Dictionary(configuration.allowedWorkerKeys.map { ($0, "worker") }) { a, _ in a },
        ], openDomains: configuration.curve == nil ? ["clients"] : [], logger: logger)
        let descriptors = FileDescriptorLimit.raiseToHard()
        if descriptors < configuration.maxClientConnections + 256 {
            logger.warning("this process may open \(descriptors) files, fewer than --max-connections \(configuration.maxClientConnections) needs (one per connection): raise LimitNOFILE (ulimit -n) or lower --max-connections")
        }
        clients = try Self.router(context, configuration, domain: "clients")
        if configuration.curve == nil { try clients.setZAPDomain("clients") }
        clientConnections = try ConnectionCounter(watching: clients, context: context)
        workers = try Self.router(context, configuration, domain: "workers")
        // The operator's socket takes no CurveZMQ: who can reach its folder is who may use it.
        var local = configuration
        local.curve = nil
        admins = try Self.router(context, local, domain: "")
        for (socket, endpoints) in [(clients, configuration.endpoints), (workers, configuration.workerEndpoints), (admins, configuration.adminEndpoints)] {
            for endpoint in endpoints {
                if let path = CoordinatorEndpoint.ipcPath(endpoint) {
                    try Self.secureFolder(of: path, dataDirectory: configuration.dataDirectory)
                }
                try socket.bind(endpoint)
                boundEndpoints.append(socket.lastEndpoint)
            }
        }
        let queued = store.jobs.values.filter { $0.state == .queued }.count
        logger.info("coordinator listening for clients on \(configuration.endpoints.joined(separator: ", ")), for workers on \(configuration.workerEndpoints.joined(separator: ", ")), for the operator on \(configuration.adminEndpoints.joined(separator: ", ")); data directory \(configuration.dataDirectory); \(store.jobs.count) job(s) in the store, \(queued) queued")
    }

    /// A Unix socket's folder decides who may connect to it. The coordinator's own folder
    /// (DATA/coordinator) is made the operator's only (0700), and one another user owns is
    /// refused; a folder named by the operator elsewhere is theirs to set up.
    static func secureFolder(of socketPath: String, dataDirectory: String) throws {
        let folder = (socketPath as NSString).deletingLastPathComponent
        let own = ((dataDirectory as NSString).standardizingPath as NSString).appendingPathComponent("coordinator")
        guard (folder as NSString).standardizingPath == own else { return }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var info = stat()
        // lstat: a symbolic link put there is not followed to someone else's folder.
        guard lstat(folder, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid() else {
            throw CoordinatorError("\(folder) belongs to another user: its sockets would not be the operator's; remove it or use another --data-dir")
        }
        guard chmod(folder, 0o700) == 0 else { throw CoordinatorError("\(folder): cannot make it the operator's only (chmod 0700)") }
    }

    /// Replies that may wait for one client (ZMQ_SNDHWM of the client endpoints).
    public static let clientQueueLimit: Int32 = 1_000

    static func router(_ context: ZMQContext, _ configuration: CoordinatorConfiguration, domain: String) throws -> ZMQSocket {
        let socket = try ZMQSocket(context, .router)
        // Sends to a peer that is gone fail instead of vanishing: the core hears of it.
        try socket.setRouterMandatory(true)
        try socket.setMaxMessageSize(4 * configuration.maxMessageBytes)
        // A peer that does not read its replies is cut off when this many wait for it (the send
        // fails with EAGAIN and the core forgets it): with 1 MB replies, a client that never read
        // held 1.8 GB of the coordinator at 10,000.
        let queued = domain == "workers" ? 10_000 : clientQueueLimit
        try socket.setHighWaterMarks(send: queued, receive: queued)
        // A connection that has not finished its handshake (CurveZMQ or not) in time is closed,
        // so silent TCP connections do not hold file descriptors for libzmq's default 30 s.
        try socket.setHandshakeTimeout(milliseconds: 5_000)
        if let curve = configuration.curve { try socket.setCurveServer(keys: curve, domain: domain) }
        return socket
    }

    /// The core's clock: milliseconds since boot (monotonic).
    static func clock() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }

    func socket(_ channel: BrokerCore.Channel) -> ZMQSocket {
        switch channel {
        case .clients: clients
        case .admins: admins
        case .workers: workers
        }
    }

    /// Serves until `shouldStop` says yes (checked at least every heartbeat).
    public func run(shouldStop: () -> Bool) throws {
        while !shouldStop() {
            // Counted first, so that a connection is judged with itself included.
            let open = clientConnections.update()
            zapHandler?.full = open > configuration.maxClientConnections ? ["clients"] : []
            zapHandler?.serve()
            var sockets = [clients, workers, admins]
            if let zap = zapHandler { sockets.append(zap.socket) }
            let readable = try poll(sockets, timeoutMilliseconds: min(configuration.heartbeatMilliseconds, 100))
            // One message from each readable socket in turn, for a bounded time: a flood on one
            // endpoint neither starves the others (workers' heartbeats arrive on theirs) nor
            // delays this loop's own heartbeats and timers (`tick` below).
            var channels = [(BrokerCore.Channel.clients, 0), (.workers, 1), (.admins, 2)].filter { readable[$0.1] }.map(\.0)
            let deadline = Self.clock() + UInt64(max(5, configuration.heartbeatMilliseconds / 10))
            while !channels.isEmpty && Self.clock() < deadline {
                for channel in channels {
                    guard let received = try socket(channel).receiveWithUserId(dontWait: true) else {
                        channels.removeAll { $0 == channel }
                        continue
                    }
                    // Only a CurveZMQ socket's User-Id comes from the ZAP handler; under the NULL
                    // mechanism a peer can put any User-Id in its handshake, so it is ignored.
                    let userId = configuration.curve != nil && channel == .clients ? received.userId : ""
                    send(core.handle(received.frames, from: channel, userId: userId, now: Self.clock()))
                }
            }
            send(core.tick(now: Self.clock()))
        }
        // Stopping: a worker that cannot be told is not worth a decision any more (its job is
        // adopted or requeued when the coordinator starts again).
        for message in core.shutdown() { try? socket(message.channel).send(message.frames, dontWait: true) }
        logger.info("coordinator stopped")
    }

    /// Sends what the core decided; a peer that cannot be reached is reported back to it (which
    /// may decide more, e.g. give a dead worker's request to another).
    func send(_ messages: [BrokerCore.Message]) {
        var pending = messages[...]
        while let message = pending.popFirst() {
            do {
                try socket(message.channel).send(message.frames, dontWait: true)
            } catch {
                logger.debug("a message to a peer could not be sent: \(error)")
                // EHOSTUNREACH (ROUTER_MANDATORY): no such peer; EAGAIN: its queue is full.
                pending.append(contentsOf: core.unreachable(message, gone: !error.wouldBlock, now: Self.clock()))
            }
        }
    }
}

/// The coordinator cannot start as configured; the message says why.
public struct CoordinatorError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
