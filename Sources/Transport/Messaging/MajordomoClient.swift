import CZMQ
import Foundation

/// A Majordomo client: addresses a service by name through the broker and reads its partial and
/// final replies. One request at a time per client (open several clients for concurrency).
public final class MajordomoClient {
    public struct Reply: Sendable, Equatable {
        public let service: String
        public let body: [UInt8]
        public let final: Bool
    }

    let context: ZMQContext
    public let endpoint: String
    let serverKey: String?
    let keys: CurveKeys?
    var socket: ZMQSocket

    /// `serverKey` and `keys`: CurveZMQ, when the broker requires it.
    public init(context: ZMQContext, endpoint: String, serverKey: String? = nil, keys: CurveKeys? = nil) throws(ZMQError) {
        self.context = context
        self.endpoint = endpoint
        self.serverKey = serverKey
        self.keys = keys
        socket = try Self.open(context, endpoint, serverKey, keys)
    }

    static func open(_ context: ZMQContext, _ endpoint: String, _ serverKey: String?, _ keys: CurveKeys?) throws(ZMQError) -> ZMQSocket {
        let socket = try ZMQSocket(context, .dealer)
        try socket.setMaxMessageSize(4 * Majordomo.defaultMaxMessageBytes)
        // A DEALER with no live connection (e.g. its handshake was refused) blocks in send:
        // give up after a while instead of hanging.
        try socket.setSendTimeout(milliseconds: 5000)
        if let serverKey, let keys { try socket.setCurveClient(serverKey: serverKey, keys: keys) }
        try socket.connect(endpoint)
        return socket
    }

    /// Drops the connection and anything in flight (a retry starts clean).
    public func reconnect() throws(ZMQError) {
        socket.close()
        socket = try Self.open(context, endpoint, serverKey, keys)
    }

    public func send(service: String, body: [UInt8]) throws(ZMQError) {
        try socket.send([[], Majordomo.clientHeader, [Majordomo.ClientCommand.request.rawValue], Array(service.utf8), body])
    }

    /// Sends frames exactly as given (tests of malformed input).
    public func sendRaw(_ frames: [[UInt8]]) throws(ZMQError) { try socket.send(frames) }

    /// The next reply, or nil after `timeoutMilliseconds` without one. Malformed frames are skipped.
    public func receive(timeoutMilliseconds: Int) throws(ZMQError) -> Reply? {
        let start = DispatchTime.now()
        while true {
            let left = timeoutMilliseconds - Majordomo.milliseconds(since: start)
            if left <= 0 { return nil }
            guard try poll([socket], timeoutMilliseconds: left)[0], let frames = try socket.receive(dontWait: true) else { continue }
            guard frames.count >= 5, frames[0].isEmpty, frames[1] == Majordomo.clientHeader, frames[2].count == 1,
                  let command = Majordomo.ClientCommand(rawValue: frames[2][0]), command != .request else { continue }
            return Reply(service: String(decoding: frames[3], as: UTF8.self), body: frames[4], final: command == .final)
        }
    }

    /// One request, its final reply (partial replies go to `onPartial`). With `retries`, a request
    /// left without any reply is sent again on a fresh connection; use it for idempotent requests.
    public func request(service: String, body: [UInt8], timeoutMilliseconds: Int = 30_000, retries: Int = 0,
                        onPartial: ([UInt8]) throws -> Void = { _ in }) throws -> [UInt8] {
        var attempt = 0
        while true {
            var heardAnything = false
            do { try send(service: service, body: body) } catch where error.wouldBlock {
                // Not even sent: no connection could be made in time.
                attempt += 1
                do { try reconnect() } catch { throw MajordomoError.transport(error) }
                if attempt > retries { throw MajordomoError.timeout(service: service, milliseconds: timeoutMilliseconds) }
                continue
            } catch {
                throw MajordomoError.transport(error)
            }
            while true {
                let reply: Reply?
                do { reply = try receive(timeoutMilliseconds: timeoutMilliseconds) } catch { throw MajordomoError.transport(error) }
                guard let reply else { break }
                heardAnything = true
                if reply.final { return reply.body }
                do { try onPartial(reply.body) } catch {
                    try? reconnect()
                    throw error
                }
            }
            // A fresh connection either way: a late reply to this request must not be taken for
            // the answer to the next one. A stream that stopped half-way is not retried.
            attempt += 1
            do { try reconnect() } catch { throw MajordomoError.transport(error) }
            if heardAnything || attempt > retries { throw MajordomoError.timeout(service: service, milliseconds: timeoutMilliseconds) }
        }
    }
}
