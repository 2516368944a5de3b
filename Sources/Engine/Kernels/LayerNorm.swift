import Foundation

public enum LayerNorm {
    /// out (N,C) = (inp - mean) * rstd * weight + bias, per row; mean and rstd (N) are kept for
    /// the backward pass when given.
    public static func forward(
        out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?, rstd: UnsafeMutablePointer<Float>?,
        inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        N: Int, C: Int, eps: Float
    ) {
        Parallel.forEach(N, grain: 8) { row in
            let x = inp + row * C
            let y = out + row * C
            let m = vsum(x, C) / Float(C)
            // Two passes: the variance of centred values, as PyTorch computes it.
            let mv = Vec(repeating: m)
            var acc = Vec.zero
            var i = 0
            while i + vecWidth <= C {
                let d = load(x + i) - mv
                acc.addProduct(d, d)
                i += vecWidth
            }
            var variance = acc.sum()
            while i < C {
                let d = x[i] - m
                variance += d * d
                i += 1
            }
            variance /= Float(C)
            let s = 1 / (variance + eps).squareRoot()
            let sv = Vec(repeating: s)
            i = 0
            while i + vecWidth <= C {
                let normalized = (load(x + i) - mv) * sv
                store(normalized * load(weight + i) + load(bias + i), y + i)
                i += vecWidth
            }
            while i < C {
                y[i] = (x[i] - m) * s * weight[i] + bias[i]
                i += 1
            }
            mean?[row] = m
            rstd?[row] = s
        }
    }
}
