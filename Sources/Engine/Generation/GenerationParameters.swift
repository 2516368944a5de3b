/// How tokens are chosen.
public enum Strategy: String, Sendable, Codable, CaseIterable {
    /// The most probable token (after the logits processors).
    case greedy
    /// A token drawn from the processed distribution.
    case sample
    /// The notebook's policy: with probability `epsilon` the most probable token, otherwise a
    /// token drawn from the processed distribution. `epsilon = 1` is greedy, `0` is sampling.
    case epsilonGreedy = "epsilon-greedy"
}

/// Everything a generation request can set. Semantics follow `transformers` where it has the
/// parameter (order of application included), and the OpenAI API for the penalties it added.
public struct GenerationParameters: Sendable, Equatable, Codable {
    public var strategy: Strategy = .greedy
    public var maxNewTokens = 32
    /// EOS is suppressed until this many tokens were generated (`MinNewTokensLengthLogitsProcessor`).
    public var minNewTokens = 0
    /// Divides the logits (`TemperatureLogitsWarper`); sampling only.
    public var temperature: Float = 1
    /// Keeps the k most probable tokens; 0 disables (`TopKLogitsWarper`).
    public var topK = 0
    /// Keeps the smallest set whose probability reaches p; 1 disables (`TopPLogitsWarper`).
    public var topP: Float = 1
    /// Drops tokens less probable than min_p times the top token; 0 disables (`MinPLogitsWarper`).
    public var minP: Float = 0
    /// Locally typical sampling mass; 1 disables (`TypicalLogitsWarper`).
    public var typicalP: Float = 1
    /// `transformers`' rule over prompt and output tokens: positive logits divided, negative
    /// multiplied by the penalty; 1 disables.
    public var repetitionPenalty: Float = 1
    /// OpenAI rule over generated tokens: minus this once a token appeared.
    public var presencePenalty: Float = 0
    /// OpenAI rule over generated tokens: minus this times the token's count.
    public var frequencyPenalty: Float = 0
    /// Bans tokens that would repeat an n-gram of prompt + output; 0 disables.
    public var noRepeatNgramSize = 0
    /// Added to the logits of the given token ids before anything else (OpenAI `logit_bias`).
    public var logitBias: [Int32: Float] = [:]
    /// Probability of taking the most probable token in `epsilon-greedy`.
    public var epsilon: Float = 0.5
    /// Generation ends before any of these strings; they are never emitted.
    public var stop: [String] = []
    /// Completions per prompt.
    public var n = 1
    /// Seed of the sampler. The same seed gives the same text whatever else runs in the batch.
    public var seed: UInt64 = 0
    /// Candidates recorded per step in the trace; 0 records no trace.
    public var traceTop = 0
    /// Keep generating after EOS (benchmarks).
    public var ignoreEOS = false

    public init() {}

    public var samples: Bool { strategy != .greedy }

    public static let maxStopStrings = 64
    public static let maxStopStringBytes = 1024
    /// More than any vocabulary this engine loads entries for (GPT-2's has 50,257).
    public static let maxLogitBiases = 65_536

    /// Checks every value; the error names the parameter.
    public func validate(promptLength: Int? = nil, contextLength: Int? = nil) throws(GenerationError) {
        func fail(_ name: String, _ reason: String) -> GenerationError { .invalidParameter(name: name, reason: reason) }
        if maxNewTokens < 1 { throw fail("max_new_tokens", "must be at least 1, got \(maxNewTokens)") }
        if minNewTokens < 0 || minNewTokens > maxNewTokens {
            throw fail("min_new_tokens", "must be between 0 and max_new_tokens (\(maxNewTokens)), got \(minNewTokens)")
        }
        if !(temperature > 0) || !temperature.isFinite { throw fail("temperature", "must be a positive number, got \(temperature)") }
        if topK < 0 { throw fail("top_k", "must be 0 (off) or positive, got \(topK)") }
        if !(topP > 0 && topP <= 1) { throw fail("top_p", "must be in (0, 1], got \(topP)") }
        if !(minP >= 0 && minP <= 1) { throw fail("min_p", "must be in [0, 1], got \(minP)") }
        if !(typicalP > 0 && typicalP <= 1) { throw fail("typical_p", "must be in (0, 1], got \(typicalP)") }
        if !(repetitionPenalty > 0) || !repetitionPenalty.isFinite {
            throw fail("repetition_penalty", "must be a positive number, got \(repetitionPenalty)")
        }
        if !presencePenalty.isFinite || abs(presencePenalty) > 2 { throw fail("presence_penalty", "must be in [-2, 2], got \(presencePenalty)") }
        if !frequencyPenalty.isFinite || abs(frequencyPenalty) > 2 { throw fail("frequency_penalty", "must be in [-2, 2], got \(frequencyPenalty)") }
        if noRepeatNgramSize < 0 { throw fail("no_repeat_ngram_size", "must be 0 (off) or positive, got \(noRepeatNgramSize)") }
        if !(epsilon >= 0 && epsilon <= 1) { throw fail("epsilon", "must be in [0, 1], got \(epsilon)") }
        if n < 1 || n > 64 { throw fail("n", "must be between 1 and 64, got \(n)") }
        if traceTop < 0 || traceTop > 100 { throw fail("trace_top", "must be between 0 and 100, got \(traceTop)") }
        if stop.contains(where: \.isEmpty) { throw fail("stop", "stop strings must not be empty") }
        // Every stop string is matched against every new token's text: their number and length
        // bound the work per step (a million of them held every slot for 25 s).
        if stop.count > Self.maxStopStrings { throw fail("stop", "at most \(Self.maxStopStrings) stop strings, got \(stop.count)") }
        if let long = stop.first(where: { $0.utf8.count > Self.maxStopStringBytes }) {
            throw fail("stop", "a stop string has at most \(Self.maxStopStringBytes) bytes; one has \(long.utf8.count)")
        }
        if logitBias.count > Self.maxLogitBiases { throw fail("logit_bias", "at most \(Self.maxLogitBiases) entries, got \(logitBias.count)") }
        for (token, bias) in logitBias where !bias.isFinite && bias != -.infinity {
            throw fail("logit_bias", "bias for token \(token) must be a number or -inf")
        }
        if let promptLength, let contextLength {
            if promptLength == 0 { throw fail("prompt", "must not be empty") }
            if promptLength >= contextLength {
                throw fail("prompt", "has \(promptLength) tokens; the model's context is \(contextLength), so at most \(contextLength - 1) leave room for one new token")
            }
        }
    }
}

public enum GenerationError: Error, Equatable, CustomStringConvertible {
    case invalidParameter(name: String, reason: String)
    case model(String)

    public var description: String {
        switch self {
        case let .invalidParameter(name, reason): return "invalid \(name): \(reason)"
        case let .model(message): return message
        }
    }
}
