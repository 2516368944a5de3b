// service.proto: worker registration, heartbeats and service "status".

public struct WorkerHello: Sendable, Equatable {
    public var version: ProtocolVersion
    /// tokenize | prepare | train | generate
    public var service: String
    public var workerId: String
    public var host: String
    public var capacity: UInt32
    public var model: String
    /// Set after a reconnect while a job still runs, so the broker does not start it twice.
    public var currentJob: String

    public init(
        version: ProtocolVersion = .unspecified, service: String = "", workerId: String = "", host: String = "",
        capacity: UInt32 = 0, model: String = "", currentJob: String = ""
    ) {
        self.version = version
        self.service = service
        self.workerId = workerId
        self.host = host
        self.capacity = capacity
        self.model = model
        self.currentJob = currentJob
    }
}

public struct Heartbeat: Sendable, Equatable {
    public var workerId: String
    public var busy: UInt32
    public var jobId: String

    public init(workerId: String = "", busy: UInt32 = 0, jobId: String = "") {
        self.workerId = workerId
        self.busy = busy
        self.jobId = jobId
    }
}

public struct StatusRequest: Sendable, Equatable {
    public var version: ProtocolVersion

    public init(version: ProtocolVersion = .unspecified) { self.version = version }
}

public struct StatusReply: Sendable, Equatable {
    /// Optional although the proto has no oneof here: a present error is what makes this a
    /// failed reply, and the broker's generic error bytes must read as one.
    public var error: ErrorReply?
    public var services: [WorkerStatus]
    public var jobs: [JobStatus]
    /// Unfinished jobs left out of `jobs` (the reply lists `maxJobs` at most).
    public var jobsNotListed: UInt32

    public static let maxJobs = 1000

    public init(error: ErrorReply? = nil, services: [WorkerStatus] = [], jobs: [JobStatus] = [], jobsNotListed: UInt32 = 0) {
        self.error = error
        self.services = services
        self.jobs = jobs
        self.jobsNotListed = jobsNotListed
    }
}

public struct WorkerStatus: Sendable, Equatable {
    public var service: String
    public var workers: [WorkerHello]

    public init(service: String = "", workers: [WorkerHello] = []) {
        self.service = service
        self.workers = workers
    }
}
