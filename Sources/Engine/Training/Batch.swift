import GPT2

/// One training batch: B rows of T tokens and, per position, the token it should predict.
public struct Batch: Sendable {
    public let B: Int
    public let T: Int
    public let tokens: [Int32]
    /// -100 where nothing is learned (padding, a row's last position).
    public let targets: [Int32]

    public init(B: Int, T: Int, tokens: [Int32], targets: [Int32]) {
        precondition(tokens.count == B * T && targets.count == B * T)
        self.B = B
        self.T = T
        self.tokens = tokens
        self.targets = targets
    }

    /// From Hugging Face-style labels (unshifted, -100 ignored): position t learns
    /// labels[t + 1], as `GPT2LMHeadModel` computes its loss.
    public init(B: Int, T: Int, tokens: [Int32], labels: [Int32]) {
        var targets = [Int32](repeating: -100, count: B * T)
        for b in 0..<B { for t in 0..<(T - 1) { targets[b * T + t] = labels[b * T + t + 1] } }
        self.init(B: B, T: T, tokens: tokens, targets: targets)
    }
}

extension GPT2 {
    /// Forward and backward on a batch: accumulates gradients into `grads`, returns the mean
    /// loss over the learned positions and their count.
    public func lossAndGradients(_ batch: Batch, acts: Activations, grads: ParameterBuffer) throws(ModelError) -> (loss: Float, count: Int) {
        precondition(acts.B == batch.B && acts.T == batch.T && acts.keepsAllLayers)
        return try batch.tokens.withUnsafeBufferPointer { (tokens: UnsafeBufferPointer<Int32>) throws(ModelError) in
            try forward(tokens: tokens.baseAddress!, acts: acts)
            return batch.targets.withUnsafeBufferPointer { targets in
                backward(tokens: tokens.baseAddress!, targets: targets.baseAddress!, acts: acts, grads: grads)
            }
        }
    }
}
