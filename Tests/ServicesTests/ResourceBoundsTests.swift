import Foundation
import Messaging
import Services
import Synchronization
import Testing
import Wire

/// The findings of issue 16 against real processes: each floods or abuses a service as an
/// outsider with raw sockets would, asserts the bound, and checks that others are served
/// meanwhile. Bodies are built by hand from the protobuf encoding rules.
@Suite("Services: bounded under abuse", .serialized)
struct ResourceBoundsTests {
    /// `count` bytes of protobuf fields no version of the .proto defines (field 127, varint 0).
    static func unknownFields(_ count: Int) -> [UInt8] {
        [UInt8]((0..<count / 3).flatMap { _ in [UInt8]([0xF8, 0x07, 0x00]) })
    }

    static func rawClient(_ endpoint: String, _ context: ZMQContext, receiveQueue: Int32 = 1000) throws -> ZMQSocket {
        let socket = try ZMQSocket(context, .dealer)
        try socket.setHighWaterMarks(send: 100_000, receive: receiveQueue)
        try socket.connect(endpoint)
        return socket
    }

    static func request(_ socket: ZMQSocket, _ service: [UInt8], _ body: [UInt8]) throws {
        try socket.send([[], Majordomo.clientHeader, [Majordomo.ClientCommand.request.rawValue], service, body])
    }

    /// The error code of a reply to a raw client, read as any client would.
    static func errorCode(_ frames: [[UInt8]]) -> ErrorCode? {
        guard frames.count >= 5 else { return nil }
        if case let .error(error) = (try? GenerateEvent(wire: frames[4]))?.event { return error.code }
        return (try? ErrorReply(wire: frames[4]))?.code
    }

    /// How long an ordinary client waits for `status` (seconds), or nil without an answer in 5 s.
    static func statusLatency(_ system: LiveSystem) -> Double? {
        guard let client = try? ServiceClient(context: system.context, endpoint: system.endpoint, timeoutMilliseconds: 5000) else { return nil }
        let start = Date()
        guard (try? client.status()) != nil else { return nil }
        return Date().timeIntervalSince(start)
    }

    /// A worker with raw sockets that registers, answers heartbeats and records when the
    /// coordinator's heartbeats arrive, until `stop`.
    final class HeartbeatProbe: Sendable {
        let arrivals = Mutex<[Date]>([])
        let stopped = Atomic<Bool>(false)
        let done = DispatchSemaphore(value: 0)

        init(endpoint: String, context: ZMQContext) {
            Thread.detachNewThread { [self] in
                defer { done.signal() }
                guard let socket = try? ZMQSocket(context, .dealer), (try? socket.connect(endpoint)) != nil else { return }
                let hello = WorkerHello(version: .v1, service: "echo", workerId: "probe", capacity: 1)
                try? socket.send([[], Majordomo.workerHeader, [Majordomo.WorkerCommand.ready.rawValue], Array("echo".utf8), hello.wire()])
                var lastBeat = Date()
                while !stopped.load(ordering: .relaxed) {
                    if (try? poll([socket], timeoutMilliseconds: 50))?.first == true, let frames = try? socket.receive(),
                       frames.count >= 3, frames[2] == [Majordomo.WorkerCommand.heartbeat.rawValue] {
                        arrivals.withLock { $0.append(Date()) }
                    }
                    if Date().timeIntervalSince(lastBeat) > 0.5 {
                        try? socket.send([[], Majordomo.workerHeader, [Majordomo.WorkerCommand.heartbeat.rawValue]])
                        lastBeat = Date()
                    }
                }
            }
        }

