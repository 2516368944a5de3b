import Generation
import Wire

// Generation requests and events on the wire and in the engine. Zeros on the wire mean the
// defaults documented in generation.proto.

extension Generation.GenerationParameters {
    public init(wire p: Wire.GenerationParameters?) {
        self.init()
        guard let p else { return }
        strategy = switch p.strategy {
        case .greedy: .greedy
        case .sample: .sample
        case .epsilonGreedy: .epsilonGreedy
        }
        maxNewTokens = p.maxNewTokens == 0 ? 32 : Int(p.maxNewTokens)
        minNewTokens = Int(p.minNewTokens)
        temperature = p.temperature == 0 ? 1 : p.temperature
        topK = Int(p.topK)
        topP = p.topP == 0 ? 1 : p.topP
        minP = p.minP
        typicalP = p.typicalP == 0 ? 1 : p.typicalP
        repetitionPenalty = p.repetitionPenalty == 0 ? 1 : p.repetitionPenalty
        presencePenalty = p.presencePenalty
        frequencyPenalty = p.frequencyPenalty
        noRepeatNgramSize = Int(p.noRepeatNgramSize)
        logitBias = Dictionary(uniqueKeysWithValues: p.logitBias.map { (Int32(truncatingIfNeeded: $0.key), $0.value) })
        epsilon = p.epsilon ?? 0.5
        stop = p.stop
        n = p.n == 0 ? 1 : Int(p.n)
        seed = p.seed
        traceTop = Int(p.traceTop)
        ignoreEOS = p.ignoreEos
    }

    public var wire: Wire.GenerationParameters {
        var p = Wire.GenerationParameters()
        p.strategy = switch strategy {
        case .greedy: .greedy
        case .sample: .sample
        case .epsilonGreedy: .epsilonGreedy
        }
        p.maxNewTokens = UInt32(clamping: maxNewTokens)
        p.minNewTokens = UInt32(clamping: minNewTokens)
        p.temperature = temperature
        p.topK = UInt32(clamping: topK)
        p.topP = topP
        p.minP = minP
        p.typicalP = typicalP
        p.repetitionPenalty = repetitionPenalty
        p.presencePenalty = presencePenalty
        p.frequencyPenalty = frequencyPenalty
        p.noRepeatNgramSize = UInt32(clamping: noRepeatNgramSize)
        p.logitBias = Dictionary(uniqueKeysWithValues: logitBias.map { (UInt32(bitPattern: $0.key), $0.value) })
        p.epsilon = epsilon
        p.stop = stop
        p.n = UInt32(clamping: n)
        p.seed = seed
        p.traceTop = UInt32(clamping: traceTop)
        p.ignoreEos = ignoreEOS
        return p
    }
}

extension Wire.TraceStep {
    public init(_ step: Generation.TraceStep) {
        self.init(step: UInt32(step.step),
                  candidates: step.candidates.map { Wire.Candidate(token: UInt32(bitPattern: $0.token), probability: $0.probability,
                                                                   processedProbability: $0.processedProbability) },
                  chosen: UInt32(bitPattern: step.chosen), chosenRank: UInt32(step.chosenRank),
                  chosenLogProbability: step.chosenLogProbability, tookArgmax: step.tookArgmax)
    }
}

extension Generation.TraceStep {
    public init(_ step: Wire.TraceStep) {
        self.init(step: Int(step.step),
                  candidates: step.candidates.map { Generation.Candidate(token: Int32(bitPattern: $0.token), probability: $0.probability,
                                                                         processedProbability: $0.processedProbability) },
                  chosen: Int32(bitPattern: step.chosen), chosenRank: Int(step.chosenRank),
                  chosenLogProbability: step.chosenLogProbability, tookArgmax: step.tookArgmax)
    }
}

extension Wire.FinishReason {
    public init(_ reason: Generation.FinishReason) {
        self = switch reason {
        case .eos: .eos
        case .stop: .stop
        case .length: .length
        case .cancelled: .cancelled
        case .deadline: .deadline
        }
    }
}

extension Wire.Completion {
    public init(_ c: Generation.Completion) {
        self.init(index: UInt32(c.index), tokens: c.tokens.map { UInt32(bitPattern: $0) }, text: c.text,
                  finishReason: Wire.FinishReason(c.finishReason), trace: c.trace.map(Wire.TraceStep.init))
    }
}
