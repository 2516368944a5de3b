import CZMQ
import Foundation

/// A Majordomo worker: registers a service with the broker, heartbeats, and hands requests to
/// its owner's loop. It reconnects on its own when the broker goes silent or disowns it, so a
/// coordinator restart only costs a few seconds.
public final class MajordomoWorker {
    public struct Request: Sendable {
        /// Who to answer (opaque: the broker's routing address of the client or job).
        public let client: [UInt8]
        public let body: [UInt8]
    }

    let context: ZMQContext
    public let endpoint: String
    public let service: String
    let hello: () -> [UInt8]
    let heartbeat: () -> [UInt8]
    let heartbeatMilliseconds: Int
    let serverKey: String?
    let keys: CurveKeys?
    var socket: ZMQSocket?
    var lastHeard = DispatchTime.now()
    var nextHeartbeat = DispatchTime.now()
    /// How often the connection was (re)established; tests and logs read it.
    public private(set) var connections = 0
    public var onReconnect: (String) -> Void = { _ in }

    /// `hello` makes the READY message's body (a WorkerHello), `heartbeat` each HEARTBEAT's.
    public init(context: ZMQContext, endpoint: String, service: String, heartbeatMilliseconds: Int = Majordomo.heartbeatMilliseconds,
                serverKey: String? = nil, keys: CurveKeys? = nil,
                hello: @escaping () -> [UInt8], heartbeat: @escaping () -> [UInt8]) {
        self.context = context
        self.endpoint = endpoint
        self.service = service
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.serverKey = serverKey
        self.keys = keys
        self.hello = hello
        self.heartbeat = heartbeat
    }

    func connect() throws(ZMQError) {
        closeGently()
        let socket = try ZMQSocket(context, .dealer)
        try socket.setMaxMessageSize(4 * Majordomo.defaultMaxMessageBytes)
        try socket.setSendTimeout(milliseconds: 1000)
        if let serverKey, let keys { try socket.setCurveClient(serverKey: serverKey, keys: keys) }
        try socket.connect(endpoint)
        self.socket = socket
        try send(.ready, [Array(service.utf8), hello()])
        lastHeard = .now()
        nextHeartbeat = .now() + .milliseconds(heartbeatMilliseconds)
        connections += 1
    }

    func send(_ command: Majordomo.WorkerCommand, _ rest: [[UInt8]] = []) throws(ZMQError) {
        if socket == nil { try connect() }
        do {
            try socket!.send([[], Majordomo.workerHeader, [command.rawValue]] + rest)
        } catch where error.wouldBlock {
            // No live connection to the broker: the message is lost like any other sent into a
            // dead link; the broker's silence makes `keepAlive` reconnect.
            onReconnect("a message to the broker could not be sent (no connection)")
        }
    }

    /// Waits up to `timeoutMilliseconds` (0: just looks) for the next request, doing the
    /// heartbeat work meanwhile. Returns nil early when one of `alsoWatching` becomes readable,
    /// so a service can serve another socket from the same loop.
    public func next(timeoutMilliseconds: Int, alsoWatching: [ZMQSocket] = []) throws(ZMQError) -> Request? {
        if socket == nil { try connect() }
        let start = DispatchTime.now()
        while true {
            try keepAlive()
            let left = max(0, min(timeoutMilliseconds - Majordomo.milliseconds(since: start), heartbeatMilliseconds))
            let readable = try poll([socket!] + alsoWatching, timeoutMilliseconds: left)
            if readable[0], let frames = try socket!.receive(dontWait: true) {
                lastHeard = .now()
                guard frames.count >= 3, frames[0].isEmpty, frames[1] == Majordomo.workerHeader, frames[2].count == 1,
                      let command = Majordomo.WorkerCommand(rawValue: frames[2][0]) else { continue }
                switch command {
                case .request where frames.count >= 6:
                    return Request(client: frames[3], body: frames[5])
                case .disconnect:
                    onReconnect("the broker asked this worker to reconnect")
                    try connect()
                default:
                    break  // heartbeats only refresh `lastHeard`
                }
                continue
            }
            if readable.dropFirst().contains(true) { return nil }
            if Majordomo.milliseconds(since: start) >= timeoutMilliseconds { return nil }
        }
    }

    func keepAlive() throws(ZMQError) {
        if Majordomo.milliseconds(since: lastHeard) > Majordomo.liveness * heartbeatMilliseconds {
            onReconnect("no heartbeat from the broker for \(Majordomo.liveness * heartbeatMilliseconds) ms")
            try connect()
        }
        if DispatchTime.now() >= nextHeartbeat {
            try send(.heartbeat, [heartbeat()])
            nextHeartbeat = .now() + .milliseconds(heartbeatMilliseconds)
        }
    }

    public func reply(to client: [UInt8], body: [UInt8], final: Bool) throws(ZMQError) {
        try send(final ? .final : .partial, [client, [], body])
    }

    /// Tells the broker this worker leaves (it requeues nothing, the worker has finished).
    public func disconnect() {
        try? send(.disconnect)
        closeGently()
    }

    /// The last replies (a job's final status, a generator's last tokens) may still be queued:
    /// give them a moment to leave before the socket goes.
    func closeGently() {
        try? socket?.setOption(ZMQ_LINGER, Int32(2000))
        socket?.close()
        socket = nil
    }
}
