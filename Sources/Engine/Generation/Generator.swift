import Foundation
import GPT2
import Kernels

public struct GenerationRequest: Sendable {
    public var prompt: [Int32]
    public var parameters: GenerationParameters

    public init(prompt: [Int32], parameters: GenerationParameters) {
        self.prompt = prompt
        self.parameters = parameters
    }
}

public enum FinishReason: String, Sendable, Codable {
    /// The model produced its end-of-sequence token.
    case eos
    /// A stop string was reached.
    case stop
    /// max_new_tokens, or the model's context (n_positions), was reached.
    case length
    /// Stopped on request (a client's cancel or disconnect).
    case cancelled
    /// The request's generation deadline passed.
    case deadline
}

public struct Completion: Sendable, Codable {
    public init(request: Int, index: Int, tokens: [Int32], text: String, finishReason: FinishReason, promptTokens: Int, trace: [TraceStep]) {
        self.request = request
        self.index = index
        self.tokens = tokens
        self.text = text
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.trace = trace
    }

    public let request: Int
    public let index: Int
    public let tokens: [Int32]
    public let text: String
    public let finishReason: FinishReason
    public let promptTokens: Int
    public let trace: [TraceStep]
}

public struct TokenEvent: Sendable {
    public let request: Int
    public let index: Int
    public let token: Int32
    public let bytes: [UInt8]
    /// Text that became safe to show with this token (may be empty).
    public let text: String
    public let trace: TraceStep?
}

public enum GenerationEvent: Sendable {
    case token(TokenEvent)
    case finished(Completion)
}

/// Runs generation requests over one model: every prompt is prefilled once, its `n`
/// completions share that prefill, and all sequences decode together, one batched forward
/// pass per step.
public final class Generator: Sendable {
    public let model: GPT2
    public let eosToken: Int32?
    public let decodeWeights: DecodeWeights
    let tokenBytes: @Sendable (Int32) -> [UInt8]

    /// `tokenBytes` gives each token's bytes (from the tokenizer) for text and stop strings.
    /// `precision` is the precision of the weights decode steps read (prefills use float32).
    public init(model: GPT2, eosToken: Int32?, precision: WeightPrecision = .fp32,
                tokenBytes: @escaping @Sendable (Int32) -> [UInt8] = { _ in [] }) {
        self.model = model
        // An end-of-text id outside the vocabulary (transformers allows it: a config's default
        // 50256 with a smaller vocabulary) can never be sampled; it must not index the logits.
        self.eosToken = eosToken.flatMap { $0 >= 0 && Int($0) < model.config.vocabSize ? $0 : nil }
        self.tokenBytes = tokenBytes
        decodeWeights = DecodeWeights(model: model, precision: precision)
    }

    struct Sequence {
        let request: Int
        let index: Int
        let slot: Int
        let parameters: GenerationParameters
        let promptLength: Int
        var tokens: [Int32]
        var counts: [Int32: Int] = [:]
        var random: SeededGenerator
        var text: TextStream
        var output = ""
        var trace: [TraceStep] = []
        var finish: FinishReason?
        var generated: Int { tokens.count - promptLength }
    }

    /// Checks a request against this model before it is queued.
    public func validate(_ request: GenerationRequest) throws(GenerationError) {
        try request.parameters.validate(promptLength: request.prompt.count, contextLength: model.config.nPositions)
        if let bad = request.prompt.first(where: { $0 < 0 || Int($0) >= model.config.vocabSize }) {
            throw .invalidParameter(name: "prompt", reason: "token id \(bad) is outside the vocabulary (size \(model.config.vocabSize))")
        }
        if let bad = request.parameters.logitBias.keys.first(where: { $0 < 0 || Int($0) >= model.config.vocabSize }) {
            throw .invalidParameter(name: "logit_bias", reason: "token id \(bad) is outside the vocabulary (size \(model.config.vocabSize))")
        }
    }

    /// Runs the requests together (continuous batching over enough slots for all of them) and
    /// returns each request's completions. Every request gives what it would give alone.
    public func run(_ requests: [GenerationRequest], onEvent: (GenerationEvent) -> Void = { _ in }) throws(GenerationError) -> [[Completion]] {
        for request in requests { try validate(request) }
        let longest = requests.map { $0.prompt.count + $0.parameters.maxNewTokens }.max() ?? 1
        let scheduler = BatchScheduler(generator: self, slots: max(1, requests.reduce(0) { $0 + $1.parameters.n }),
                                       maxLength: min(longest, model.config.nPositions))
        for request in requests { _ = try scheduler.submit(request) }
        var results = requests.map { _ in [Completion]() }
        while !scheduler.isIdle {
            try scheduler.step { event in
                if case let .finished(completion) = event { results[completion.request].append(completion) }
                onEvent(event)
            }
        }
        return results.map { $0.sorted { $0.index < $1.index } }
    }

    func forward(_ items: [CachedToken], _ cache: KVCache) throws(GenerationError) -> [Float] {
        do { return try model.forward(items: items, cache: cache, decodeWeights: decodeWeights) } catch { throw .model(error.description) }
    }

