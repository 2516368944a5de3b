/// Weights stored as rows of the output dimension, (out, in), the layout of a decode step's
/// matrix-vector products: each output is a dot product over one contiguous row, so the
/// weights stream from memory exactly once per step and prefetch well. Decoding a token
/// reads every weight once and is bound by memory bandwidth, which bfloat16 halves.
public enum WeightPrecision: String, Sendable, CaseIterable, Codable {
    case fp32, bf16
}

public protocol WeightRowFormat {
    /// 16 weights from element k of a row, as float32.
    static func load(_ row: UnsafeRawPointer, _ k: Int) -> Vec
    static func scalar(_ row: UnsafeRawPointer, _ k: Int) -> Float
    static var bytesPerWeight: Int { get }
}

public enum Float32Rows: WeightRowFormat {
    @inline(__always) public static func load(_ row: UnsafeRawPointer, _ k: Int) -> Vec {
        (row + 4 * k).loadUnaligned(as: Vec.self)
    }
    @inline(__always) public static func scalar(_ row: UnsafeRawPointer, _ k: Int) -> Float {
        (row + 4 * k).loadUnaligned(as: Float.self)
    }
    public static var bytesPerWeight: Int { 4 }
}

public enum BFloat16Rows: WeightRowFormat {
    @inline(__always) public static func load(_ row: UnsafeRawPointer, _ k: Int) -> Vec {
        let raw = (row + 2 * k).loadUnaligned(as: SIMD16<UInt16>.self)
        // A lane loop, not SIMD16<UInt32>(truncatingIfNeeded:): the generic initialiser is
        // left as a call, the loop becomes one vpmovzxwd.
        var bits = SIMD16<UInt32>()
        for i in 0..<vecWidth { bits[i] = UInt32(raw[i]) &<< 16 }
        return unsafeBitCast(bits, to: Vec.self)
    }
    @inline(__always) public static func scalar(_ row: UnsafeRawPointer, _ k: Int) -> Float {
        Float(bitPattern: UInt32((row + 2 * k).loadUnaligned(as: UInt16.self)) << 16)
    }
    public static var bytesPerWeight: Int { 2 }

    /// Round to nearest even, as PyTorch's `.to(torch.bfloat16)`.
    public static func convert(_ source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<UInt16>, count: Int) {
        Parallel.forRanges(count, grain: 1 << 16) { range in
            for i in range {
                let bits = source[i].bitPattern
                if source[i].isNaN { destination[i] = 0x7FC0; continue }
                destination[i] = UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
            }
        }
    }
}

public enum DecodeMatmul {
    /// out (M, O) = x (M, K) @ w^T + bias, with w given as O rows of K weights. For few rows
    /// (decode steps); rows go eight or four at a time while a weight row sits in L1.
    /// Specialised for both formats: an unspecialised call would load each vector through
    /// a protocol witness.
    @_specialize(exported: true, where Format == Float32Rows)
    @_specialize(exported: true, where Format == BFloat16Rows)
    public static func forward<Format: WeightRowFormat>(
        _ format: Format.Type, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, M: Int, K: Int,
        weights: UnsafeRawPointer, O: Int, bias: UnsafePointer<Float>?
    ) {
        let rowBytes = K * Format.bytesPerWeight
        let main = K / vecWidth * vecWidth
        Parallel.forRanges(O, grain: 64) { outputs in
            var first = outputs.lowerBound
            if M % 8 == 0 && main == K {
                // Batches of eight rows: two weight rows per pass halve the loads of x per FMA.
                // Each row still has one accumulator per output, summed in the same order as in
                // the other paths, so results do not depend on the batch size.
                while first + 2 <= outputs.upperBound {
                    for group in stride(from: 0, to: M, by: 8) {
                        eightRowsTwoOutputs(Format.self, out: out + group * O, x: x + group * K, K: K, w: weights + first * rowBytes,
                                            rowBytes: rowBytes, O: O, o: first, bias: bias)
                    }
                    first += 2
                }
            }
            for o in first..<outputs.upperBound {
                let w = weights + o * rowBytes
                let b = bias?[o] ?? 0
                var m = 0
                // Eight rows per pass: eight independent FMA chains keep both FMA units busy
                // and each weight vector is converted once for all of them.
                while m + 8 <= M {
                    let x0 = x + m * K
                    var a0 = Vec.zero, a1 = Vec.zero, a2 = Vec.zero, a3 = Vec.zero
                    var a4 = Vec.zero, a5 = Vec.zero, a6 = Vec.zero, a7 = Vec.zero
                    var k = 0
                    while k < main {
                        let wv = Format.load(w, k)
                        let xk = x0 + k
                        a0.addProduct(load(xk), wv)
                        a1.addProduct(load(xk + K), wv)
                        a2.addProduct(load(xk + 2 * K), wv)
                        a3.addProduct(load(xk + 3 * K), wv)
                        a4.addProduct(load(xk + 4 * K), wv)
                        a5.addProduct(load(xk + 5 * K), wv)
                        a6.addProduct(load(xk + 6 * K), wv)
                        a7.addProduct(load(xk + 7 * K), wv)
                        k += vecWidth
                    }
                    let sums = SIMD8<Float>(reduce(a0), reduce(a1), reduce(a2), reduce(a3), reduce(a4), reduce(a5), reduce(a6), reduce(a7))
                    for r in 0..<8 {
                        var s = sums[r]
                        for kk in main..<K { s += x0[r * K + kk] * Format.scalar(w, kk) }
                        out[(m + r) * O + o] = s + b
                    }
                    m += 8
                }
                while m + 4 <= M {
                    let x0 = x + m * K, x1 = x0 + K, x2 = x1 + K, x3 = x2 + K
                    var a0 = Vec.zero, a1 = Vec.zero, a2 = Vec.zero, a3 = Vec.zero
                    var k = 0
                    while k < main {
                        let wv = Format.load(w, k)
                        a0.addProduct(load(x0 + k), wv)
                        a1.addProduct(load(x1 + k), wv)
                        a2.addProduct(load(x2 + k), wv)
                        a3.addProduct(load(x3 + k), wv)
                        k += vecWidth
                    }
                    var s0 = reduce(a0), s1 = reduce(a1), s2 = reduce(a2), s3 = reduce(a3)
                    while k < K {
                        let wk = Format.scalar(w, k)
                        s0 += x0[k] * wk; s1 += x1[k] * wk; s2 += x2[k] * wk; s3 += x3[k] * wk
                        k += 1
                    }
                    out[m * O + o] = s0 + b
                    out[(m + 1) * O + o] = s1 + b
                    out[(m + 2) * O + o] = s2 + b
                    out[(m + 3) * O + o] = s3 + b
                    m += 4
                }
                while m < M {
                    // One accumulator, as in the four- and eight-row passes: a row's result must
                    // not depend on how many rows share the call, so that a request decodes the
                    // same alone and in any batch (the decode step is memory-bound either way).
                    let x0 = x + m * K
                    var a0 = Vec.zero
                    var k = 0
                    while k < main {
                        a0.addProduct(load(x0 + k), Format.load(w, k))
                        k += vecWidth
                    }
                    var s0 = reduce(a0)
                    while k < K {
                        s0 += x0[k] * Format.scalar(w, k)
                        k += 1
                    }
                    out[m * O + o] = s0 + b
                    m += 1
                }
            }
        }
    }

