import ArgumentParser
import Messaging
import Services

/// The options every worker executable shares; `settings` is what the worker loops take.
public struct WorkerArguments: ParsableArguments {
    @Option(help: "The coordinator's worker endpoint (default: the Unix socket in --data-dir, coordinator/workers.ipc; across hosts its --worker-bind address).")
    public var coordinator: String?
    /// The spelling of earlier versions, still accepted.
    @Option(name: .customLong("connect"), help: .hidden)
    var connectAlias: String?
    @Option(help: "The data directory all workers share; jobs and requests name paths relative to it.")
    public var dataDir = "."
    @Option(help: "This worker's name in logs and `cuentista status` (default: service-host-pid).")
    public var workerId: String?
    @Option(help: "trace | debug | info | notice | warning | error | critical")
    public var logLevel = "info"
    @Option(help: "CurveZMQ: the coordinator's public key file (from `cuentista keys generate`); enables encryption.")
    public var serverKey: String?
    @Option(help: "CurveZMQ: this worker's key file (public and secret key).")
    public var keys: String?

    public init() {}

    public func validate() throws {
        if let connectAlias, let coordinator, connectAlias != coordinator {
            throw ValidationError("--connect \(connectAlias) and --coordinator \(coordinator) disagree; give one (--connect is the old spelling)")
        }
    }

    /// The endpoint in effect (`--connect`, the spelling of earlier versions, when given).
    public var connect: String { connectAlias ?? coordinator ?? CoordinatorEndpoint.workers(in: dataDir) }

    public var settings: WorkerSettings {
        var settings = WorkerSettings()
        settings.coordinator = connect
        settings.dataDir = dataDir
        settings.workerId = workerId
        settings.logLevel = logLevel
        settings.serverKey = serverKey
        settings.keys = keys
        return settings
    }
}
