import Foundation

/// Causal multi-head self-attention over a packed qkv buffer.
public enum Attention {
    /// out (B,T,C) = softmax(Q K^T / sqrt(hs) + causal mask) V per head; att (B,NH,T,T) keeps
    /// the probabilities for the backward pass. qkv is (B,T,3C) with Q, K, V side by side.
    ///
    /// One task per (b, h), in SIMD: per-head products are 64 wide, too small for sgemm calls
    /// to pay off. K is transposed once per head so that 16 scores come out of each vector
    /// FMA chain without horizontal sums, and only the causal triangle is computed.
    public static func forward(
        out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
        B: Int, T: Int, C: Int, NH: Int
    ) {
        let hs = C / NH
        let scale = 1 / Float(hs).squareRoot()
        let C3 = 3 * C
        let paddedT = (T + vecWidth - 1) / vecWidth * vecWidth
        Parallel.forEach(B * NH) { bh in
            let b = bh / NH, h = bh % NH
            let base = qkv + b * T * C3 + h * hs
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: hs * paddedT + hs + vecWidth)
            defer { scratch.deallocate() }
            let kt = scratch  // (hs, paddedT)
            let q = scratch + hs * paddedT  // (hs) scaled query
            for t2 in 0..<T {
                let k = base + t2 * C3 + C
                for d in 0..<hs { kt[d * paddedT + t2] = k[d] }
            }
            for d in 0..<hs { (kt + d * paddedT + T).update(repeating: 0, count: paddedT - T) }
            for t in 0..<T {
                let scores = att + (bh * T + t) * T
                for d in 0..<hs { q[d] = base[t * C3 + d] * scale }
                var j = 0
                while j <= t {
                    let block = scoreBlock(q: q, kt: kt + j, stride: paddedT, hs: hs)
                    if j + vecWidth <= T {
                        store(block, scores + j)
                    } else {
                        for lane in 0..<(T - j) { scores[j + lane] = block[lane] }
                    }
                    j += vecWidth
                }
                causalSoftmaxRow(scores, valid: t + 1, length: T)
                weightedSum(scores, count: t + 1, values: base + 2 * C, stride: C3,
                            out: out + (b * T + t) * C + h * hs, hs: hs)
            }
        }
    }

    /// out (hs) = sum over i < count of p[i] * values[i * stride ..< i * stride + hs]. The output
    /// stays in registers across the sum: accumulating in memory stalls on store forwarding.
    @inline(__always)
    static func weightedSum(
        _ p: UnsafePointer<Float>, count: Int, values: UnsafePointer<Float>, stride: Int,
        out: UnsafeMutablePointer<Float>, hs: Int
    ) {
        var d = 0
        while d + 4 * vecWidth <= hs {
            var a0 = Vec.zero, a1 = Vec.zero, a2 = Vec.zero, a3 = Vec.zero
            for i in 0..<count {
                let w = Vec(repeating: p[i])
                let v = values + i * stride + d
                a0.addProduct(w, load(v))
                a1.addProduct(w, load(v + vecWidth))
                a2.addProduct(w, load(v + 2 * vecWidth))
                a3.addProduct(w, load(v + 3 * vecWidth))
            }
            store(a0, out + d)
            store(a1, out + d + vecWidth)
            store(a2, out + d + 2 * vecWidth)
            store(a3, out + d + 3 * vecWidth)
            d += 4 * vecWidth
        }
        while d + vecWidth <= hs {
            var a0 = Vec.zero
            for i in 0..<count { a0.addProduct(Vec(repeating: p[i]), load(values + i * stride + d)) }
            store(a0, out + d)
            d += vecWidth
        }
        while d < hs {
            var total: Float = 0
            for i in 0..<count { total += p[i] * values[i * stride + d] }
            out[d] = total
            d += 1
        }
    }

    /// 16 scores q . k[j..j+15] from the transposed keys, four independent FMA chains.
    @inline(__always)
    static func scoreBlock(q: UnsafePointer<Float>, kt: UnsafePointer<Float>, stride: Int, hs: Int) -> Vec {
        var a0 = Vec.zero, a1 = Vec.zero, a2 = Vec.zero, a3 = Vec.zero
        var d = 0
        while d + 4 <= hs {
            a0.addProduct(Vec(repeating: q[d]), load(kt + d * stride))
            a1.addProduct(Vec(repeating: q[d + 1]), load(kt + (d + 1) * stride))
            a2.addProduct(Vec(repeating: q[d + 2]), load(kt + (d + 2) * stride))
            a3.addProduct(Vec(repeating: q[d + 3]), load(kt + (d + 3) * stride))
            d += 4
        }
        while d < hs {
            a0.addProduct(Vec(repeating: q[d]), load(kt + d * stride))
            d += 1
        }
        return (a0 + a1) + (a2 + a3)
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

/// a . b over n floats.
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = Vec.zero, acc1 = Vec.zero
    var i = 0
    while i + 2 * vecWidth <= n {
        acc0.addProduct(load(a + i), load(b + i))
        acc1.addProduct(load(a + i + vecWidth), load(b + i + vecWidth))
        i += 2 * vecWidth
    }
    if i + vecWidth <= n {
        acc0.addProduct(load(a + i), load(b + i))
        i += vecWidth
    }
    var total = (acc0 + acc1).sum()
    while i < n {
        total += a[i] * b[i]
        i += 1
    }
    return total
}

/// y += alpha * x over n floats.
@inline(__always)
public func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let av = Vec(repeating: alpha)
    var i = 0
    while i + vecWidth <= n {
        var acc = load(y + i)
        acc.addProduct(av, load(x + i))
        store(acc, y + i)
        i += vecWidth
    }
    while i < n {
        y[i] += alpha * x[i]
        i += 1
    }
}
