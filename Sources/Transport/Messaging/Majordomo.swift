import Foundation

/// The framing of ZeroMQ RFC 18 (MDP/0.2): what every client, worker and broker frame starts
/// with. `Protos/cuentista/v1/service.proto` documents the whole exchange.
public enum Majordomo {
    public static let clientHeader = Array("MDPC02".utf8)
    public static let workerHeader = Array("MDPW02".utf8)

    public enum ClientCommand: UInt8, Sendable {
        case request = 1, partial = 2, final = 3
    }

    public enum WorkerCommand: UInt8, Sendable {
        case ready = 1, request = 2, partial = 3, final = 4, heartbeat = 5, disconnect = 6
    }

    /// Heartbeats every second; a peer silent for `liveness` intervals is dead.
    public static let heartbeatMilliseconds = 1000
    public static let liveness = 3

    /// Requests above this get ERROR_CODE_TOO_LARGE; sockets refuse frames above four times it.
    public static let defaultMaxMessageBytes = 16 << 20
    /// The largest frame the coordinator's sockets take (`ZMQ_MAXMSGSIZE`; a peer sending more
    /// is disconnected): a worker's reply must fit, so a service refuses work whose reply
    /// would not (ERROR_CODE_TOO_LARGE) instead of losing its connection.
    public static let defaultMaxFrameBytes = 4 * defaultMaxMessageBytes
    /// Service names are short words; a longer one is refused before it is quoted anywhere.
    public static let maxServiceNameBytes = 255

    static func milliseconds(since start: DispatchTime) -> Int {
        Int((DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000)
    }
}

public enum MajordomoError: Error, CustomStringConvertible, Sendable {
    case timeout(service: String, milliseconds: Int)
    case transport(ZMQError)

    public var description: String {
        switch self {
        case let .timeout(service, milliseconds):
            return "no reply from service '\(service)' within \(milliseconds) ms (is the coordinator running, with a '\(service)' worker?)"
        case let .transport(error): return error.description
        }
    }
}

/// Encryption and authentication of a connection with CurveZMQ (keys are Z85 text, 40 chars).
public struct CurveKeys: Sendable, Equatable {
    public var publicKey: String
    public var secretKey: String

    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}

/// Where a coordinator listens unless told otherwise: the one default every command and
/// worker shares (`--coordinator` for clients and workers, `--bind` for the coordinator).
public enum CoordinatorEndpoint {
    public static let local = "tcp://127.0.0.1:5555"
}

extension CoordinatorEndpoint {
    /// Where workers connect by default: a Unix socket in the data directory they share (its
    /// folder is the operator's only). Across hosts, the coordinator's `--worker-bind` names a
    /// TCP endpoint instead, with CurveZMQ worker keys.
    public static func workers(in dataDirectory: String) -> String {
        "ipc://" + ((dataDirectory as NSString).standardizingPath as NSString).appendingPathComponent("coordinator/workers.ipc")
    }

    /// The operator's endpoint: a client here is an admin (sees and acts on every job, switches
    /// models). A Unix socket in the data directory's `coordinator` folder, which only the
    /// operator can reach.
    public static func admin(in dataDirectory: String) -> String {
        "ipc://" + ((dataDirectory as NSString).standardizingPath as NSString).appendingPathComponent("coordinator/admin.ipc")
    }

    /// The file of an `ipc://` endpoint.
    public static func ipcPath(_ endpoint: String) -> String? {
        endpoint.hasPrefix("ipc://") ? String(endpoint.dropFirst("ipc://".count)) : nil
    }

    /// Reachable from this machine only: loopback TCP, a Unix socket with a path, in-process.
    /// (An abstract socket, `ipc://@name`, is reachable by every local user: not counted.)
    public static func isLocal(_ endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://@") { return false }
        for prefix in ["ipc://", "inproc://", "tcp://127.", "tcp://localhost:", "tcp://[::1]:"] where endpoint.hasPrefix(prefix) {
            return true
        }
        return false
    }
}

/// The services the coordinator answers itself, in a namespace of their own (as MDP's `mmi.`):
/// no worker may register a name in it, so none can pose as the broker.
public enum InternalService {
    public static let namespace = "cuentista."
    public static let jobs = "cuentista.jobs"
    public static let status = "cuentista.status"
    /// The names earlier versions used: still answered (with a warning in the log) for one
    /// release, and never registrable by a worker.
    public static let renamed = ["jobs": jobs, "status": status]
}
