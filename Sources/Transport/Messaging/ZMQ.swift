import CZMQ
import Foundation

/// A libzmq failure: the call that failed and libzmq's reason.
public struct ZMQError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32

    init(_ call: String, code: Int32 = zmq_errno()) {
        self.call = call
        self.code = code
    }

    public var description: String { "\(call): \(String(cString: zmq_strerror(code)))" }
    public var wouldBlock: Bool { code == EAGAIN }
    public var interrupted: Bool { code == EINTR }
}

/// A libzmq context. Thread-safe (unlike its sockets); one per process is enough.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    public init() {
        _ = Self.seedRoutingIds
        handle = zmq_ctx_new()!
    }

    /// libzmq 4.3 starts each ROUTER's numbering of anonymous peers (0x00 + a 32-bit counter)
    /// at `rand()` and never seeds it, so every process hands out the same ids, and a peer that
    /// claims the next one with ZMQ_ROUTING_ID makes libzmq assert (socket_base.cpp:2130) when
    /// the next anonymous peer connects: after a restart too. Seeded from the system's random
    /// source once per process, before any socket, the ids cannot be predicted. (libc's
    /// generator is process-wide state; nothing else in Cuentista uses it.)
    private static let seedRoutingIds: Void = {
        var generator = SystemRandomNumberGenerator()
        srand(UInt32.random(in: .min ... .max, using: &generator))
    }()

    deinit {
        zmq_ctx_term(handle)
    }
}

public enum SocketType: Int32, Sendable {
    case pair, dealer, router, pub, sub, rep
    var raw: Int32 {
        switch self {
        case .rep: ZMQ_REP
        case .pair: ZMQ_PAIR
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        }
    }
}

/// One libzmq socket, used by one thread. Frames are byte arrays; messages are their lists.
public final class ZMQSocket {
    let handle: UnsafeMutableRawPointer
    /// Held so the context outlives its sockets: terminating a context waits for them to close.
    let context: ZMQContext
    private var closed = false

    public init(_ context: ZMQContext, _ type: SocketType) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.raw) else { throw ZMQError("zmq_socket") }
        self.handle = handle
        self.context = context
        // Closing must never hang a process on unsent messages to a vanished peer.
        try setOption(ZMQ_LINGER, Int32(0))
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }

    public func bind(_ endpoint: String) throws(ZMQError) {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError("bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws(ZMQError) {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError("connect \(endpoint)") }
    }

    /// The endpoint actually bound (resolves `tcp://127.0.0.1:*` to its port).
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 512)
        var size = buffer.count
        zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: options

    public func setOption(_ option: Int32, _ value: Int32) throws(ZMQError) {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else { throw ZMQError("zmq_setsockopt \(option)") }
    }

    public func setOption(_ option: Int32, _ value: Int64) throws(ZMQError) {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) == 0 else { throw ZMQError("zmq_setsockopt \(option)") }
    }

    public func setOption(_ option: Int32, bytes: [UInt8]) throws(ZMQError) {
        let result = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, bytes.count) }
        guard result == 0 else { throw ZMQError("zmq_setsockopt \(option)") }
    }

    /// Largest message this socket accepts; a peer sending more is disconnected by libzmq.
    public func setMaxMessageSize(_ bytes: Int) throws(ZMQError) { try setOption(ZMQ_MAXMSGSIZE, Int64(bytes)) }
    public func setHighWaterMarks(send: Int32, receive: Int32) throws(ZMQError) {
        try setOption(ZMQ_SNDHWM, send)
        try setOption(ZMQ_RCVHWM, receive)
    }
    public func setRoutingId(_ id: [UInt8]) throws(ZMQError) { try setOption(ZMQ_ROUTING_ID, bytes: id) }
    /// ROUTER: report unroutable messages (a vanished client) instead of dropping them silently.
    public func setRouterMandatory(_ on: Bool) throws(ZMQError) { try setOption(ZMQ_ROUTER_MANDATORY, Int32(on ? 1 : 0)) }
    public func setSendTimeout(milliseconds: Int32) throws(ZMQError) { try setOption(ZMQ_SNDTIMEO, milliseconds) }
    /// A connection whose handshake (ZMTP greeting, CurveZMQ) is not done by then is closed.
    public func setHandshakeTimeout(milliseconds: Int32) throws(ZMQError) { try setOption(ZMQ_HANDSHAKE_IVL, milliseconds) }

    // MARK: messages

    /// Sends all frames as one multipart message.
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws(ZMQError) {
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            var result: Int32
            repeat {
                result = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), frame.count, flags) }
            } while result < 0 && zmq_errno() == EINTR
            if result < 0 { throw ZMQError("zmq_send") }
        }
    }

    /// Receives one multipart message; nil when none waits (with `dontWait`) or a signal interrupted.
    public func receive(dontWait: Bool = false) throws(ZMQError) -> [[UInt8]]? {
        try receive(dontWait: dontWait, userId: nil)
    }

    /// Receives one multipart message and the `User-Id` its connection was given by the ZAP
    /// handler ("" without one).
    public func receiveWithUserId(dontWait: Bool = false) throws(ZMQError) -> (frames: [[UInt8]], userId: String)? {
        var userId = ""
        guard let frames = try receive(dontWait: dontWait, userId: &userId) else { return nil }
        return (frames, userId)
    }

    private func receive(dontWait: Bool, userId: UnsafeMutablePointer<String>?) throws(ZMQError) -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        while true {
            if zmq_msg_recv(&message, handle, frames.isEmpty && dontWait ? ZMQ_DONTWAIT : 0) < 0 {
                let code = zmq_errno()
                if frames.isEmpty && (code == EAGAIN || code == EINTR) { return nil }
                if code == EINTR { continue }
                throw ZMQError("zmq_msg_recv", code: code)
            }
            // A ROUTER's own routing-id frame carries no metadata: the peer's frames after it do.
            if let userId, userId.pointee.isEmpty, let value = zmq_msg_gets(&message, "User-Id") {
                userId.pointee = String(decoding: UnsafeRawBufferPointer(start: value, count: strlen(value)), as: UTF8.self)
            }
            let size = zmq_msg_size(&message)
            let data = zmq_msg_data(&message)
            frames.append(size == 0 ? [] : Array(UnsafeRawBufferPointer(start: data, count: size)))
            if zmq_msg_more(&message) == 0 { return frames }
        }
    }
}

/// Waits until one of the sockets has a message or the timeout passes; returns which are readable.
/// A signal (SIGTERM) ends the wait early with nothing readable, so loops can look at their flag.
public func poll(_ sockets: [ZMQSocket], timeoutMilliseconds: Int) throws(ZMQError) -> [Bool] {
    var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
    let result = zmq_poll(&items, Int32(items.count), timeoutMilliseconds)
    if result < 0 {
        if zmq_errno() == EINTR { return Array(repeating: false, count: sockets.count) }
        throw ZMQError("zmq_poll")
    }
    return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
}
