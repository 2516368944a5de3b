import Foundation
import Jobs
import Logging
import Messaging

/// What every worker needs to know to start: where the coordinator and the data are, its name,
/// its log level and its CurveZMQ keys. The worker executables fill it from their command line
/// (`WorkerCommandLine`); tests and embedders fill it directly.
public struct WorkerSettings: Sendable {
    public var coordinator = CoordinatorEndpoint.local
    public var dataDir = "."
    /// This worker's name in logs and `cuentista status` (nil: service-host-pid).
    public var workerId: String?
    public var logLevel = "info"
    /// CurveZMQ: the coordinator's public key file and this worker's key file (both or neither).
    public var serverKey: String?
    public var keys: String?

    public init() {}

    public func name(for service: String) -> String {
        workerId ?? "\(service)-\(ProcessInfo.processInfo.hostName)-\(getpid())"
    }

    public var data: DataDirectory { DataDirectory(root: (dataDir as NSString).standardizingPath) }

    public func logger(_ label: String) -> Logger {
        ServiceLogging.bootstrap()
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }

    /// The Majordomo worker these settings describe.
    public func worker(context: ZMQContext, service: String, logger: Logger,
                       hello: @escaping () -> [UInt8], heartbeat: @escaping () -> [UInt8]) throws -> MajordomoWorker {
        let (serverPublic, own) = try KeyFile.clientKeys(serverKey: serverKey, keys: keys)
        let worker = MajordomoWorker(context: context, endpoint: coordinator, service: service, serverKey: serverPublic, keys: own,
                                     hello: hello, heartbeat: heartbeat)
        let endpoint = coordinator
        worker.onReconnect = { reason in logger.warning("reconnecting to \(endpoint): \(reason)") }
        return worker
    }
}

/// A worker that cannot start (a default tokenizer that does not load, ...): the message says
/// which option and why.
public struct WorkerStartError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
