import CZMQ
import Foundation

/// Counts the connections a listening socket holds, from libzmq's monitor events: each
/// accepted connection is reported once when it is accepted and once when it ends (its
/// handshake failed or timed out, it was refused by ZAP, or the peer went away).
public final class ConnectionCounter {
    let monitor: ZMQSocket
    public private(set) var open = 0

    public init(watching socket: ZMQSocket, context: ZMQContext) throws(ZMQError) {
        // One in-process address per counter: the socket's own address in memory is unique
        // while it lives.
        let address = "inproc://connections-\(UInt(bitPattern: Unmanaged.passUnretained(socket).toOpaque()))"
        guard zmq_socket_monitor(socket.handle, address, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) == 0 else {
            throw ZMQError("zmq_socket_monitor")
        }
        monitor = try ZMQSocket(context, .pair)
        try monitor.connect(address)
    }

    /// Takes in every event waiting; returns the connections open now.
    @discardableResult
    public func update() -> Int {
        while let frames = try? monitor.receive(dontWait: true) {
            // Frame 1: the event (16 bits) and a value (32 bits), native byte order; frame 2:
            // the endpoint.
            guard let event = frames.first, event.count >= 2 else { continue }
            let number = Int32(UInt16(event[0]) | UInt16(event[1]) << 8)
            if number == ZMQ_EVENT_ACCEPTED { open += 1 } else if number == ZMQ_EVENT_DISCONNECTED { open = max(0, open - 1) }
        }
        return open
    }
}

/// The process's limit on open files, which bounds its connections (each takes a descriptor).
public enum FileDescriptorLimit {
    /// Raises the soft limit to the hard one (systemd's default soft limit is 1,024, which 1,100
    /// idle connections exhausted); returns the limit now in force.
    @discardableResult
    public static func raiseToHard() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY is the largest value: Int.max
    }
}
