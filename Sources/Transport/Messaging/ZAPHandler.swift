import CZMQ
import Foundation
import Logging

/// The ZeroMQ authentication handler (RFC 27/ZAP). Each server socket names its ZAP domain
/// (`clients`, `workers`). Under CurveZMQ a connection is accepted only when its public key is
/// allowed in that domain, and it is given the key's role there as its User-Id, `role:key`
/// (read back per message with `receiveWithUserId`); in an `open` domain (no CurveZMQ) every
/// NULL connection is accepted, with no User-Id. In a domain marked `full` (its connection cap
/// reached) every new connection is refused. libzmq asks over the in-process endpoint
/// `inproc://zeromq.zap.01`; the owner's loop calls `serve()`.
public final class ZAPHandler {
    public let socket: ZMQSocket
    /// domain -> public key (32 bytes) -> role.
    let roles: [String: [[UInt8]: String]]
    let logger: Logger
    /// Domains without CurveZMQ: NULL connections are accepted there.
    let openDomains: Set<String>
    /// Domains whose connection cap is reached: new connections are refused there.
    public var full: Set<String> = []
    public private(set) var refused = 0
    public private(set) var refusedFull = 0
    private var logLimiter = LogRateLimiter()

    /// `roles`: for each domain, the Z85 public keys (40 characters) allowed in it and the role
    /// each gets there.
    public init(context: ZMQContext, roles: [String: [String: String]], openDomains: Set<String> = [], logger: Logger) throws(ZMQError) {
        socket = try ZMQSocket(context, .rep)
        try socket.setMaxMessageSize(64 << 10)
        try socket.bind("inproc://zeromq.zap.01")
        var decodedRoles: [String: [[UInt8]: String]] = [:]
        for (domain, keys) in roles {
            for (key, role) in keys {
                var decoded = [UInt8](repeating: 0, count: 32)
                if key.utf8.count == 40, zmq_z85_decode(&decoded, key) != nil { decodedRoles[domain, default: [:]][decoded] = role }
            }
        }
        self.roles = decodedRoles
        self.openDomains = openDomains
        self.logger = logger
    }

    /// Answers every authentication request waiting.
    public func serve() {
        while let frames = try? socket.receive(dontWait: true) {
            guard frames.count >= 6 else { continue }
            let version = frames[0], requestId = frames[1], domain = String(decoding: frames[2], as: UTF8.self)
            let address = String(decoding: frames[3], as: UTF8.self), mechanism = String(decoding: frames[5], as: UTF8.self)
            let key = frames.count > 6 ? frames[6] : []
            if full.contains(domain) {
                refusedFull += 1
                let (write, leftOut) = logLimiter.admit("full \(domain)", now: DispatchTime.now().uptimeNanoseconds / 1_000_000)
                if write {
                    logger.warning("refused a connection from \(LogLimits.quote(address)) on the \(domain) endpoint: its connection limit is reached (--max-connections; refused so far: \(refusedFull)\(leftOut > 0 ? ", \(leftOut) not logged" : ""))")
                }
                try? socket.send([version, requestId, Array("400".utf8), Array("too many connections".utf8), [], []])
                continue
            }
            if mechanism == "NULL" && openDomains.contains(domain) {
                try? socket.send([version, requestId, Array("200".utf8), Array("OK".utf8), [], []])
                continue
            }
            let role = mechanism == "CURVE" ? roles[domain]?[key] : nil
            if role == nil {
                refused += 1
                // Bounded: a flood of strangers must not fill the log.
                let (write, leftOut) = logLimiter.admit("refused \(domain)", now: DispatchTime.now().uptimeNanoseconds / 1_000_000)
                if write {
                    logger.warning("refused a \(LogLimits.quote(mechanism)) connection from \(LogLimits.quote(address)) on the \(LogLimits.quote(domain)) endpoint: its key is not allowed there (refused so far: \(refused)\(leftOut > 0 ? ", \(leftOut) not logged" : ""))")
                }
            }
            let userId = role.map { "\($0):\(Z85.encode(key))" } ?? ""
            try? socket.send([version, requestId, Array((role != nil ? "200" : "400").utf8),
                              Array((role != nil ? "OK" : "key not allowed here").utf8), Array(userId.utf8), []])
        }
    }
}

enum Z85 {
    static func encode(_ bytes: [UInt8]) -> String {
        guard bytes.count % 4 == 0 else { return "" }
        var out = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        _ = zmq_z85_encode(&out, bytes, bytes.count)
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
