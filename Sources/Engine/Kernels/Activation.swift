import Foundation

/// The MLP non-linearities of GPT-2 checkpoints (`activation_function`), forward and backward
/// side by side. `names` maps the names `transformers` accepts (its `ACT2FN`) to a case.
public enum Activation: String, Sendable, CaseIterable {
    /// tanh approximation of GELU.
    case geluTanh
    /// exact GELU, x * Phi(x) with erf.
    case geluErf
    /// x * sigmoid(1.702 x).
    case quickGelu
    case relu
    /// x * sigmoid(x).
    case silu
    case tanh
    case sigmoid
    /// the identity.
    case linear

    /// `activation_function` values and what each computes. The tanh forms differ in
    /// `transformers` only by rounding (its own docstrings say so), as do gelu and gelu_python.
    public static let names: [String: Activation] = [
        "gelu_new": .geluTanh, "gelu_pytorch_tanh": .geluTanh, "gelu_fast": .geluTanh, "gelu_accurate": .geluTanh,
        "gelu_python_tanh": .geluTanh, "gelu": .geluErf, "gelu_python": .geluErf, "quick_gelu": .quickGelu,
        "relu": .relu, "silu": .silu, "swish": .silu, "tanh": .tanh, "sigmoid": .sigmoid, "linear": .linear,
    ]

    public init?(huggingFaceName name: String) {
        guard let activation = Self.names[name] else { return nil }
        self = activation
    }

    static let geluScale: Float = 0.7978845608028654  // sqrt(2/pi)
    static let quickGeluScale: Float = 1.702

    /// out (N) = act(inp); out may alias inp.
    public func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, N: Int) {
        if self == .geluTanh { return Self.geluTanhForward(out: out, inp: inp, N: N) }
        Parallel.forRanges(N, grain: 1 << 14) { range in
            for i in range { out[i] = value(inp[i]) }
        }
    }

    /// dinp (N) = dout * act'(inp), overwritten.
    public func backward(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, dout: UnsafePointer<Float>, N: Int) {
        Parallel.forRanges(N, grain: 1 << 14) { range in
            for i in range { dinp[i] = derivative(inp[i]) * dout[i] }
        }
    }

    /// act(x), one element (every case but the vectorised `geluTanh` forward).
    @inline(__always)
    func value(_ x: Float) -> Float {
        switch self {
        case .geluTanh: return Self.geluTanhVector(Vec(repeating: x))[0]
        case .geluErf: return 0.5 * x * (1 + erff(x * 0.70710678118654752))
        case .quickGelu: return x * Self.logistic(Self.quickGeluScale * x)
        case .relu: return max(0, x)
        case .silu: return x * Self.logistic(x)
        case .tanh: return stanh(x)
        case .sigmoid: return Self.logistic(x)
        case .linear: return x
        }
    }

    /// act'(x).
    @inline(__always)
    func derivative(_ x: Float) -> Float {
        switch self {
        case .geluTanh:
            let t = stanh(Self.geluScale * (x + 0.044715 * x * x * x))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * Self.geluScale * (1 + 3 * 0.044715 * x * x)
        case .geluErf:
            let cdf = 0.5 * (1 + erff(x * 0.70710678118654752))
            let pdf = expf(-0.5 * x * x) * 0.3989422804014327
            return cdf + x * pdf
        case .quickGelu:
            let s = Self.logistic(Self.quickGeluScale * x)
            return s + Self.quickGeluScale * x * s * (1 - s)
        case .relu: return x > 0 ? 1 : 0
        case .silu:
            let s = Self.logistic(x)
            return s + x * s * (1 - s)
        case .tanh:
            let t = stanh(x)
            return 1 - t * t
        case .sigmoid:
            let s = Self.logistic(x)
            return s * (1 - s)
        case .linear: return 1
        }
    }

    @inline(__always)
    static func logistic(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    static func geluTanhForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, N: Int) {
        // Aligned chunks: the scalar tail rounds differently, so it must stay at the end of the
        // whole loop for results not to depend on the thread count.
        // Aligned chunks, and the tail through the same vector formula (padded lanes): the
        // result of an element depends neither on the thread count nor on where in the buffer
        // it sits (a decode step's rows are one buffer whatever the batch).
        Parallel.forRanges(N, grain: 1 << 14, alignment: vecWidth) { range in
            var i = range.lowerBound
            while i + vecWidth <= range.upperBound {
                store(geluTanhVector(load(inp + i)), out + i)
                i += vecWidth
            }
            if i < range.upperBound {
                var tail = Vec.zero
                for lane in 0..<(range.upperBound - i) { tail[lane] = inp[i + lane] }
                let result = geluTanhVector(tail)
                for lane in 0..<(range.upperBound - i) { out[i + lane] = result[lane] }
            }
        }
    }

    @inline(__always)
    static func geluTanhVector(_ x: Vec) -> Vec {
        // tanh(u) = 1 - 2 / (exp(2u) + 1), written out: the vtanh call was not inlined.
        let u = geluScale * (x + 0.044715 * x * x * x)
        let e = vexp(u + u)
        return 0.5 * x * (2 - 2 / (e + 1))
    }
}
