import Coordinator
import Foundation
import JobSpecs
import Logging
import Messaging
import Wire

/// A `BrokerCore` with a clock of its own and peers that are names: every test sends frames as
/// a client or a worker would (built here from the frame layout in service.proto, not with the
/// project's client code) and reads what the broker decided to send.
final class BrokerHarness {
    let core: BrokerCore
    let storePath: String
    private(set) var clock: UInt64
    static let heartbeat: UInt64 = 1000

    init(maxAttempts: Int = 3, maxQueuedRequests: Int = 2, serviceWaitMilliseconds: Int = 5000,
         storePath: String? = nil, clock: UInt64 = 1_000_000, configure: (inout CoordinatorConfiguration) -> Void = { _ in }) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("broker-\(UUID().uuidString)").path
        self.storePath = storePath ?? folder + "/jobs.db"
        var configuration = CoordinatorConfiguration(dataDirectory: folder, storePath: self.storePath)
        configuration.maxAttempts = maxAttempts
        configuration.maxQueuedRequests = maxQueuedRequests
        configuration.serviceWaitMilliseconds = serviceWaitMilliseconds
        configuration.heartbeatMilliseconds = Int(Self.heartbeat)
        configure(&configuration)
        var logger = Logger(label: "broker-test")
        logger.logLevel = .critical
        self.clock = clock
        core = try BrokerCore(configuration: configuration, store: try JobStore(path: self.storePath), logger: logger, now: clock)
    }

    static func id(_ name: String) -> [UInt8] { Array(name.utf8) }

    /// A client's address inside the core, as workers see it: its endpoint's tag, then its id.
    static func address(_ client: String, on channel: BrokerCore.Channel = .clients) -> [UInt8] {
        [channel == .admins ? 2 : 1] + id(client)
    }

    // MARK: inputs

    /// A client's REQUEST (service.proto: [""] ["MDPC02"] [0x01] [service] [body]).
    /// A client's REQUEST; `userId` as the ZAP handler would give it (`role:key`).
    @discardableResult
    func request(from client: String, _ service: String, _ body: [UInt8], on channel: BrokerCore.Channel = .clients, userId: String = "") -> Sent {
        Sent(core.handle([Self.id(client), [], Array("MDPC02".utf8), [1], Array(service.utf8), body], from: channel, userId: userId, now: clock))
    }

    /// Any frames, as a peer with raw sockets sends them (its routing id first).
    func raw(_ frames: [[UInt8]], on channel: BrokerCore.Channel = .clients) -> Sent {
        Sent(core.handle(frames, from: channel, now: clock))
    }

    func worker(_ name: String, _ command: UInt8, _ rest: [[UInt8]] = [], on channel: BrokerCore.Channel = .workers) -> Sent {
        Sent(core.handle([Self.id(name), [], Array("MDPW02".utf8), [command]] + rest, from: channel, now: clock))
    }

    @discardableResult
    func ready(_ name: String, _ service: String, capacity: UInt32 = 1, currentJob: String = "") -> Sent {
        let hello = WorkerHello(version: .v1, service: service, workerId: name, host: "test", capacity: capacity, currentJob: currentJob)
        return worker(name, 1, [Array(service.utf8), hello.wire()])
    }

    /// A worker's PARTIAL (3) or FINAL (4) for a client address.
    @discardableResult
    func reply(_ name: String, to address: [UInt8], _ body: [UInt8], final: Bool = true) -> Sent {
        worker(name, final ? 4 : 3, [address, [], body])
    }

    @discardableResult
    func heartbeat(_ name: String, busy: UInt32 = 0) -> Sent {
        worker(name, 5, [Heartbeat(workerId: name, busy: busy).wire()])
    }

    /// Moves the clock and lets the broker act on it.
    @discardableResult
    func advance(_ milliseconds: UInt64) -> Sent {
        clock += milliseconds
        return Sent(core.tick(now: clock))
    }

    /// The transport could not reach `peer` (a message to it failed: gone, or its queue full).
    @discardableResult
    func unreachable(_ peer: String, gone: Bool = true, on channel: BrokerCore.Channel? = nil) -> Sent {
        // Peers named W…/P…/T…/G… in these tests are workers, the others clients.
        let channel = channel ?? (["W", "P", "T", "G"].contains(peer.prefix(1)) ? .workers : .clients)
        return Sent(core.unreachable(BrokerCore.Message(channel, [Self.id(peer)]), gone: gone, now: clock))
    }

    /// The transport could not deliver this very message.
    @discardableResult
    func undelivered(_ message: BrokerCore.Message) -> Sent { Sent(core.unreachable(message, gone: true, now: clock)) }

    func jobs(from client: String, _ request: JobRequest.Request, on channel: BrokerCore.Channel = .clients, userId: String = "") -> Sent {
        self.request(from: client, InternalService.jobs, JobRequest(version: .v1, request: request).wire(), on: channel, userId: userId)
    }

    /// Submits a job and returns its id.
    func submit(_ spec: JobSpec, from client: String = "submitter", userId: String = "") throws -> String {
        let sent = jobs(from: client, .submit(spec.wire), userId: userId)
        guard case let .status(status) = try sent.jobReplies(to: client).last?.reply else { throw HarnessError("no status for the submission") }
        return status.jobId
    }

    func status(_ id: String) throws -> JobStatus {
        // The operator's endpoint: it sees every job.
        guard case let .status(status) = try jobs(from: "probe", .status(id), on: .admins).jobReplies(to: "probe").last?.reply else {
            throw HarnessError("no status for \(id)")
        }
        return status
    }

    func registered() throws -> [String: [String]] {
        let sent = request(from: "probe", InternalService.status, StatusRequest(version: .v1).wire(), on: .admins)
        guard let body = sent.toClient("probe").last?.body else { throw HarnessError("no status reply") }
        let reply = try StatusReply(wire: body)
        return Dictionary(uniqueKeysWithValues: reply.services.map { ($0.service, $0.workers.map(\.workerId)) })
    }

    static func prepareSpec(out: String = "prepared/a") -> JobSpec {
        var spec = PrepareJobSpec()
        spec.inputs = ["corpus/a.jsonl"]
        spec.tokenizer = "models/t"
        spec.out = out
        return .prepare(spec)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What the broker sent after one input, read as the peers would read it.
struct Sent {
    let messages: [BrokerCore.Message]
    init(_ messages: [BrokerCore.Message]) { self.messages = messages }

    struct ToWorker {
        let command: UInt8
        let rest: [[UInt8]]
        /// REQUEST: the address the reply goes back to, and the request.
        var address: [UInt8] { rest[0] }
        var body: [UInt8] { rest[2] }
    }

    struct ToClient {
        let final: Bool
        let service: String
        let body: [UInt8]
        var error: ErrorReply? {
            if case let .error(error) = (try? TokenizeReply(wire: body))?.reply { error } else { nil }
        }
    }

    func toWorker(_ name: String) -> [ToWorker] {
        messages.filter { $0.channel == .workers && $0.frames[0] == BrokerHarness.id(name) && $0.frames[2] == Array("MDPW02".utf8) }
            .map { ToWorker(command: $0.frames[3][0], rest: Array($0.frames[4...])) }
    }

    func requests(to name: String) -> [ToWorker] { toWorker(name).filter { $0.command == 2 } }

    func toClient(_ name: String) -> [ToClient] {
        messages.filter { $0.channel != .workers && $0.frames[0] == BrokerHarness.id(name) && $0.frames[2] == Array("MDPC02".utf8) }
            .map { ToClient(final: $0.frames[3] == [3], service: String(decoding: $0.frames[4], as: UTF8.self), body: $0.frames[5]) }
    }

    func jobReplies(to name: String) throws -> [JobReply] { try toClient(name).map { try JobReply(wire: $0.body) } }

    /// The job assignments sent to a worker.
    func assignments(to name: String) throws -> [JobAssignment] { try requests(to: name).map { try JobAssignment(wire: $0.body) } }

    var isEmpty: Bool { messages.isEmpty }
}
