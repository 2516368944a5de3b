import Foundation

/// Causal multi-head self-attention over a packed qkv buffer.
public enum Attention {
    /// out (B,T,C) = softmax(scale * Q K^T + causal mask) V per head (`scale` is 1/sqrt(hs) in
    /// GPT-2; see `GPT2Config.attentionScale`); att (B,NH,T,T) keeps
    /// the probabilities for the backward pass. qkv is (B,T,3C) with Q, K, V side by side.
    ///
    /// One task per (b, h), in SIMD: per-head products are 64 wide, too small for sgemm calls
    /// to pay off. Per head, K is transposed and V made contiguous once; queries then go four
    /// at a time so that every key and value vector loaded serves four rows, and only the
    /// causal triangle is computed.
    /// With `dropout`, the weighted sum uses the dropped probabilities; `att` keeps the
    /// probabilities before dropout, which the backward pass needs.
    public static func forward(
        out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
        B: Int, T: Int, C: Int, NH: Int, scale: Float, dropout: Dropout? = nil
    ) {
        let dropping = dropout?.isActive == true
        let hs = C / NH
        let C3 = 3 * C
        let paddedT = (T + vecWidth - 1) / vecWidth * vecWidth
        Parallel.forEach(B * NH) { bh in
            let b = bh / NH, h = bh % NH
            let base = qkv + b * T * C3 + h * hs
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: hs * paddedT + T * hs + 4 * hs + (dropping ? 4 * T : 0))
            defer { scratch.deallocate() }
            let kt = scratch                      // (hs, paddedT): K transposed, zero padded
            let v = kt + hs * paddedT             // (T, hs): V contiguous
            let q = v + T * hs                    // (4, hs): scaled queries of the current rows
            let dropped = q + 4 * hs              // (4, T): the rows after dropout
            for d in 0..<hs {
                let row = kt + d * paddedT
                for t2 in 0..<T { row[t2] = base[t2 * C3 + C + d] }
                (row + T).update(repeating: 0, count: paddedT - T)
            }
            for t2 in 0..<T { (v + t2 * hs).update(from: base + t2 * C3 + 2 * C, count: hs) }

            var t0 = 0
            while t0 < T {
                let rows = min(4, T - t0)
                let scores = att + (bh * T + t0) * T
                for r in 0..<rows {
                    for d in 0..<hs { q[r * hs + d] = base[(t0 + r) * C3 + d] * scale }
                }
                var j = 0
                while j <= t0 + rows - 1 {
                    if rows == 4 {
                        let (s0, s1, s2, s3) = scoreBlock4(q: q, hs: hs, kt: kt + j, stride: paddedT)
                        storeScores(s0, scores, j, T)
                        storeScores(s1, scores + T, j, T)
                        storeScores(s2, scores + 2 * T, j, T)
                        storeScores(s3, scores + 3 * T, j, T)
                    } else {
                        for r in 0..<rows {
                            storeScores(scoreBlock(q: q + r * hs, kt: kt + j, stride: paddedT, hs: hs), scores + r * T, j, T)
                        }
                    }
                    j += vecWidth
                }
                for r in 0..<rows { causalSoftmaxRow(scores + r * T, valid: t0 + r + 1, length: T) }
                var weights = UnsafePointer(scores)
                if dropping, let dropout {
                    let first = (bh * T + t0) * T
                    for i in 0..<(rows * T) { dropped[i] = scores[i] * dropout.factor(first + i) }
                    weights = UnsafePointer(dropped)
                }
                let o = out + (b * T + t0) * C + h * hs
                if rows == 4 && hs % (4 * vecWidth) == 0 {
                    weightedSum4(weights, T, count: t0 + 4, values: v, hs: hs, out: o, outStride: C)
                } else {
                    for r in 0..<rows {
                        weightedSum(weights + r * T, count: t0 + r + 1, values: v, stride: hs, out: o + r * C, hs: hs)
                    }
                }
                t0 += rows
            }
        }
    }

    @inline(__always)
    static func storeScores(_ block: Vec, _ row: UnsafeMutablePointer<Float>, _ j: Int, _ T: Int) {
        if j + vecWidth <= T {
            store(block, row + j)
        } else {
            for lane in 0..<(T - j) { row[j + lane] = block[lane] }
        }
    }

    /// Scores of four query rows against keys j..j+15: one key load feeds four FMAs.
    @inline(__always)
    static func scoreBlock4(q: UnsafePointer<Float>, hs: Int, kt: UnsafePointer<Float>, stride: Int) -> (Vec, Vec, Vec, Vec) {
        var a0 = Vec.zero, a1 = Vec.zero, a2 = Vec.zero, a3 = Vec.zero
        for d in 0..<hs {
            let k = load(kt + d * stride)
            a0.addProduct(Vec(repeating: q[d]), k)
            a1.addProduct(Vec(repeating: q[hs + d]), k)
            a2.addProduct(Vec(repeating: q[2 * hs + d]), k)
            a3.addProduct(Vec(repeating: q[3 * hs + d]), k)
        }
        return (a0, a1, a2, a3)
    }

    /// Four rows of out = p V at once, 64 columns at a time: each value vector loaded serves
    /// four rows. Probabilities past a row's own position are zero (causal softmax).
    @inline(__always)
    static func weightedSum4(
        _ p: UnsafePointer<Float>, _ pStride: Int, count: Int, values: UnsafePointer<Float>, hs: Int,
        out: UnsafeMutablePointer<Float>, outStride: Int
    ) {
        var d = 0
        while d < hs {
            var a00 = Vec.zero, a01 = Vec.zero, a02 = Vec.zero, a03 = Vec.zero
            var a10 = Vec.zero, a11 = Vec.zero, a12 = Vec.zero, a13 = Vec.zero
            var a20 = Vec.zero, a21 = Vec.zero, a22 = Vec.zero, a23 = Vec.zero
            var a30 = Vec.zero, a31 = Vec.zero, a32 = Vec.zero, a33 = Vec.zero
            for i in 0..<count {
                let row = values + i * hs + d
                let v0 = load(row), v1 = load(row + vecWidth), v2 = load(row + 2 * vecWidth), v3 = load(row + 3 * vecWidth)
                let w0 = Vec(repeating: p[i]), w1 = Vec(repeating: p[pStride + i])
                let w2 = Vec(repeating: p[2 * pStride + i]), w3 = Vec(repeating: p[3 * pStride + i])
                a00.addProduct(w0, v0); a01.addProduct(w0, v1); a02.addProduct(w0, v2); a03.addProduct(w0, v3)
                a10.addProduct(w1, v0); a11.addProduct(w1, v1); a12.addProduct(w1, v2); a13.addProduct(w1, v3)
                a20.addProduct(w2, v0); a21.addProduct(w2, v1); a22.addProduct(w2, v2); a23.addProduct(w2, v3)
                a30.addProduct(w3, v0); a31.addProduct(w3, v1); a32.addProduct(w3, v2); a33.addProduct(w3, v3)
            }
            var o = out + d
            store(a00, o); store(a01, o + vecWidth); store(a02, o + 2 * vecWidth); store(a03, o + 3 * vecWidth)
            o += outStride
            store(a10, o); store(a11, o + vecWidth); store(a12, o + 2 * vecWidth); store(a13, o + 3 * vecWidth)
            o += outStride
            store(a20, o); store(a21, o + vecWidth); store(a22, o + 2 * vecWidth); store(a23, o + 3 * vecWidth)
            o += outStride
            store(a30, o); store(a31, o + vecWidth); store(a32, o + 2 * vecWidth); store(a33, o + 3 * vecWidth)
            d += 4 * vecWidth
        }
    }

    /// out (hs) = sum over i < count of p[i] * values[i * stride ..< i * stride + hs]. The output
    /// stays in registers across the sum: accumulating in memory stalls on store forwarding.
    @inline(__always)
    public static func weightedSum(
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
        if i < valid {
            // The tail as one vector: lanes past the row get exp(-80), never stored or summed.
            var tail = Vec(repeating: -80)
            for lane in 0..<(valid - i) { tail[lane] = row[i + lane] - maximum }
            let e = vexp(tail)
            for lane in 0..<(valid - i) {
                row[i + lane] = e[lane]
                sum += e[lane]
            }
            i = valid
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
