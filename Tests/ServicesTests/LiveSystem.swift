import Checkpoint
import Foundation
import GPT2
import Messaging
import Services
import Testing
import Wire

/// The real executables on loopback, each a separate process, around one temporary data
/// directory: what the integration tests start, kill and restart.
final class LiveSystem {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binaries: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            if FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("cuentista-trainer").path) { return directory }
            directory = directory.deletingLastPathComponent()
        }
        return repository.appendingPathComponent(".build/debug")
    }

    let data: String
    let endpoint: String
    let context = ZMQContext()
    var processes: [String: Process] = [:]
    var extraCoordinatorArguments: [String]

    init(coordinatorArguments: [String] = []) throws {
        data = FileManager.default.temporaryDirectory.appendingPathComponent("cuentista-live-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: data + "/logs", withIntermediateDirectories: true)
        endpoint = "tcp://127.0.0.1:\(Self.freePort())"
        extraCoordinatorArguments = coordinatorArguments
    }

    deinit {
        for process in processes.values where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: data)
    }

    /// A TCP port nobody listens on right now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @discardableResult
    func start(_ name: String, _ executable: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = Self.binaries.appendingPathComponent(executable)
        process.arguments = arguments
        let log = "\(data)/logs/\(name).log"
        // Appending: a restarted process's log follows its previous run's.
        let handle = try OutputFile.open(log, appending: true)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes[name] = process
        return process
    }

    func startCoordinator() throws {
        try start("coordinator", "cuentista", ["coordinator", "--bind", endpoint, "--data-dir", data, "--log-level", "debug"] + extraCoordinatorArguments)
    }

    /// Workers find the coordinator's worker endpoint in the data directory.
    func startWorker(_ name: String, _ executable: String, _ arguments: [String] = []) throws {
        try start(name, executable, ["--data-dir", data, "--worker-id", name] + arguments)
    }

    /// Where workers connect (not `endpoint`, which is the clients').
    var workerEndpoint: String { CoordinatorEndpoint.workers(in: data) }

    /// A client on the operator's endpoint (an admin: it sees every job, as the tests need);
    /// `endpoint` is where ordinary clients connect.
    func client(timeoutMilliseconds: Int = 10_000) throws -> ServiceClient {
        try ServiceClient(context: context, endpoint: adminEndpoint, timeoutMilliseconds: timeoutMilliseconds)
    }

    var adminEndpoint: String { CoordinatorEndpoint.admin(in: data) }

    func log(_ name: String) -> String { (try? String(contentsOfFile: "\(data)/logs/\(name).log", encoding: .utf8)) ?? "" }

    /// Waits until the coordinator lists `count` workers of `service`.
    func waitForWorkers(_ service: String, count: Int, timeout: TimeInterval = 20) throws {
        let client = try self.client(timeoutMilliseconds: 1000)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = try? client.status(), (status.services.first { $0.service == service }?.workers.count ?? 0) >= count { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let logs = processes.keys.sorted().map { "--- \($0):\n\(log($0).suffix(3000))" }.joined(separator: "\n")
        Issue.record("\(count) '\(service)' worker(s) did not register within \(timeout) s; logs:\n\(logs)")
        throw CancellationError()
    }

    func isRunning(_ name: String) -> Bool { processes[name]?.isRunning ?? false }

    /// Waits until the coordinator answers a status request.
    func waitUntilAnswering(timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? client(timeoutMilliseconds: 500).status()) != nil { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("the coordinator did not answer within \(timeout) s:\n\(log("coordinator").suffix(3000))")
        throw CancellationError()
    }

    func signal(_ name: String, _ number: Int32) {
        if let process = processes[name], process.isRunning { kill(process.processIdentifier, number) }
    }

    /// SIGTERM, then waits for the exit; returns the exit status.
    @discardableResult
    func stop(_ name: String, timeout: TimeInterval = 30) -> Int32? {
        guard let process = processes[name] else { return nil }
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); return nil }
        return process.terminationStatus
    }

    /// Waits for a process to exit on its own; its status, or nil if it is still running.
    func waitForExit(_ name: String, timeout: TimeInterval = 30) -> Int32? {
        guard let process = processes[name] else { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// A running process's resident memory (VmRSS), in bytes.
    func residentBytes(_ name: String) -> Int {
        guard let process = processes[name],
              let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }

    func kill9(_ name: String) {
        guard let process = processes[name] else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Copies a fixture model into the data directory (jobs name it relatively).
    func addModel(_ fixture: String, as name: String) throws {
        try FileManager.default.createDirectory(atPath: "\(data)/models", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.repository.appendingPathComponent("Tests/Fixtures/models/\(fixture)").path,
                                         toPath: "\(data)/models/\(name)")
    }

    func addCorpus() throws {
        try FileManager.default.copyItem(atPath: Self.repository.appendingPathComponent("corpus").path, toPath: "\(data)/corpus")
    }

    func submit(_ request: JobRequest.Request) throws -> JobStatus {
        let reply = try client().jobs(JobRequest(version: .v1, request: request))
        guard case let .status(status) = reply.reply else { throw CancellationError() }
        return status
    }

    func jobStatus(_ id: String) throws -> JobStatus {
        try submit(.status(id))
    }

    /// Polls until the job ends (or the timeout passes) and returns its last status.
    func waitForJob(_ id: String, timeout: TimeInterval = 120) throws -> JobStatus {
        let deadline = Date().addingTimeInterval(timeout)
        var status = try jobStatus(id)
        while Date() < deadline && [.queued, .running].contains(status.state) {
            Thread.sleep(forTimeInterval: 0.2)
            status = try jobStatus(id)
        }
        return status
    }
}



extension LiveSystem {
    /// A randomly initialised model big enough that decoding takes a while (about 26M
    /// parameters, 1,024 positions), with the tiny fixture's tokenizer.
    func addSlowModel(as name: String) throws {
        var config = GPT2Config(vocabSize: 512, nPositions: 1024, nEmbd: 512, nLayer: 8, nHead: 8)
        (config.bosTokenId, config.eosTokenId) = (0, 0)
        let model = GPT2.randomlyInitialized(config: config, seed: 11)
        let path = "\(data)/models/\(name)"
        try ModelLoader.save(model, to: path)
        for file in ["tokenizer.json", "vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(atPath: Self.repository.appendingPathComponent("Tests/Fixtures/models/tiny-safetensors/\(file)").path,
                                             toPath: "\(path)/\(file)")
        }
    }

    /// Sends a generation request and collects its events until the final one (or an error).
    func generate(_ request: GenerateRequest, timeout: Int = 60_000) throws -> (tokens: [TokenEvent], final: GenerateEvent) {
        try Self.generate(request, context: context, endpoint: endpoint, timeout: timeout)
    }

    static func generate(_ request: GenerateRequest, context: ZMQContext, endpoint: String, timeout: Int = 60_000) throws -> (tokens: [TokenEvent], final: GenerateEvent) {
        let client = try MajordomoClient(context: context, endpoint: endpoint)
        try client.send(service: "generate", body: GeneratorCall(call: .generate(request)).wire())
        var tokens: [TokenEvent] = []
        while let reply = try client.receive(timeoutMilliseconds: timeout) {
            let event = try GenerateEvent(wire: reply.body)
            if case let .token(token) = event.event { tokens.append(token) }
            if reply.final { return (tokens, event) }
        }
        throw CancellationError()
    }
}