    @inline(__always)
    static func eightRowsTwoOutputs<Format: WeightRowFormat>(
        _ format: Format.Type, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, K: Int,
        w: UnsafeRawPointer, rowBytes: Int, O: Int, o: Int, bias: UnsafePointer<Float>?
    ) {
        var a0 = Vec.zero, a1 = Vec.zero, a2 = Vec.zero, a3 = Vec.zero, a4 = Vec.zero, a5 = Vec.zero, a6 = Vec.zero, a7 = Vec.zero
        var b0 = Vec.zero, b1 = Vec.zero, b2 = Vec.zero, b3 = Vec.zero, b4 = Vec.zero, b5 = Vec.zero, b6 = Vec.zero, b7 = Vec.zero
        let w1 = w + rowBytes
        var k = 0
        while k < K {
            let u = Format.load(w, k), v = Format.load(w1, k)
            let xk = x + k
            var xv = load(xk); a0.addProduct(xv, u); b0.addProduct(xv, v)
            xv = load(xk + K); a1.addProduct(xv, u); b1.addProduct(xv, v)
            xv = load(xk + 2 * K); a2.addProduct(xv, u); b2.addProduct(xv, v)
            xv = load(xk + 3 * K); a3.addProduct(xv, u); b3.addProduct(xv, v)
            xv = load(xk + 4 * K); a4.addProduct(xv, u); b4.addProduct(xv, v)
            xv = load(xk + 5 * K); a5.addProduct(xv, u); b5.addProduct(xv, v)
            xv = load(xk + 6 * K); a6.addProduct(xv, u); b6.addProduct(xv, v)
            xv = load(xk + 7 * K); a7.addProduct(xv, u); b7.addProduct(xv, v)
            k += vecWidth
        }
        let c0 = bias?[o] ?? 0, c1 = bias?[o + 1] ?? 0
        out[o] = reduce(a0) + c0; out[o + 1] = reduce(b0) + c1
        out[O + o] = reduce(a1) + c0; out[O + o + 1] = reduce(b1) + c1
        out[2 * O + o] = reduce(a2) + c0; out[2 * O + o + 1] = reduce(b2) + c1
        out[3 * O + o] = reduce(a3) + c0; out[3 * O + o + 1] = reduce(b3) + c1
        out[4 * O + o] = reduce(a4) + c0; out[4 * O + o + 1] = reduce(b4) + c1
        out[5 * O + o] = reduce(a5) + c0; out[5 * O + o + 1] = reduce(b5) + c1
        out[6 * O + o] = reduce(a6) + c0; out[6 * O + o + 1] = reduce(b6) + c1
        out[7 * O + o] = reduce(a7) + c0; out[7 * O + o + 1] = reduce(b7) + c1
    }

    /// Pairwise horizontal sum (the standard library's `sum()` adds lanes one after another).
    @inline(__always)
    static func reduce(_ v: Vec) -> Float {
        var h8 = SIMD8<Float>(), h4 = SIMD4<Float>()
        for i in 0..<8 { h8[i] = v[i] + v[i + 8] }
        for i in 0..<4 { h4[i] = h8[i] + h8[i + 4] }
        return (h4[0] + h4[2]) + (h4[1] + h4[3])
    }
}
