import Foundation

// Backward passes beside the forward ones (llm.c's structure). Conventions: parameter
// gradients are accumulated (+=); the gradient of a layer's input is overwritten unless the
// function says it accumulates, which the residual stream needs.

extension Matmul {
    /// For out = inp (N,C) @ weight (C,OC) + bias: dinp (N,C) = dout @ weight^T (overwritten),
    /// dweight (C,OC) += inp^T @ dout, dbias (OC) += column sums of dout.
    public static func backward(
        dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, N: Int, C: Int, OC: Int
    ) {
        // Tiles from the shapes only (see `Matmul`): the same calls at every thread count.
        let (rowTile, columnTile) = tiles(M: N, N: C)
        forTiles(M: N, N: C, rowTile: rowTile, columnTile: columnTile) { rows, columns in
            sgemm(transB: true, M: rows.count, N: columns.count, K: OC, A: dout + rows.lowerBound * OC, lda: OC,
                  B: weight + columns.lowerBound * OC, ldb: OC, C: dinp + rows.lowerBound * C + columns.lowerBound, ldc: C)
        }
        // dweight sums over all N rows; each tile re-packs its slices of inp and dout: up to
        // 4 x 6 tiles of at least 128 x 128.
        forTiles(M: C, N: OC, rowTile: tile(C, minimum: 128, parts: 4), columnTile: tile(OC, minimum: 128, parts: 6)) { rows, columns in
            sgemm(transA: true, M: rows.count, N: columns.count, K: N, A: inp + rows.lowerBound, lda: C,
                  B: dout + columns.lowerBound, ldb: OC, beta: 1, C: dweight + rows.lowerBound * OC + columns.lowerBound, ldc: OC)
        }
        if let dbias {
            Parallel.forRanges(OC, grain: 64) { columns in
                for row in 0..<N {
                    let d = dout + row * OC
                    for o in columns { dbias[o] += d[o] }
                }
            }
        }
    }

    /// For logits = inp (N,C) @ weight (V,C)^T: dinp = dout @ weight (overwritten),
    /// dweight += dout^T @ inp.
    public static func backwardTransposed(
        dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
        inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, N: Int, C: Int, V: Int
    ) {
        let (rowTile, columnTile) = tiles(M: N, N: C)
        forTiles(M: N, N: C, rowTile: rowTile, columnTile: columnTile) { rows, columns in
            sgemm(M: rows.count, N: columns.count, K: V, A: dout + rows.lowerBound * V, lda: V, B: weight + columns.lowerBound, ldb: C,
                  C: dinp + rows.lowerBound * C + columns.lowerBound, ldc: C)
        }
        forTiles(M: V, N: C, rowTile: tile(V, minimum: 2048, parts: 24), columnTile: max(C, 1)) { vocabulary, _ in
            sgemm(transA: true, M: vocabulary.count, N: C, K: N, A: dout + vocabulary.lowerBound, lda: V, B: inp, ldb: C, beta: 1,
                  C: dweight + vocabulary.lowerBound * C, ldc: C)
        }
    }
}

extension LayerNorm {
    /// Accumulates into dinp (the residual stream), dweight and dbias.
    public static func backward(
        dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, N: Int, C: Int
    ) {
        Parallel.forEach(N, grain: 8) { row in
            let d = dout + row * C, x = inp + row * C, di = dinp + row * C
            let m = mean[row], s = rstd[row]
            var dnormMean: Float = 0, dnormNormMean: Float = 0
            for i in 0..<C {
                let norm = (x[i] - m) * s
                let dnorm = weight[i] * d[i]
                dnormMean += dnorm
                dnormNormMean += dnorm * norm
            }
            dnormMean /= Float(C)
            dnormNormMean /= Float(C)
            for i in 0..<C {
                let norm = (x[i] - m) * s
                let dnorm = weight[i] * d[i]
                di[i] += (dnorm - dnormMean - norm * dnormNormMean) * s
            }
        }
        // Parameter gradients: columns split over threads so no two write the same element.
        Parallel.forRanges(C, grain: 32) { columns in
            for row in 0..<N {
                let d = dout + row * C, x = inp + row * C
                let m = mean[row], s = rstd[row]
                for i in columns {
                    dbias[i] += d[i]
                    dweight[i] += (x[i] - m) * s * d[i]
                }
            }
        }
    }
}

