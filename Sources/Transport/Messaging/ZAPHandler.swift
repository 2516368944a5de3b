import CZMQ
import Foundation
import Logging

/// The ZeroMQ authentication handler (RFC 27/ZAP) for CurveZMQ servers: a connection is
/// accepted only when its client public key is in the allowed set. libzmq asks it over the
/// in-process endpoint `inproc://zeromq.zap.01`; the owner's loop calls `serve()`.
public final class ZAPHandler {
    public let socket: ZMQSocket
    let allowed: Set<[UInt8]>
    let logger: Logger
    public private(set) var refused = 0

    /// `allowedClientKeys`: Z85 public keys (40 characters each).
    public init(context: ZMQContext, allowedClientKeys: Set<String>, logger: Logger) throws(ZMQError) {
        socket = try ZMQSocket(context, .rep)
        try socket.setMaxMessageSize(64 << 10)
        try socket.bind("inproc://zeromq.zap.01")
        var keys = Set<[UInt8]>()
        for key in allowedClientKeys {
            var decoded = [UInt8](repeating: 0, count: 32)
            if key.utf8.count == 40, zmq_z85_decode(&decoded, key) != nil { keys.insert(decoded) }
        }
        allowed = keys
        self.logger = logger
    }

    /// Answers every authentication request waiting.
    public func serve() {
        while let frames = try? socket.receive(dontWait: true) {
            guard frames.count >= 6 else { continue }
            let version = frames[0], requestId = frames[1], address = String(decoding: frames[3], as: UTF8.self)
            let mechanism = String(decoding: frames[5], as: UTF8.self)
            let key = frames.count > 6 ? frames[6] : []
            let ok = mechanism == "CURVE" && allowed.contains(key)
            if !ok {
                refused += 1
                logger.warning("refused a \(mechanism) connection from \(address): its key is not among the allowed client keys")
            }
            try? socket.send([version, requestId, Array((ok ? "200" : "400").utf8), Array((ok ? "OK" : "key not allowed").utf8),
                              ok ? Array(Z85.encode(key).utf8) : [], []])
        }
    }
}

enum Z85 {
    static func encode(_ bytes: [UInt8]) -> String {
        guard bytes.count % 4 == 0 else { return "" }
        var out = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        _ = zmq_z85_encode(&out, bytes, bytes.count)
        return String(cString: out)
    }
}
