import Foundation

/// Causal multi-head self-attention over a packed qkv buffer.
public enum Attention {
    /// out (B,T,C) = softmax(Q K^T / sqrt(hs) + causal mask) V per head; att (B,NH,T,T) keeps
    /// the probabilities for the backward pass. qkv is (B,T,3C) with Q, K, V side by side.
    public static func forward(
        out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
        B: Int, T: Int, C: Int, NH: Int
    ) {
        let hs = C / NH
        let scale = 1 / Float(hs).squareRoot()
        let C3 = 3 * C
        // Scores through sgemm: the full square is computed and the upper triangle ignored,
        // which costs less than a hand-written triangular loop.
        for b in 0..<B {
            for h in 0..<NH {
                let q = qkv + b * T * C3 + h * hs
                let k = q + C
                Matmul.sgemm(transB: true, M: T, N: T, K: hs, alpha: scale, A: q, lda: C3, B: k, ldb: C3,
                             C: att + (b * NH + h) * T * T, ldc: T)
            }
        }
        Parallel.forEach(B * NH * T, grain: 32) { row in
            let t = row % T
            causalSoftmaxRow(att + row * T, valid: t + 1, length: T)
        }
        for b in 0..<B {
            for h in 0..<NH {
                let v = qkv + b * T * C3 + h * hs + 2 * C
                Matmul.sgemm(M: T, N: hs, K: T, A: att + (b * NH + h) * T * T, lda: T, B: v, ldb: C3,
                             C: out + b * T * C + h * hs, ldc: C)
            }
        }
    }

    /// Softmax over the first `valid` entries of a row; the rest (future positions) become 0.
    @inline(__always)
    public static func causalSoftmaxRow(_ row: UnsafeMutablePointer<Float>, valid: Int, length: Int) {
        let maximum = vmax(row, valid)
        let mv = Vec(repeating: maximum)
        var total = Vec.zero
        var i = 0
        while i + vecWidth <= valid {
            let e = vexp(load(row + i) - mv)
            store(e, row + i)
            total += e
            i += vecWidth
        }
        var sum = total.sum()
        while i < valid {
            let e = sexp(row[i] - maximum)
            row[i] = e
            sum += e
            i += 1
        }
        let inverse = Vec(repeating: 1 / sum)
        i = 0
        while i + vecWidth <= valid {
            store(load(row + i) * inverse, row + i)
            i += vecWidth
        }
        while i < valid {
            row[i] *= inverse[0]
            i += 1
        }
        if valid < length { (row + valid).update(repeating: 0, count: length - valid) }
    }
}
