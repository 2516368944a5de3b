import ArgumentParser
import Checkpoint
import Coordinator
import Foundation
import Messaging
import Services
import Wire

struct UpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the coordinator and the workers as separate processes on this machine; Ctrl-C stops them all.",
        discussion: """
          cuentista up --data-dir DATA --tokenizer models/base
        Logs go to DATA/logs/<process>.log. Other terminals then use `cuentista status`,
        `cuentista jobs ...` and the services at the coordinator's endpoint.
        """)

    @Option(help: "The data directory every worker shares.") var dataDir = "."
    @Option(help: "The coordinator's endpoint.") var bind = CoordinatorEndpoint.local
    @Option(help: "Default tokenizer of the tokenizer service (relative to --data-dir).") var tokenizer: String?
    @Option(help: "Tokenizer workers.") var tokenizers = 1
    @Option(help: "Dataset-prep workers.") var preps = 1
    @Option(help: "Trainer workers.") var trainers = 1
    @Option(help: "Model the generator serves (relative to --data-dir); without it no generator starts.") var model: String?
    @Option(help: "Generators (with --model).") var generators = 1
    @Option(help: "Sequences each generator decodes together.") var maxBatch = 8
    @Option(help: "trace | debug | info | notice | warning | error | critical") var logLevel = "info"

    func run() throws {
        let stop = SignalFlag()
        let data = (dataDir as NSString).standardizingPath
        // Before anything is started or any log opened: another system's logs stay as they are.
        if let running = CoordinatorLock.holder(dataDirectory: data) {
            throw UpError(CoordinatorLock.runningMessage(pid: running, dataDirectory: data))
        }
        var group = try ProcessGroup(logDirectory: (data as NSString).appendingPathComponent("logs"))
        let common = ["--data-dir", data, "--log-level", logLevel]
        try group.start("coordinator", executable: "cuentista", ["coordinator", "--bind", bind] + common)
        // Workers find the worker endpoint in the data directory (coordinator/workers.ipc).
        let connect = common
        for i in 0..<tokenizers { try group.start("tokenizer-\(i + 1)", executable: "cuentista-tokenizer", connect + (tokenizer.map { ["--tokenizer", $0] } ?? [])) }
        for i in 0..<preps { try group.start("prep-\(i + 1)", executable: "cuentista-prep", connect) }
        for i in 0..<trainers { try group.start("trainer-\(i + 1)", executable: "cuentista-trainer", connect) }
        if let model {
            for i in 0..<generators {
                try group.start("generator-\(i + 1)", executable: "cuentista-generator", connect + ["--model", model, "--max-batch", String(maxBatch)])
            }
        }
        print("logs in \(group.logDirectory)")
        print("clients: \(bind); the operator (every job, model switches): cuentista jobs list --data-dir \(data)")

        let client = try ServiceClient(context: .init(), endpoint: bind, timeoutMilliseconds: 2000)
        let expected = tokenizers + preps + trainers + (model == nil ? 0 : generators)
        let deadline = Date().addingTimeInterval(30)
        var last: StatusReply?
        while Date() < deadline && !stop.isRaised {
            if let status = try? client.status() {
                last = status
                if status.services.reduce(0, { $0 + $1.workers.count }) >= expected { break }
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        guard let last else {
            group.stopAll()
            throw UpError("the coordinator did not answer within 30 s; see \(group.logDirectory)/coordinator.log")
        }
        StatusCommand.show(last)
        print("running; Ctrl-C stops everything")
        var failed: (name: String, status: Int32)?
        while !stop.isRaised {
            if let exited = group.exited() {
                failed = exited
                break
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        group.stopAll()
        if let failed {
            throw UpError("\(failed.name) exited with status \(failed.status); everything was stopped. See \(group.logDirectory)/\(failed.name).log")
        }
    }
}

/// Why `up` could not start or keep the system running.
struct UpError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Child processes started by `up` (and the pipeline): workers stop before the coordinator.
struct ProcessGroup {
    let logDirectory: String
    var children: [(name: String, process: Process)] = []

    init(logDirectory: String) throws {
        self.logDirectory = logDirectory
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
    }

    /// The folder of the running `cuentista`, where SwiftPM and the installers put its siblings.
    static var executableDirectory: String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (me as NSString).deletingLastPathComponent
    }

    mutating func start(_ name: String, executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: (Self.executableDirectory as NSString).appendingPathComponent(executable))
        process.arguments = arguments
        let log = (logDirectory as NSString).appendingPathComponent("\(name).log")
        let handle = try OutputFile.open(log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        children.append((name, process))
        print("started \(name) (pid \(process.processIdentifier))")
    }

    func exited() -> (name: String, status: Int32)? {
        children.first { !$0.process.isRunning }.map { ($0.name, $0.process.terminationStatus) }
    }

    /// SIGTERM to the workers, then to the coordinator; SIGKILL whatever is left after 30 s.
    func stopAll(quiet: Bool = false) {
        let workers = children.filter { $0.name != "coordinator" }, coordinator = children.filter { $0.name == "coordinator" }
        for batch in [workers, coordinator] {
            for child in batch where child.process.isRunning { kill(child.process.processIdentifier, SIGTERM) }
            let deadline = Date().addingTimeInterval(30)
            while batch.contains(where: { $0.process.isRunning }) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            for child in batch where child.process.isRunning { kill(child.process.processIdentifier, SIGKILL) }
            if !quiet { for child in batch { print("stopped \(child.name)") } }
        }
    }
}
