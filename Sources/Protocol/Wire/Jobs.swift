// jobs.proto: service "jobs" and the job workers ("prepare", "train").

/// The local `prepare` command's options. The optionals are sent only when set: unset, the
/// receiver takes the `cuentista prepare` default (`PrepareJobSpec`), so the two never disagree.
public struct PrepareSpec: Sendable, Equatable {
    public var inputs: [String]
    public var tokenizer: String
    public var out: String
    public var format: String
    public var field: String
    public var template: String
    public var maxLength: UInt32
    public var layout: String
    public var valFraction: Double?
    public var seed: UInt64?
    public var dedupe: Bool
    public var limit: UInt32
    public var fraction: Double
    public var minChars: UInt32?
    public var maxChars: UInt32
    public var blocks: Bool
    public var delimiter: String
    public var shuffleWindow: UInt32?

    public init(
        inputs: [String] = [], tokenizer: String = "", out: String = "", format: String = "", field: String = "",
        template: String = "", maxLength: UInt32 = 0, layout: String = "", valFraction: Double? = nil, seed: UInt64? = nil,
        dedupe: Bool = false, limit: UInt32 = 0, fraction: Double = 0, minChars: UInt32? = nil, maxChars: UInt32 = 0,
        blocks: Bool = false, delimiter: String = "", shuffleWindow: UInt32? = nil
    ) {
        self.inputs = inputs
        self.tokenizer = tokenizer
        self.out = out
        self.format = format
        self.field = field
        self.template = template
        self.maxLength = maxLength
        self.layout = layout
        self.valFraction = valFraction
        self.seed = seed
        self.dedupe = dedupe
        self.limit = limit
        self.fraction = fraction
        self.minChars = minChars
        self.maxChars = maxChars
        self.blocks = blocks
        self.delimiter = delimiter
        self.shuffleWindow = shuffleWindow
    }
}

/// The local `train` command's options. The optionals are sent only when set: unset, the
/// receiver takes the `cuentista train` default (`TrainJobSpec`).
public struct TrainSpec: Sendable, Equatable {
    public var model: String
    public var data: String
    public var out: String
    public var epochs: UInt32?
    public var maxSteps: UInt32
    public var batchSize: UInt32?
    public var gradAccum: UInt32?
    public var lr: Float?
    public var weightDecay: Float?
    public var maxGradNorm: Float?
    public var lrSchedule: String
    public var warmupSteps: UInt32
    public var dropout: Float?
    public var evalEvery: UInt32
    public var saveTotalLimit: UInt32?
    public var seed: UInt64?
    public var noShuffle: Bool
    public var deploy: Bool
    public var saveEvery: UInt32
    public var logJson: String

    public init(
        model: String = "", data: String = "", out: String = "", epochs: UInt32? = nil, maxSteps: UInt32 = 0,
        batchSize: UInt32? = nil, gradAccum: UInt32? = nil, lr: Float? = nil, weightDecay: Float? = nil, maxGradNorm: Float? = nil,
        lrSchedule: String = "", warmupSteps: UInt32 = 0, dropout: Float? = nil, evalEvery: UInt32 = 0,
        saveTotalLimit: UInt32? = nil, seed: UInt64? = nil, noShuffle: Bool = false, deploy: Bool = false, saveEvery: UInt32 = 0,
        logJson: String = ""
    ) {
        self.model = model
        self.data = data
        self.out = out
        self.epochs = epochs
        self.maxSteps = maxSteps
        self.batchSize = batchSize
        self.gradAccum = gradAccum
        self.lr = lr
        self.weightDecay = weightDecay
        self.maxGradNorm = maxGradNorm
        self.lrSchedule = lrSchedule
        self.warmupSteps = warmupSteps
        self.dropout = dropout
        self.evalEvery = evalEvery
        self.saveTotalLimit = saveTotalLimit
        self.seed = seed
        self.noShuffle = noShuffle
        self.deploy = deploy
        self.saveEvery = saveEvery
        self.logJson = logJson
    }
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
