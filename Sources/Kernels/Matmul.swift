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
        parallelRows(N) { rows in
            sgemm(M: rows.count, N: OC, K: C, A: inp + rows.lowerBound * C, lda: C, B: weight, ldb: OC, beta: beta,
                  C: out + rows.lowerBound * OC, ldc: OC)
        }
    }

    /// Splits M rows into one block per core (small products stay on one thread).
    static func parallelRows(_ M: Int, _ body: (Range<Int>) -> Void) {
        let parts = Parallel.cores
        if M < 64 * parts { body(0..<M); return }
        Parallel.forEach(parts) { part in
            body((M * part / parts)..<(M * (part + 1) / parts))
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
