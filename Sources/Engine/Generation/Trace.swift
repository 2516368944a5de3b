/// One row of the notebook's per-step table.
public struct Candidate: Sendable, Equatable, Codable {
    public let token: Int32
    /// Softmax of the model's logits.
    public let probability: Float
    /// Probability after penalties, filters and temperature: what the decoder chose from.
    public let processedProbability: Float

    public init(token: Int32, probability: Float, processedProbability: Float) {
        self.token = token
        self.probability = probability
        self.processedProbability = processedProbability
    }
}

public struct TraceStep: Sendable, Equatable, Codable {
    public let step: Int
    /// The most probable candidates after processing, best first.
    public let candidates: [Candidate]
    public let chosen: Int32
    /// 1-based rank of the chosen token in the processed distribution.
    public let chosenRank: Int
    /// log of the chosen token's processed probability.
    public let chosenLogProbability: Float
    /// For epsilon-greedy: whether this step took the argmax.
    public let tookArgmax: Bool

    public init(step: Int, candidates: [Candidate], chosen: Int32, chosenRank: Int, chosenLogProbability: Float, tookArgmax: Bool) {
        self.step = step
        self.candidates = candidates
        self.chosen = chosen
        self.chosenRank = chosenRank
        self.chosenLogProbability = chosenLogProbability
        self.tookArgmax = tookArgmax
    }
}