        /// The longest wait between two heartbeats (seconds).
        func stop() -> Double {
            stopped.store(true, ordering: .relaxed)
            done.wait()
            let times = arrivals.withLock { $0 }
            return zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }.max() ?? .infinity
        }
    }

    @Test("floods of huge and unknown-field bodies: every request answered, memory bounded, heartbeats on their beat, probes answered")
    func floodsKeepHeartbeats() throws {
        let system = try LiveSystem(coordinatorArguments: ["--log-level", "info"])
        try system.startCoordinator()
        try system.waitUntilAnswering()
        let probe = HeartbeatProbe(endpoint: system.workerEndpoint, context: system.context)
        try system.waitForWorkers("echo", count: 1)
        let baseline = system.residentBytes("coordinator")
        let attacker = try Self.rawClient(system.endpoint, system.context)
        // 60 generate requests of 15 MB while no generator is registered (they took the
        // coordinator from 25 MB to 1.44 GB), then bodies of unknown fields under every cap
        // (15 MB of them cost 0.9 s and 845 MB to parse and starved heartbeats).
        let huge = Self.unknownFields(15 << 20)
        for _ in 0..<60 { try Self.request(attacker, Array("generate".utf8), huge) }
        let fields = Self.unknownFields(GenerateRequest.maxBodyBytes - 16)
        for _ in 0..<100 { try Self.request(attacker, Array("generate".utf8), fields) }
        for _ in 0..<100 { try Self.request(attacker, Array(InternalService.jobs.utf8), Self.unknownFields(1 << 20 - 16)) }
        var codes: [ErrorCode: Int] = [:], latencies: [Double] = []
        let deadline = Date().addingTimeInterval(60)
        while codes.values.reduce(0, +) < 260 && Date() < deadline {
            if latencies.count < 20, let latency = Self.statusLatency(system) { latencies.append(latency) }
            while (try poll([attacker], timeoutMilliseconds: 10))[0], let frames = try attacker.receive() {
                codes[Self.errorCode(frames) ?? .unspecified, default: 0] += 1
            }
        }
        let peak = system.residentBytes("coordinator")
        let worstHeartbeatGap = probe.stop()
        print("floods: replies \(codes), coordinator RSS \(baseline >> 20) -> \(peak >> 20) MiB, worst heartbeat gap \(worstHeartbeatGap) s, status latency max \(latencies.max() ?? -1) s")
        #expect(codes[.tooLarge] == 60 && codes[.malformed] == 200, "\(codes)")
        #expect(peak - baseline < 300 << 20, "the coordinator grew from \(baseline >> 20) to \(peak >> 20) MiB")
        #expect(worstHeartbeatGap < 2.0, "heartbeats were \(worstHeartbeatGap) s apart")
        #expect(!latencies.isEmpty && latencies.allSatisfy { $0 < 2 }, "\(latencies)")
        #expect(try system.client().status().services.contains { $0.service == "echo" }, "the probe worker was declared dead")
        #expect(system.stop("coordinator") == 0)
    }

    @Test("huge service names and junk: answered or dropped, with a log that grows by lines, not by megabytes")
    func logsStayBounded() throws {
        let system = try LiveSystem(coordinatorArguments: ["--log-level", "info"])
        try system.startCoordinator()
        try system.waitUntilAnswering()
        let before = system.log("coordinator").utf8.count
        let attacker = try Self.rawClient(system.endpoint, system.context)
        // Ten requests for a 20 MB service name (50 MB ones grew the log by 1 GB in ten).
        let name = [UInt8](repeating: 0x41, count: 20 << 20)
        for _ in 0..<10 { try Self.request(attacker, name, [1]) }
        var malformed = 0
        let deadline = Date().addingTimeInterval(30)
        while malformed < 10 && Date() < deadline {
            if try poll([attacker], timeoutMilliseconds: 100)[0], let frames = try attacker.receive() {
                #expect(frames.map(\.count).reduce(0, +) < 4096, "a reply quoting the name")
                if Self.errorCode(frames) == .malformed { malformed += 1 }
            }
        }
        // 20,000 messages that are not Majordomo at all: each dropped, a line a second at most.
        for i in 0..<20_000 { try attacker.send([[UInt8(i & 0xFF)], [0x4A, 0x55, 0x4E, 0x4B]]) }
        Thread.sleep(forTimeInterval: 2)
        #expect(Self.statusLatency(system) != nil)
        let grown = system.log("coordinator").utf8.count - before
        print("logs: 10 requests for a 20 MB service name and 20,000 junk messages grew the coordinator's log by \(grown) bytes")
        #expect(malformed == 10)
        #expect(grown < 64 << 10, "the log grew by \(grown) bytes")
        #expect(system.stop("coordinator") == 0)
    }

    @Test("workers with 15 MB hellos are refused; status keeps working and stays small for everyone")
    func hugeHellos() throws {
        let system = try LiveSystem()
        try system.startCoordinator()
        try system.waitUntilAnswering()
        var workers: [ZMQSocket] = []
        for i in 0..<5 {
            let socket = try ZMQSocket(system.context, .dealer)
            try socket.connect(system.workerEndpoint)
            let hello = WorkerHello(version: .v1, service: "generate", workerId: "big\(i)", model: String(repeating: "m", count: 15 << 20))
            try socket.send([[], Majordomo.workerHeader, [Majordomo.WorkerCommand.ready.rawValue], Array("generate".utf8), hello.wire()])
            workers.append(socket)
        }
        for socket in workers {
            #expect(try poll([socket], timeoutMilliseconds: 5000)[0])
            #expect(try socket.receive()?.dropFirst(2).first == [Majordomo.WorkerCommand.disconnect.rawValue])
        }
        let client = try ServiceClient(context: system.context, endpoint: system.endpoint, timeoutMilliseconds: 3000)
        let body = try client.client.request(service: InternalService.status, body: StatusRequest(version: .v1).wire(), timeoutMilliseconds: 3000)
        #expect(body.count < 4096)
        #expect(try StatusReply(wire: body).services.isEmpty)
        #expect(system.stop("coordinator") == 0)
    }

    @Test("a client that never reads its replies is cut off at the high-water mark; the coordinator stays small and others are answered")
    func slowConsumer() throws {
        let system = try LiveSystem(coordinatorArguments: ["--log-level", "info"])
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.startCoordinator()
        try system.startWorker("tokenizer", "cuentista-tokenizer", ["--tokenizer", "models/tiny"])
        try system.waitForWorkers("tokenize", count: 1)
        let baseline = system.residentBytes("coordinator")
        // Each reply is 200 KB of text (token 441 of the fixture is 16 '='); the client takes one
        // message off the wire and then reads nothing: before, all 3,000 of them (600 MB)
        // waited in the coordinator.
        let reader = try Self.rawClient(system.endpoint, system.context, receiveQueue: 1)
        let decode = TokenizeRequest(version: .v1, request: .decode(DecodeRequest(ids: [UInt32](repeating: 441, count: 12_500)))).wire()
        var peak = baseline, latencies: [Double] = []
        for round in 0..<30 {
            for _ in 0..<100 { try Self.request(reader, Array("tokenize".utf8), decode) }
            Thread.sleep(forTimeInterval: 0.2)
            peak = max(peak, system.residentBytes("coordinator"))
            if round % 5 == 0, let latency = Self.statusLatency(system) { latencies.append(latency) }
        }
        Thread.sleep(forTimeInterval: 2)
        peak = max(peak, system.residentBytes("coordinator"))
        print("slow consumer: coordinator RSS \(baseline >> 20) -> \(peak >> 20) MiB, status latencies \(latencies)")
        #expect(peak - baseline < 400 << 20, "the coordinator grew from \(baseline >> 20) to \(peak >> 20) MiB")
        #expect(system.log("coordinator").contains("a client is not reading its replies"))
        #expect(latencies.count == 6 && latencies.allSatisfy { $0 < 2 }, "\(latencies)")
        #expect(system.stop("coordinator") == 0)
    }

    @Test("a cap on client connections: past it new ones are refused and logged, those held are served, and room frees as they leave")
    func connectionCap() throws {
        let system = try LiveSystem(coordinatorArguments: ["--max-connections", "20"])
        try system.startCoordinator()
        try system.waitUntilAnswering()
        func connectedClient() throws -> (ZMQSocket, Bool) {
            let socket = try Self.rawClient(system.endpoint, system.context)
            try Self.request(socket, Array(InternalService.status.utf8), StatusRequest(version: .v1).wire())
            let answered = try poll([socket], timeoutMilliseconds: 2000)[0] && (try socket.receive()) != nil
            return (socket, answered)
        }
        var held: [ZMQSocket] = []
        for _ in 0..<20 {
            let (socket, answered) = try connectedClient()
            #expect(answered)
            held.append(socket)
        }
        let (refused, answered) = try connectedClient()
        #expect(!answered, "a 21st connection was served")
        refused.close()
        #expect(system.log("coordinator").contains("its connection limit is reached"))
        // The ones held keep being served.
        try Self.request(held[0], Array(InternalService.status.utf8), StatusRequest(version: .v1).wire())
        #expect(try poll([held[0]], timeoutMilliseconds: 2000)[0])
        for socket in held.suffix(5) { socket.close() }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try connectedClient().1, "no room after five left")
        #expect(system.stop("coordinator") == 0)
    }

    /// The first event of a generate call through the coordinator (`endpoint`: the clients' or
    /// the operator's), decoded as any client would.
    static func call(_ system: LiveSystem, _ body: [UInt8], endpoint: String? = nil) throws -> GenerateEvent {
        let client = try MajordomoClient(context: system.context, endpoint: endpoint ?? system.endpoint)
        try client.send(service: "generate", body: body)
        guard let reply = try client.receive(timeoutMilliseconds: 30_000) else { throw CancellationError() }
        return try GenerateEvent(wire: reply.body)
    }

    static func errorReply(_ event: GenerateEvent) -> ErrorReply? {
        if case let .error(error) = event.event { error } else { nil }
    }

    @Test("generator: switching to the model already served loads nothing; stop strings, token ids and NUL bytes are refused with the bound, unsigned, named")
    func generatorBounds() throws {
        let system = try GeneratorServiceTests.system(slow: true)
        let before = system.residentBytes("generator")
        // Ten switches to the same model each used to load another copy (+772 MB kept).
        for _ in 0..<5 {
            let event = try Self.call(system, GeneratorCall(call: .switchModel(SwitchModelRequest(version: .v1, model: "models/slow"))).wire(),
                                      endpoint: system.adminEndpoint)
            guard case let .model(info) = event.event else { Issue.record("\(event)"); return }
            #expect(info.model == "models/slow")
        }
        let after = system.residentBytes("generator")
        print("generator: five switches to the model served: RSS \(before >> 20) -> \(after >> 20) MiB")
        #expect(after - before < 20 << 20, "\(before >> 20) -> \(after >> 20) MiB")
        #expect(system.log("generator").contains("nothing to switch"))
        func generate(_ configure: (inout GenerateRequest) -> Void) throws -> GenerateEvent {
            var request = GenerateRequest(version: .v1, requestId: "b", prompt: .text("Había"))
            configure(&request)
            return try Self.call(system, GeneratorCall(call: .generate(request)).wire())
        }
        // Stop strings: 100 are refused by count; a million do not fit in a generate body.
        let many = try generate { $0.parameters = GeneratorServiceTests.parameters { $0.stop = (0..<100).map { "s\($0)" } } }
        #expect(Self.errorReply(many)?.code == .invalidArgument && Self.errorReply(many)?.field == "stop")
        let million = try generate { $0.parameters = GeneratorServiceTests.parameters { $0.stop = [String](repeating: "ab", count: 1_000_000) } }
        #expect(Self.errorReply(million)?.code == .tooLarge)
        // A token id past Int32 is reported as sent, not as a negative number.
        let id = try generate { $0.prompt = .tokens(TokenIds(ids: [4_000_000_000])) }
        #expect(Self.errorReply(id)?.message.contains("4000000000") == true, "\(id)")
        let bias = try generate { $0.parameters = GeneratorServiceTests.parameters { $0.logitBias = [4_000_000_000: 1] } }
        #expect(Self.errorReply(bias)?.message.contains("4000000000") == true, "\(bias)")
        // A NUL in the prompt, as another language's client sends it: refused, named (before,
        // "a\0b" was generated from "a").
        let nul = GeneratorCall(call: .generate(GenerateRequest(version: .v1, requestId: "n", prompt: .text("a@b")))).wire()
        let withNul = nul.map { $0 == UInt8(ascii: "@") ? 0 : $0 }
        let refused = Self.errorReply(try Self.call(system, withNul))
        #expect(refused?.code == .malformed && refused?.message.contains("GenerateRequest.text") == true, "\(String(describing: refused))")
        #expect(throws: WireEncodingError.self) { try GeneratorCall(call: .generate(GenerateRequest(version: .v1, prompt: .text("a\0b")))).checkedWire() }
    }

    @Test("tokenizer: a reply over the frame limit is refused as TOO_LARGE instead of costing the connection; others are served")
    func tokenizerReplyTooLarge() throws {
        // Messages of 1 MiB (frames of 4 MiB) on both sides, so that the case is quick: 1 MB of
        // text with offsets makes about 5 MB of reply. (With the defaults, a 15 MB text made
        // 70 MB of reply, over the 64 MiB frame limit: three attempts, each of which cost the
        // worker its connection.)
        let system = try LiveSystem(coordinatorArguments: ["--max-message-bytes", "1048576"])
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.startCoordinator()
        try system.startWorker("tokenizer", "cuentista-tokenizer", ["--tokenizer", "models/tiny", "--max-message-bytes", "1048576"])
        try system.waitForWorkers("tokenize", count: 1)
        let text = String(repeating: "zq xv ", count: 170_000)
        let client = try ServiceClient(context: system.context, endpoint: system.endpoint, timeoutMilliseconds: 60_000)
        #expect { try client.tokenize(TokenizeRequest(version: .v1, request: .encode(EncodeRequest(text: text, withOffsets: true)))) } throws: { error in
            (error as? ServiceError)?.code == .tooLarge && "\(error)".contains("in parts")
        }
        let small = try client.tokenize(TokenizeRequest(version: .v1, request: .encode(EncodeRequest(text: "Había una vez"))))
        if case let .encode(reply) = small.reply { #expect(!reply.ids.isEmpty) } else { Issue.record("\(small)") }
        #expect(!system.log("tokenizer").contains("disconnect"), "\(system.log("tokenizer").suffix(1000))")
        #expect(system.stop("coordinator") == 0)
    }
}
