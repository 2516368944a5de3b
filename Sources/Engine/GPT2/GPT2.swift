import Checkpoint
import Kernels

/// GPT-2 as in the paper and in `transformers.GPT2LMHeadModel`: token + position embeddings,
/// pre-LayerNorm blocks (causal self-attention, MLP), a final LayerNorm and the tied head.
/// Every layer is a forward function over flat buffers (Kernels); this type wires them up.
public final class GPT2: @unchecked Sendable {
    public let config: GPT2Config
    public let parameters: ParameterBuffer
    public let activation: Activation

    public init(config: GPT2Config, parameters: ParameterBuffer) {
        precondition(parameters.layout.config == config, "parameters were laid out for another configuration")
        self.config = config
        self.parameters = parameters
        guard let activation = config.activation else {
            preconditionFailure("activation_function '\(config.activationFunction)' was not validated (GPT2Config.validate refuses it)")
        }
        self.activation = activation
    }

    /// Runs the model on tokens (B,T) and leaves the logits (B,T,V) in `acts.logits`.
    public func forward(tokens: UnsafePointer<Int32>, acts: Activations) throws(ModelError) {
        let B = acts.B, T = acts.T
        let C = config.nEmbd, NH = config.nHead, H = config.mlpWidth, V = config.vocabSize
        let BT = B * T
        guard T <= config.nPositions else { throw .sequenceTooLong(length: T, limit: config.nPositions) }
        for i in 0..<BT where tokens[i] < 0 || Int(tokens[i]) >= V {
            throw .tokenOutOfRange(token: Int(tokens[i]), vocabularySize: V)
        }
        let p = parameters
        let eps = config.layerNormEpsilon

        Elementwise.encoderForward(out: acts.encoded, tokens: tokens, wte: p.pointer(.wte), wpe: p.pointer(.wpe), B: B, T: T, C: C)
        let dropout = acts.dropout
        dropout?.embeddingSite().apply(acts.encoded, count: BT * C)
        var residual = UnsafePointer(acts.encoded)
        let linear = sgemmLinear(rows: BT)
        for l in 0..<config.nLayer {
            let s = acts.slot(l)
            let buffers = BlockBuffers(
                ln1: acts.ln1 + s * BT * C, ln1Mean: acts.ln1Mean + s * BT, ln1Rstd: acts.ln1Rstd + s * BT,
                qkv: acts.qkv + s * BT * 3 * C, atty: acts.atty + s * BT * C,
                attproj: acts.attproj + s * BT * C, residual2: acts.residual2 + s * BT * C,
                ln2: acts.ln2 + s * BT * C, ln2Mean: acts.ln2Mean + s * BT, ln2Rstd: acts.ln2Rstd + s * BT,
                fch: acts.fch + s * BT * H, fchGelu: acts.fchGelu + s * BT * H,
                fcproj: acts.fcproj + s * BT * C, residual3: acts.residual3 + s * BT * C)
            let att = acts.att + s * B * NH * T * T
            block(l, input: residual, N: BT, buffers: buffers, linear: linear, attention: { qkv, out in
                Attention.forward(out: out, att: att, qkv: qkv, B: B, T: T, C: C, NH: NH, scale: config.attentionScale(layer: l),
                                  dropout: dropout?.attentionSite(l))
            }, dropout: dropout)
            residual = UnsafePointer(buffers.residual3)
        }
        LayerNorm.forward(out: acts.lnf, mean: acts.lnfMean, rstd: acts.lnfRstd, inp: residual,
                          weight: p.pointer(.lnfw), bias: p.pointer(.lnfb), N: BT, C: C, eps: eps)
        Matmul.forwardTransposed(out: acts.logits, inp: acts.lnf, weight: p.pointer(.wte), N: BT, C: C, V: V)
    }

    /// Convenience: logits (B,T,V) for equal-length rows of tokens.
    public func logits(for batch: [[Int32]]) throws(ModelError) -> [Float] {
        guard let T = batch.first?.count, T > 0, batch.allSatisfy({ $0.count == T }) else {
            throw .raggedBatch
        }
        let acts = Activations(config: config, B: batch.count, T: T)
        let flat = batch.flatMap { $0 }
        try flat.withUnsafeBufferPointer { (tokens: UnsafeBufferPointer<Int32>) throws(ModelError) in
            try forward(tokens: tokens.baseAddress!, acts: acts)
        }
        return Array(UnsafeBufferPointer(start: acts.logits, count: batch.count * T * config.vocabSize))
    }

    /// Number of parameters (tied head counted once, as `transformers` reports it).
    public var parameterCount: Int { parameters.layout.totalCount }
}

public enum ModelError: Error, Equatable, CustomStringConvertible {
    case sequenceTooLong(length: Int, limit: Int)
    case tokenOutOfRange(token: Int, vocabularySize: Int)
    case raggedBatch
    case invalidSlot(Int)

    public var description: String {
        switch self {
        case let .sequenceTooLong(length, limit):
            return "sequence of \(length) tokens is longer than the model's context (n_positions = \(limit))"
        case let .tokenOutOfRange(token, size): return "token id \(token) is outside the vocabulary (size \(size))"
        case .raggedBatch: return "a batch needs rows of equal, non-zero length"
        case let .invalidSlot(slot): return "KV-cache slot \(slot) does not exist"
        }
    }
}
