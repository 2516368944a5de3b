import CBLAS

/// Matrix products, all through OpenBLAS sgemm. Weights keep the Hugging Face Conv1D layout
/// (in, out), so checkpoints are used as stored, without transposing.
///
/// OpenBLAS runs single-threaded and the products are split over `Parallel`'s threads here:
/// with two thread pools, OpenBLAS's workers spin after each call and steal the cores the
/// SIMD kernels between the products need.
public enum Matmul {
    /// Row-major C (M,N) = alpha * op(A) * op(B) + beta * C.
    @inline(__always)
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, M: Int, N: Int, K: Int, alpha: Float = 1,
        A: UnsafePointer<Float>, lda: Int, B: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, C: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        OpenBLAS.shared.sgemmFunction(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
    }

    /// out (N,OC) = inp (N,C) @ weight (C,OC) + bias (OC)
    public static func forward(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, N: Int, C: Int, OC: Int
    ) {
        if let bias {
            // Start from the bias and accumulate with beta = 1: one pass instead of two.
            Parallel.forEach(N, grain: 16) { row in
                (out + row * OC).update(from: bias, count: OC)
            }
        }
        let beta: Float = bias == nil ? 0 : 1
        let parts = Parallel.cores
        if N >= 64 * parts {
            // Many rows (prefill, training): one block of rows per core.
            Parallel.forEach(parts) { part in
                let r0 = N * part / parts, r1 = N * (part + 1) / parts
                sgemm(M: r1 - r0, N: OC, K: C, A: inp + r0 * C, lda: C, B: weight, ldb: OC, beta: beta,
                      C: out + r0 * OC, ldc: OC)
            }
        } else {
            // Few rows (decoding): one block of output columns per core, so each core reads
            // only its share of the weights, the cost that dominates a decode step.
            let blocks = OC / 16
            Parallel.forEach(min(parts, max(1, blocks))) { part in
                let c0 = part == 0 ? 0 : 16 * (blocks * part / parts)
                let c1 = part == parts - 1 || blocks < parts ? OC : 16 * (blocks * (part + 1) / parts)
                sgemm(M: N, N: c1 - c0, K: C, A: inp, lda: C, B: weight + c0, ldb: OC, beta: beta, C: out + c0, ldc: OC)
            }
        }
    }

    /// out (N,V) = inp (N,C) @ weight (V,C)^T: the tied language-model head over wte.
    public static func forwardTransposed(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        N: Int, C: Int, V: Int
    ) {
        let parts = Parallel.cores
        Parallel.forEach(parts) { part in
            let v0 = V * part / parts, v1 = V * (part + 1) / parts
            sgemm(transB: true, M: N, N: v1 - v0, K: C, A: inp, lda: C, B: weight + v0 * C, ldb: C, C: out + v0, ldc: V)
        }
    }
}
