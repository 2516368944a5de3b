import ArgumentParser
import Coordinator
import Foundation
import Logging
import Messaging
import Services

struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run the coordinator: the broker every client and worker connects to, and the durable job queue.",
        discussion: """
          cuentista coordinator --data-dir DATA
        then start workers (cuentista-tokenizer, cuentista-prep, cuentista-trainer) with
        --data-dir DATA (they find the worker endpoint, DATA/coordinator/workers.ipc, there), or run
        everything with `cuentista up`. Clients connect to --bind, workers to --worker-bind: a
        client connection can never act as a worker.
        Jobs are stored in DATA/coordinator/jobs.db (SQLite, WAL, synchronous=FULL), so a killed
        coordinator loses none that it acknowledged; `sqlite3 DATA/coordinator/jobs.db` shows them. It binds loopback unless told otherwise; across hosts use
        --bind tcp://0.0.0.0:5555 --worker-bind tcp://0.0.0.0:5556 with CurveZMQ keys (--keys,
        --allow-client-key, --allow-worker-key, --allow-admin-key).
        """)

    @Option(help: "Endpoint for clients (repeat for several).") var bind: [String] = [CoordinatorEndpoint.local]
    @Option(help: "Endpoint for workers (repeat for several; default: ipc://DATA/coordinator/workers.ipc).") var workerBind: [String] = []
    @Option(help: "The operator's endpoint, where clients are admins (default: ipc://DATA/coordinator/admin.ipc; keep it local).") var adminBind: [String] = []
    @Option(help: "The data directory every worker shares.") var dataDir = "."
    @Option(help: "The job store, SQLite (default: DATA/coordinator/jobs.db; a .jsonl journal of an earlier version is imported).") var store: String?
    @Option(help: "Runs of a job before it is marked failed.") var maxAttempts = Self.defaults.maxAttempts
    @Option(help: "Requests above this many bytes are refused with TOO_LARGE.") var maxMessageBytes = Self.defaults.maxMessageBytes
    @Option(help: "How long a request waits for a worker of a known service (ms).") var serviceWaitMs = Self.defaults.serviceWaitMilliseconds
    @Option(help: "Requests that may wait here for a service (its workers busy, or none registered); past it they get OVERLOADED.")
    var maxQueuedRequests = Self.defaults.maxQueuedRequests
    @Option(help: "Bytes of requests that may wait here, all clients together; past it: OVERLOADED.") var maxQueuedBytes = Self.defaults.maxQueuedBytes
    @Option(help: "Bytes of requests that may wait here for one client (a CurveZMQ key, or a connection); past it: OVERLOADED.")
    var maxQueuedBytesPerClient = Self.defaults.maxQueuedBytesPerClient
    @Option(help: "Client connections held at once; new ones past it are refused and logged (each takes a file descriptor).")
    var maxConnections = Self.defaults.maxClientConnections
    @Option(help: "CurveZMQ: this coordinator's key file (`cuentista keys generate`); enables encryption.") var keys: String?
    @Option(help: "CurveZMQ: a client's public key file, allowed on --bind as a client (repeat).") var allowClientKey: [String] = []
    @Option(help: "CurveZMQ: a worker's public key file, allowed on --worker-bind (repeat).") var allowWorkerKey: [String] = []
    @Option(help: "CurveZMQ: an admin's public key file, a client who may act on everyone's jobs and switch models (repeat).") var allowAdminKey: [String] = []
    @Flag(help: "Accept workers on a network --worker-bind without CurveZMQ keys (a private network you control; anyone on it can act as a worker).")
    var allowUnauthenticatedWorkers = false
    /// The single list of earlier versions, which let any allowed key act as a worker.
    @Option(help: .hidden) var allowKey: [String] = []
    @Flag(help: "Move job rows the store cannot read to the table quarantined_jobs (kept, logged) instead of refusing to start.")
    var repair = false
    @Option(help: "trace | debug | info | notice | warning | error | critical") var logLevel = "info"

    static let defaults = CoordinatorConfiguration(dataDirectory: ".")

    func run() throws {
        let stop = SignalFlag()
        ServiceLogging.bootstrap()
        var logger = Logger(label: "cuentista.coordinator")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var configuration = CoordinatorConfiguration(dataDirectory: (dataDir as NSString).standardizingPath, storePath: store)
        configuration.endpoints = bind
        if !workerBind.isEmpty { configuration.workerEndpoints = workerBind }
        if !adminBind.isEmpty { configuration.adminEndpoints = adminBind }
        configuration.maxAttempts = maxAttempts
        configuration.maxMessageBytes = maxMessageBytes
        configuration.serviceWaitMilliseconds = serviceWaitMs
        configuration.maxQueuedRequests = maxQueuedRequests
        configuration.maxQueuedBytes = maxQueuedBytes
        configuration.maxQueuedBytesPerClient = maxQueuedBytesPerClient
        configuration.maxClientConnections = maxConnections
        configuration.repairStore = repair
        for (name, value) in [("--max-attempts", maxAttempts), ("--max-message-bytes", maxMessageBytes), ("--max-queued-requests", maxQueuedRequests),
                              ("--max-queued-bytes", maxQueuedBytes), ("--max-queued-bytes-per-client", maxQueuedBytesPerClient),
                              ("--max-connections", maxConnections)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        for endpoint in adminBind where !endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("ipc://@") {
            throw ValidationError("--admin-bind \(endpoint): the operator's endpoint makes every client an admin; it must be a Unix socket path (ipc://PATH) in a folder only the operator can reach")
        }
        if keys == nil, !allowUnauthenticatedWorkers, let open = workerBind.first(where: { !CoordinatorEndpoint.isLocal($0) }) {
            throw ValidationError("--worker-bind \(open) without --keys would let anyone who reaches it act as a worker; give the coordinator keys and --allow-worker-key, or --allow-unauthenticated-workers on a private network")
        }
        if !allowKey.isEmpty {
            throw ValidationError("--allow-key is gone: it let any allowed key act as a worker. Give each key its role: --allow-client-key, --allow-worker-key, --allow-admin-key")
        }
        if let keys {
            configuration.curve = try KeyFile.read(keys)
            configuration.allowedClientKeys = try allowClientKey.map { try KeyFile.read($0).publicKey }
            configuration.allowedWorkerKeys = try allowWorkerKey.map { try KeyFile.read($0).publicKey }
            configuration.allowedAdminKeys = try allowAdminKey.map { try KeyFile.read($0).publicKey }
        } else if !(allowClientKey + allowWorkerKey + allowAdminKey).isEmpty {
            throw ValidationError("--allow-client-key, --allow-worker-key and --allow-admin-key need --keys (the coordinator's own key pair)")
        }
        let coordinator = try Coordinator(configuration: configuration, context: ZMQContext(), logger: logger)
        try coordinator.run { stop.isRaised }
    }
}


