import CBLAS

/// Matrix products, all through OpenBLAS sgemm. Weights keep the Hugging Face Conv1D layout
/// (in, out), so checkpoints are used as stored, without transposing.
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
        sgemm(M: N, N: OC, K: C, A: inp, lda: C, B: weight, ldb: OC, beta: bias == nil ? 0 : 1, C: out, ldc: OC)
    }

    /// out (N,V) = inp (N,C) @ weight (V,C)^T: the tied language-model head over wte.
    public static func forwardTransposed(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        N: Int, C: Int, V: Int
    ) {
        sgemm(transB: true, M: N, N: V, K: C, A: inp, lda: C, B: weight, ldb: C, C: out, ldc: V)
    }
}