    /// Processes one row of logits, chooses the next token and updates the sequence.
    func step(_ sequence: inout Sequence, logits raw: ArraySlice<Float>, onEvent: (GenerationEvent) -> Void) {
        let p = sequence.parameters
        var processed = Array(raw)
        if !p.logitBias.isEmpty { LogitsProcessors.logitBias(&processed, p.logitBias) }
        if p.repetitionPenalty != 1 { LogitsProcessors.repetitionPenalty(&processed, context: sequence.tokens, penalty: p.repetitionPenalty) }
        if p.presencePenalty != 0 || p.frequencyPenalty != 0 {
            LogitsProcessors.presenceFrequency(&processed, counts: sequence.counts, presence: p.presencePenalty, frequency: p.frequencyPenalty)
        }
        if p.noRepeatNgramSize > 0 { LogitsProcessors.noRepeatNgram(&processed, context: sequence.tokens, size: p.noRepeatNgramSize) }
        if let eos = eosToken, sequence.generated < p.minNewTokens { processed[Int(eos)] = -.infinity }
        if p.samples {
            LogitsProcessors.temperature(&processed, p.temperature)
            if p.topK > 0 { LogitsProcessors.topK(&processed, p.topK) }
            if p.topP < 1 { LogitsProcessors.topP(&processed, p.topP) }
            if p.minP > 0 { LogitsProcessors.minP(&processed, p.minP) }
            if p.typicalP < 1 { LogitsProcessors.typicalP(&processed, p.typicalP) }
        }

        var tookArgmax = true
        let choice: Int
        var probabilities: [Float] = []
        switch p.strategy {
        case .greedy:
            choice = Sampler.argmax(processed)
        case .sample:
            probabilities = LogitsProcessors.softmax(processed)
            choice = Sampler.draw(probabilities, using: &sequence.random)
            tookArgmax = false
        case .epsilonGreedy:
            probabilities = LogitsProcessors.softmax(processed)
            if sequence.random.unit() < Double(p.epsilon) {
                choice = Sampler.argmax(processed)
            } else {
                choice = Sampler.draw(probabilities, using: &sequence.random)
                tookArgmax = false
            }
        }
        let token = Int32(choice)

        var traceStep: TraceStep?
        if p.traceTop > 0 {
            if probabilities.isEmpty { probabilities = LogitsProcessors.softmax(processed) }
            let rawProbabilities = LogitsProcessors.softmax(Array(raw))
            let top = probabilities.indices.sorted { (probabilities[$0], -$0) > (probabilities[$1], -$1) }.prefix(p.traceTop)
            let chosenProbability = probabilities[choice]
            traceStep = TraceStep(
                step: sequence.generated, candidates: top.map {
                    Candidate(token: Int32($0), probability: rawProbabilities[$0], processedProbability: probabilities[$0])
                },
                chosen: token, chosenRank: 1 + probabilities.filter { $0 > chosenProbability }.count,
                chosenLogProbability: _log(chosenProbability), tookArgmax: tookArgmax)
            sequence.trace.append(traceStep!)
        }

        sequence.tokens.append(token)
        sequence.counts[token, default: 0] += 1
        let isEOS = token == eosToken && !p.ignoreEOS
        let bytes = isEOS ? [] : tokenBytes(token)
        let delta = sequence.text.append(bytes)
        sequence.output += delta
        onEvent(.token(TokenEvent(request: sequence.request, index: sequence.index, token: token, bytes: bytes, text: delta, trace: traceStep)))
        if sequence.text.stopped {
            sequence.finish = .stop
        } else if isEOS {
            sequence.finish = .eos
        } else if sequence.generated >= p.maxNewTokens {
            sequence.finish = .length
        }
    }

    func finish(_ sequence: inout Sequence, reason: FinishReason, onEvent: (GenerationEvent) -> Void) {
        sequence.finish = reason
        let rest = sequence.text.finish()
        if !rest.isEmpty {
            sequence.output += rest
            onEvent(.token(TokenEvent(request: sequence.request, index: sequence.index, token: -1, bytes: [], text: rest, trace: nil)))
        }
        onEvent(.finished(completion(sequence)))
    }

    func completion(_ sequence: Sequence) -> Completion {
        Completion(request: sequence.request, index: sequence.index, tokens: Array(sequence.tokens[sequence.promptLength...]),
                   text: sequence.output, finishReason: sequence.finish ?? .length, promptTokens: sequence.promptLength,
                   trace: sequence.trace)
    }
}

extension Generator {
    /// The same run as an asynchronous sequence of events, produced on a background thread;
    /// ends after every completion's `.finished` event, or with the error.
    public func stream(_ requests: [GenerationRequest]) -> AsyncThrowingStream<GenerationEvent, Error> {
        AsyncThrowingStream { continuation in
            let thread = Thread {
                do {
                    _ = try self.run(requests) { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            thread.stackSize = 1 << 22
            thread.start()
        }
    }
}
