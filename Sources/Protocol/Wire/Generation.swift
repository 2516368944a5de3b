// generation.proto: service "generate".

public enum Strategy: Int32, Sendable, CaseIterable, CEnum {
    case greedy = 0
    case sample = 1
    /// argmax with probability `epsilon`, else sample.
    case epsilonGreedy = 2
}

/// Not used by any message yet; mirrored so the proto and this module list the same names.
public enum Precision: Int32, Sendable, CaseIterable, CEnum {
    case fp32 = 0
    case bf16 = 1
}

public enum FinishReason: Int32, Sendable, CaseIterable, CEnum {
    case unspecified = 0
    case eos = 1
    case stop = 2
    case length = 3
    case cancelled = 4
    case deadline = 5
}

/// Zeros mean "the engine's default" (see the proto); `epsilon` is optional because 0 is a
/// meaningful value there.
public struct GenerationParameters: Sendable, Equatable {
    public var strategy: Strategy
    public var maxNewTokens: UInt32
    public var minNewTokens: UInt32
    public var temperature: Float
    public var topK: UInt32
    public var topP: Float
    public var minP: Float
    public var typicalP: Float
    public var repetitionPenalty: Float
    public var presencePenalty: Float
    public var frequencyPenalty: Float
    public var noRepeatNgramSize: UInt32
    public var logitBias: [UInt32: Float]
    public var epsilon: Float?
    public var stop: [String]
    public var n: UInt32
    public var seed: UInt64
    public var traceTop: UInt32
    public var ignoreEos: Bool

    public init(
        strategy: Strategy = .greedy, maxNewTokens: UInt32 = 0, minNewTokens: UInt32 = 0, temperature: Float = 0,
        topK: UInt32 = 0, topP: Float = 0, minP: Float = 0, typicalP: Float = 0, repetitionPenalty: Float = 0,
        presencePenalty: Float = 0, frequencyPenalty: Float = 0, noRepeatNgramSize: UInt32 = 0,
        logitBias: [UInt32: Float] = [:], epsilon: Float? = nil, stop: [String] = [], n: UInt32 = 0,
        seed: UInt64 = 0, traceTop: UInt32 = 0, ignoreEos: Bool = false
    ) {
        self.strategy = strategy
        self.maxNewTokens = maxNewTokens
        self.minNewTokens = minNewTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.typicalP = typicalP
        self.repetitionPenalty = repetitionPenalty
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.noRepeatNgramSize = noRepeatNgramSize
        self.logitBias = logitBias
        self.epsilon = epsilon
        self.stop = stop
        self.n = n
        self.seed = seed
        self.traceTop = traceTop
        self.ignoreEos = ignoreEos
    }
}

public struct GenerateRequest: Sendable, Equatable {
    public enum Prompt: Sendable, Equatable {
        case text(String)
        case tokens(TokenIds)
    }

    public var version: ProtocolVersion
    public var requestId: String
    public var model: String
    public var prompt: Prompt?
    /// Optional: a request without parameters gets every engine default.
    public var parameters: GenerationParameters?
    public var queueDeadlineMs: UInt32
    public var generationDeadlineMs: UInt32
    public var stream: Bool

    public init(
        version: ProtocolVersion = .unspecified, requestId: String = "", model: String = "", prompt: Prompt? = nil,
        parameters: GenerationParameters? = nil, queueDeadlineMs: UInt32 = 0, generationDeadlineMs: UInt32 = 0,
        stream: Bool = false
    ) {
        self.version = version
        self.requestId = requestId
        self.model = model
        self.prompt = prompt
        self.parameters = parameters
        self.queueDeadlineMs = queueDeadlineMs
        self.generationDeadlineMs = generationDeadlineMs
        self.stream = stream
    }
}

extension GenerateRequest {
    /// The largest generate body any service takes: a prompt fills a model's context at most
    /// (32,768 tokens are about 160 KB as ids or text), plus the bounded stop strings and logit
    /// biases. The coordinator holds bodies to it before decoding one.
    public static let maxBodyBytes = 2 << 20
}

public struct TokenIds: Sendable, Equatable {
    public var ids: [UInt32]

    public init(ids: [UInt32] = []) { self.ids = ids }
}

public struct CancelRequest: Sendable, Equatable {
    public var version: ProtocolVersion
    public var requestId: String

    public init(version: ProtocolVersion = .unspecified, requestId: String = "") {
        self.version = version
        self.requestId = requestId
    }
}

