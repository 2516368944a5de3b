import Foundation
import Messaging
import Wire

/// The body of `cuentista-prep` and `cuentista-trainer`.
public enum JobWorkerMain {
    public static func run(kind: String, _ arguments: WorkerSettings) throws {
        let stop = SignalFlag()
        let logger = arguments.logger("cuentista.\(kind)")
        let jobs = JobWorker(kind: kind, data: arguments.data, workerId: arguments.name(for: kind), logger: logger)
        let context = ZMQContext()
        let worker = try arguments.worker(context: context, service: kind, logger: logger,
                                          hello: { jobs.hello.wire() }, heartbeat: { jobs.heartbeat.wire() })
        logger.info("\(jobs.workerId) taking '\(kind)' jobs from \(arguments.coordinator), data directory \(arguments.data.root)")
        try jobs.serve(worker) { stop.isRaised }
    }
}

/// Hello and heartbeat bodies of simple workers.
public enum WorkerHelloBytes {
    public static func make(service: String, id: String, capacity: UInt32 = 1, model: String = "") -> [UInt8] {
        WorkerHello(version: .v1, service: service, workerId: id, host: ProcessInfo.processInfo.hostName, capacity: capacity, model: model).wire()
    }
}

public enum HeartbeatBytes {
    public static func make(id: String, busy: UInt32 = 0) -> [UInt8] { Heartbeat(workerId: id, busy: busy).wire() }
}
