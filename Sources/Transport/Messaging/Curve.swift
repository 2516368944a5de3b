import CZMQ
import Foundation

extension CurveKeys {
    /// A fresh key pair from libzmq (libsodium underneath).
    public static func generate() throws(ZMQError) -> CurveKeys {
        var publicKey = [CChar](repeating: 0, count: 41), secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError("zmq_curve_keypair") }
        return CurveKeys(publicKey: text(publicKey), secretKey: text(secretKey))
    }

    /// A NUL-terminated buffer's text: the bytes before the NUL.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// True when `key` is 40 characters of Z85.
    public static func isValid(_ key: String) -> Bool {
        var decoded = [UInt8](repeating: 0, count: 32)
        return key.utf8.count == 40 && zmq_z85_decode(&decoded, key) != nil
    }
}

extension ZMQSocket {
    /// This socket is a CurveZMQ server with `keys`; clients are checked by ZAP (see `ZAPHandler`).
    public func setCurveServer(keys: CurveKeys, domain: String = "cuentista") throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVER, Int32(1))
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(keys.secretKey.utf8))
        try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8))
    }

    /// Connections to this (server) socket are checked by ZAP in `domain`, with or without
    /// CurveZMQ (see `ZAPHandler`).
    public func setZAPDomain(_ domain: String) throws(ZMQError) {
        try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8))
    }

    /// This socket talks to the CurveZMQ server whose public key is `serverKey`.
    public func setCurveClient(serverKey: String, keys: CurveKeys) throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVERKEY, bytes: Array(serverKey.utf8))
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: Array(keys.publicKey.utf8))
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(keys.secretKey.utf8))
    }
}