public struct Candidate: Sendable, Equatable {
    public var token: UInt32
    public var probability: Float
    public var processedProbability: Float
    /// The token as text, for display.
    public var text: String

    public init(token: UInt32 = 0, probability: Float = 0, processedProbability: Float = 0, text: String = "") {
        self.token = token
        self.probability = probability
        self.processedProbability = processedProbability
        self.text = text
    }
}

public struct TraceStep: Sendable, Equatable {
    public var step: UInt32
    public var candidates: [Candidate]
    public var chosen: UInt32
    public var chosenRank: UInt32
    public var chosenLogProbability: Float
    public var tookArgmax: Bool
    /// The chosen token as text, for display.
    public var chosenText: String

    public init(
        step: UInt32 = 0, candidates: [Candidate] = [], chosen: UInt32 = 0, chosenRank: UInt32 = 0,
        chosenLogProbability: Float = 0, tookArgmax: Bool = false, chosenText: String = ""
    ) {
        self.chosenText = chosenText
        self.step = step
        self.candidates = candidates
        self.chosen = chosen
        self.chosenRank = chosenRank
        self.chosenLogProbability = chosenLogProbability
        self.tookArgmax = tookArgmax
    }
}

public struct TokenEvent: Sendable, Equatable {
    public var completion: UInt32
    public var token: UInt32
    public var tokenBytes: [UInt8]
    public var text: String
    /// Optional: only requests with `traceTop > 0` carry a trace.
    public var trace: TraceStep?
    /// No new token: held-back text released at the end of the completion.
    public var textOnly: Bool

    public init(completion: UInt32 = 0, token: UInt32 = 0, tokenBytes: [UInt8] = [], text: String = "", trace: TraceStep? = nil,
                textOnly: Bool = false) {
        self.completion = completion
        self.token = token
        self.tokenBytes = tokenBytes
        self.text = text
        self.trace = trace
        self.textOnly = textOnly
    }
}

public struct Completion: Sendable, Equatable {
    public var index: UInt32
    public var tokens: [UInt32]
    public var text: String
    public var finishReason: FinishReason
    public var trace: [TraceStep]

    public init(index: UInt32 = 0, tokens: [UInt32] = [], text: String = "", finishReason: FinishReason = .unspecified, trace: [TraceStep] = []) {
        self.index = index
        self.tokens = tokens
        self.text = text
        self.finishReason = finishReason
        self.trace = trace
    }
}

public struct GenerateFinal: Sendable, Equatable {
    public var completions: [Completion]
    public var promptTokens: UInt32
    public var generatedTokens: UInt32
    public var queueMs: UInt32
    public var timeToFirstTokenMs: UInt32
    public var totalMs: UInt32
    public var model: String

    public init(
        completions: [Completion] = [], promptTokens: UInt32 = 0, generatedTokens: UInt32 = 0, queueMs: UInt32 = 0,
        timeToFirstTokenMs: UInt32 = 0, totalMs: UInt32 = 0, model: String = ""
    ) {
        self.completions = completions
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
        self.queueMs = queueMs
        self.timeToFirstTokenMs = timeToFirstTokenMs
        self.totalMs = totalMs
        self.model = model
    }
}

public struct GenerateEvent: Sendable, Equatable {
    public enum Event: Sendable, Equatable {
        case error(ErrorReply)
        case token(TokenEvent)
        case final(GenerateFinal)
        case model(ModelInfo)
    }

    public var event: Event?
    public var requestId: String

    public init(event: Event? = nil, requestId: String = "") {
        self.event = event
        self.requestId = requestId
    }
}

public struct SwitchModelRequest: Sendable, Equatable {
    public var version: ProtocolVersion
    public var model: String

    public init(version: ProtocolVersion = .unspecified, model: String = "") {
        self.version = version
        self.model = model
    }
}

public struct ModelInfo: Sendable, Equatable {
    public var model: String
    public var parameters: UInt64
    public var context: UInt32
    public var vocabSize: UInt32

    public init(model: String = "", parameters: UInt64 = 0, context: UInt32 = 0, vocabSize: UInt32 = 0) {
        self.model = model
        self.parameters = parameters
        self.context = context
        self.vocabSize = vocabSize
    }
}

public struct GeneratorCall: Sendable, Equatable {
    public enum Call: Sendable, Equatable {
        case generate(GenerateRequest)
        case cancel(CancelRequest)
        case switchModel(SwitchModelRequest)
    }

    public var call: Call?

    public init(call: Call? = nil) { self.call = call }
}
