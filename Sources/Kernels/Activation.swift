import Foundation

/// The MLP non-linearities GPT-2 checkpoints use.
public enum Activation: String, Sendable, CaseIterable {
    /// tanh approximation: `gelu_new`, `gelu_pytorch_tanh`, `gelu_fast` in transformers.
    case geluTanh
    /// exact erf form: `gelu` in transformers.
    case geluErf
    case relu

    /// out (N) = act(inp); out may alias inp.
    public func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, N: Int) {
        switch self {
        case .geluTanh: Self.geluTanhForward(out: out, inp: inp, N: N)
        case .geluErf:
            Parallel.forRanges(N, grain: 1 << 14) { range in
                for i in range { out[i] = 0.5 * inp[i] * (1 + erff(inp[i] * 0.70710678118654752)) }
            }
        case .relu:
            Parallel.forRanges(N, grain: 1 << 14) { range in
                for i in range { out[i] = max(0, inp[i]) }
            }
        }
    }

    static let geluScale: Float = 0.7978845608028654  // sqrt(2/pi)

    static func geluTanhForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, N: Int) {
        Parallel.forRanges(N, grain: 1 << 14) { range in
            var i = range.lowerBound
            while i + vecWidth <= range.upperBound {
                let x = load(inp + i)
                // tanh(u) = 1 - 2 / (exp(2u) + 1), written out: the vtanh call was not inlined.
                let u = geluScale * (x + 0.044715 * x * x * x)
                let e = vexp(u + u)
                store(0.5 * x * (2 - 2 / (e + 1)), out + i)
                i += vecWidth
            }
            while i < range.upperBound {
                let x = inp[i]
                out[i] = 0.5 * x * (1 + stanh(geluScale * (x + 0.044715 * x * x * x)))
                i += 1
            }
        }
    }
}