/// How commands that talk to a running coordinator find it.
struct ClientArguments: ParsableArguments {
    @Option(help: "The coordinator's client endpoint (default: the operator's endpoint of a coordinator using --data-dir on this machine, if there is one, else \(CoordinatorEndpoint.local)).")
    var coordinator: String?
    @Option(help: "The data directory of a coordinator on this machine: through its operator endpoint (coordinator/admin.ipc, reachable only by the operator) this command sees and acts on every job.")
    var dataDir = "."
    @Option(help: "Give up after this many milliseconds without a reply.") var timeoutMs = 10_000
    @Option(help: "CurveZMQ: the coordinator's public key file.") var serverKey: String?
    @Option(help: "CurveZMQ: this client's key file.") var keys: String?

    /// Where this command connects: the operator endpoint when it is there and this user's
    /// (the socket and its folder owned by this user, the folder closed to others), else the
    /// client endpoint.
    var endpoint: String {
        if let coordinator { return coordinator }
        let admin = CoordinatorEndpoint.admin(in: dataDir)
        guard let path = CoordinatorEndpoint.ipcPath(admin) else { return CoordinatorEndpoint.local }
        var socketInfo = stat(), folderInfo = stat()
        guard lstat(path, &socketInfo) == 0, lstat((path as NSString).deletingLastPathComponent, &folderInfo) == 0,
              socketInfo.st_uid == geteuid(), folderInfo.st_uid == geteuid(), folderInfo.st_mode & 0o077 == 0,
              folderInfo.st_mode & S_IFMT == S_IFDIR else { return CoordinatorEndpoint.local }
        return admin
    }

    func client() throws -> ServiceClient {
        let (serverPublic, own) = try KeyFile.clientKeys(serverKey: serverKey, keys: keys)
        return try ServiceClient(context: ZMQContext(), endpoint: endpoint, timeoutMilliseconds: timeoutMs,
                                 serverKey: serverPublic, keys: own)
    }
}

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "CurveZMQ keys for services across hosts.", subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a key pair: NAME.key (public and secret, mode 600) and NAME.pub (public only, to share).")
        @Argument(help: "Path prefix of the two files, e.g. keys/coordinator.") var name: String

        func run() throws {
            let keys = try CurveKeys.generate()
            try KeyFile.write(keys, to: name + ".key", includeSecret: true)
            do { try KeyFile.write(keys, to: name + ".pub", includeSecret: false) } catch {
                unlink(name + ".key")  // half a pair is of no use: leave none
                throw error
            }
            print("wrote \(name).key and \(name).pub (public key \(keys.publicKey))")
        }
    }
}