extension Elementwise {
    /// dwte[tokens[b,t]] += dout[b,t]; dwpe[t] += dout[b,t]. Threads own ranges of channels,
    /// so repeated tokens never race.
    public static func encoderBackward(
        dwte: UnsafeMutablePointer<Float>, dwpe: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
        tokens: UnsafePointer<Int32>, B: Int, T: Int, C: Int
    ) {
        Parallel.forRanges(C, grain: 16) { channels in
            for bt in 0..<(B * T) {
                let d = dout + bt * C, w = dwte + Int(tokens[bt]) * C, p = dwpe + (bt % T) * C
                for c in channels {
                    w[c] += d[c]
                    p[c] += d[c]
                }
            }
        }
    }
}

extension Attention {
    /// Gradients of `forward`: dqkv (B,T,3C) overwritten from dout (B,T,C), using the saved
    /// probabilities att (B,NH,T,T). Per head, in sgemm: dV = P^T dO, dP = dO V^T,
    /// dS = P * (dP - rowsum(P * dP)), dQ = scale * dS K, dK = scale * dS^T Q.
    /// `scratch` holds B * NH * T * T floats. With `dropout` (the forward's), P is the
    /// dropped matrix in dV and the mask multiplies dP.
    public static func backward(
        dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
        att: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>, B: Int, T: Int, C: Int, NH: Int,
        scale: Float, dropout: Dropout? = nil
    ) {
        let dropping = dropout?.isActive == true
        let hs = C / NH
        let C3 = 3 * C
        Parallel.forEach(B * NH) { bh in
            let b = bh / NH, h = bh % NH
            let q = qkv + b * T * C3 + h * hs, k = q + C, v = q + 2 * C
            let dq = dqkv + b * T * C3 + h * hs, dk = dq + C, dv = dq + 2 * C
            let p = att + bh * T * T
            let dO = dout + b * T * C + h * hs
            let dS = scratch + bh * T * T
            if dropping, let dropout {
                for i in 0..<(T * T) { dS[i] = p[i] * dropout.factor(bh * T * T + i) }
                Matmul.sgemm(transA: true, M: T, N: hs, K: T, A: dS, lda: T, B: dO, ldb: C, C: dv, ldc: C3)
            } else {
                Matmul.sgemm(transA: true, M: T, N: hs, K: T, A: p, lda: T, B: dO, ldb: C, C: dv, ldc: C3)
            }
            Matmul.sgemm(transB: true, M: T, N: T, K: hs, A: dO, lda: C, B: v, ldb: C3, C: dS, ldc: T)
            if dropping, let dropout {
                for i in 0..<(T * T) { dS[i] *= dropout.factor(bh * T * T + i) }
            }
            for t in 0..<T {
                let pr = p + t * T, ds = dS + t * T
                var total: Float = 0
                for j in 0...t { total += pr[j] * ds[j] }
                for j in 0...t { ds[j] = pr[j] * (ds[j] - total) }
                for j in (t + 1)..<T { ds[j] = 0 }
            }
            Matmul.sgemm(M: T, N: hs, K: T, alpha: scale, A: dS, lda: T, B: k, ldb: C3, C: dq, ldc: C3)
            Matmul.sgemm(transA: true, M: T, N: hs, K: T, alpha: scale, A: dS, lda: T, B: q, ldb: C3, C: dk, ldc: C3)
        }
    }
}

/// Cross-entropy of the next-token predictions.
public enum CrossEntropy {
    /// Replaces logits (N,V) by d(loss)/d(logits) and returns the mean loss over the rows
    /// whose target is not `ignoreIndex` (as `torch.nn.CrossEntropyLoss`). Ignored rows get a
    /// zero gradient.
    public static func forwardBackward(
        logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, N: Int, V: Int, ignoreIndex: Int32 = -100
    ) -> (loss: Float, count: Int) {
        var count = 0
        for i in 0..<N where targets[i] != ignoreIndex { count += 1 }
        guard count > 0 else {
            logits.update(repeating: 0, count: N * V)
            return (0, 0)
        }
        let losses = UnsafeMutablePointer<Double>.allocate(capacity: N)
        defer { losses.deallocate() }
        let scale = 1 / Float(count)
        Parallel.forEach(N, grain: 4) { row in
            let l = logits + row * V
            let target = targets[row]
            if target == ignoreIndex {
                l.update(repeating: 0, count: V)
                losses[row] = 0
                return
            }
            let maximum = vmax(l, V)
            var total: Double = 0
            for i in 0..<V {
                let e = expf(l[i] - maximum)
                l[i] = e
                total += Double(e)
            }
            let inverse = Float(1 / total)
            losses[row] = -log(Double(l[Int(target)]) / total)
            for i in 0..<V { l[i] = l[i] * inverse * scale }
            l[Int(target)] -= scale
        }
        var sum: Double = 0
        for i in 0..<N { sum += losses[i] }
        return (Float(sum / Double(count)), count)
    }
}
