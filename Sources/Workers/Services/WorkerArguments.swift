import ArgumentParser
import Foundation
import Jobs
import Logging
import Messaging

/// The options every worker executable shares.
public struct WorkerArguments: ParsableArguments {
    @Option(help: "The coordinator's endpoint.")
    public var coordinator = CoordinatorEndpoint.local
    /// The spelling of earlier versions, still accepted.
    @Option(name: .customLong("connect"), help: .hidden)
    var connectAlias: String?

    /// The endpoint in effect (`--connect`, the spelling of earlier versions, when given).
    public var connect: String { connectAlias ?? coordinator }

    public func validate() throws {
        if let connectAlias, connectAlias != coordinator, coordinator != CoordinatorEndpoint.local {
            throw ValidationError("--connect \(connectAlias) and --coordinator \(coordinator) disagree; give one (--connect is the old spelling)")
        }
    }
    @Option(help: "The data directory all workers share; jobs and requests name paths relative to it.")
    public var dataDir = "."
    @Option(help: "This worker's name in logs and `cuentista status` (default: service-host-pid).")
    public var workerId: String?
    @Option(help: "trace | debug | info | notice | warning | error | critical")
    public var logLevel = "info"
    @Option(help: "CurveZMQ: the coordinator's public key file (from `cuentista keys generate`); enables encryption.")
    public var serverKey: String?
    @Option(help: "CurveZMQ: this worker's key file (public and secret key).")
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

    /// The Majordomo worker these options describe.
    public func worker(context: ZMQContext, service: String, logger: Logger,
                       hello: @escaping () -> [UInt8], heartbeat: @escaping () -> [UInt8]) throws -> MajordomoWorker {
        let (serverPublic, own) = try KeyFile.clientKeys(serverKey: serverKey, keys: keys)
        let worker = MajordomoWorker(context: context, endpoint: connect, service: service, serverKey: serverPublic, keys: own,
                                     hello: hello, heartbeat: heartbeat)
        worker.onReconnect = { reason in logger.warning("reconnecting to \(connect): \(reason)") }
        return worker
    }
}

public enum ServiceLogging {
    /// Log lines go to standard error; bootstrapping twice is harmless here.
    public static func bootstrap() {
        _ = bootstrapped
    }

    static let bootstrapped: Bool = {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        return true
    }()
}

/// A CurveZMQ key file: two lines, `public: <z85>` and (for own keys) `secret: <z85>`.
public enum KeyFile {
    public static func read(_ path: String) throws -> CurveKeys {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("\(path): cannot read the key file") }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        guard let publicKey = values["public"], CurveKeys.isValid(publicKey) else { throw ValidationError("\(path): no valid `public:` key") }
        let secret = values["secret"] ?? ""
        if !secret.isEmpty && !CurveKeys.isValid(secret) { throw ValidationError("\(path): the `secret:` key is not valid Z85") }
        return CurveKeys(publicKey: publicKey, secretKey: secret)
    }

    /// A client's CurveZMQ settings from its two options: both or neither.
    public static func clientKeys(serverKey: String?, keys: String?) throws -> (serverKey: String?, keys: CurveKeys?) {
        let serverPublic = try serverKey.map { try read($0).publicKey }
        let own = try keys.map(read)
        if (serverPublic == nil) != (own == nil) { throw ValidationError("--server-key and --keys go together") }
        return (serverPublic, own)
    }

    public static func write(_ keys: CurveKeys, to path: String, includeSecret: Bool) throws {
        let text = "public: \(keys.publicKey)\n" + (includeSecret ? "secret: \(keys.secretKey)\n" : "")
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: includeSecret ? 0o600 : 0o644])
    }
}
