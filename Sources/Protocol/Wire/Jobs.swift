// jobs.proto: service "jobs" and the job workers ("prepare", "train").

/// jobs.proto's PrepareSpec and TrainSpec, as their fields by proto name. `JobSpecs` gives the
/// fields their Swift types and defaults (`PrepareJobSpec`, `TrainJobSpec`), so a field added
/// to jobs.proto needs no Swift written here.
public struct PrepareSpec: Sendable, Equatable {
    public var fields: [String: FieldValue]

    public init(fields: [String: FieldValue] = [:]) { self.fields = fields }
}

public struct TrainSpec: Sendable, Equatable {
    public var fields: [String: FieldValue]

    public init(fields: [String: FieldValue] = [:]) { self.fields = fields }
}

public struct JobSubmit: Sendable, Equatable {
    public enum Spec: Sendable, Equatable {
        case prepare(PrepareSpec)
        case train(TrainSpec)
    }

    public var version: ProtocolVersion
    public var spec: Spec?

    public init(version: ProtocolVersion = .unspecified, spec: Spec? = nil) {
        self.version = version
        self.spec = spec
    }
}

public enum JobState: Int32, Sendable, CaseIterable, CEnum {
    case unspecified = 0
    case queued = 1
    case running = 2
    case succeeded = 3
    case failed = 4
    case cancelled = 5
}

public struct JobStatus: Sendable, Equatable {
    public var jobId: String
    public var state: JobState
    public var kind: String
    public var attempts: UInt32
    public var worker: String
    public var error: String
    public var result: String
    public var createdUnixMs: UInt64
    public var updatedUnixMs: UInt64
    /// From workers: whether another attempt may succeed where this one failed.
    public var retryable: Bool

    public init(
        jobId: String = "", state: JobState = .unspecified, kind: String = "", attempts: UInt32 = 0, worker: String = "",
        error: String = "", result: String = "", createdUnixMs: UInt64 = 0, updatedUnixMs: UInt64 = 0, retryable: Bool = false
    ) {
        self.jobId = jobId
        self.state = state
        self.kind = kind
        self.attempts = attempts
        self.worker = worker
        self.error = error
        self.result = result
        self.createdUnixMs = createdUnixMs
        self.updatedUnixMs = updatedUnixMs
        self.retryable = retryable
    }
}

public struct JobProgress: Sendable, Equatable {
    public var jobId: String
    public var step: UInt32
    public var totalSteps: UInt32
    public var epoch: UInt32
    public var loss: Float
    public var tokensPerSecond: Double
    public var etaSeconds: Double
    /// Set only on the progress reply that follows an evaluation.
    public var eval: Evaluation?
    public var checkpoint: String

    public init(
        jobId: String = "", step: UInt32 = 0, totalSteps: UInt32 = 0, epoch: UInt32 = 0, loss: Float = 0,
        tokensPerSecond: Double = 0, etaSeconds: Double = 0, eval: Evaluation? = nil, checkpoint: String = ""
    ) {
        self.jobId = jobId
        self.step = step
        self.totalSteps = totalSteps
        self.epoch = epoch
        self.loss = loss
        self.tokensPerSecond = tokensPerSecond
        self.etaSeconds = etaSeconds
        self.eval = eval
        self.checkpoint = checkpoint
    }
}

public struct Evaluation: Sendable, Equatable {
    public var loss: Float
    public var perplexity: Float

    public init(loss: Float = 0, perplexity: Float = 0) {
        self.loss = loss
        self.perplexity = perplexity
    }
}

public struct JobRequest: Sendable, Equatable {
    public enum Request: Sendable, Equatable {
        case submit(JobSubmit)
        /// A job id.
        case status(String)
        /// A job id.
        case cancel(String)
        /// A job id: partial replies with progress until it ends.
        case follow(String)
        case list(Bool)
    }

    public var version: ProtocolVersion
    public var request: Request?

    public init(version: ProtocolVersion = .unspecified, request: Request? = nil) {
        self.version = version
        self.request = request
    }
}

public struct JobReply: Sendable, Equatable {
    public enum Reply: Sendable, Equatable {
        case error(ErrorReply)
        case status(JobStatus)
        case progress(JobProgress)
        case list(JobList)
    }

    public var reply: Reply?

    public init(reply: Reply? = nil) { self.reply = reply }
}

public struct JobList: Sendable, Equatable {
    public var jobs: [JobStatus]

    public init(jobs: [JobStatus] = []) { self.jobs = jobs }
}

public struct JobAssignment: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        case run(JobSubmit)
        case cancel(Bool)
    }

    public var version: ProtocolVersion
    public var jobId: String
    public var attempt: UInt32
    public var resume: Bool
    public var action: Action?

    public init(version: ProtocolVersion = .unspecified, jobId: String = "", attempt: UInt32 = 0, resume: Bool = false, action: Action? = nil) {
        self.version = version
        self.jobId = jobId
        self.attempt = attempt
        self.resume = resume
        self.action = action
    }
}
