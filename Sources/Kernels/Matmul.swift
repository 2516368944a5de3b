import CBLAS

/// Matrix products, all through OpenBLAS sgemm. Weights keep the Hugging Face Conv1D layout
/// (in, out), so checkpoints are used as stored, without transposing.
///
/// OpenBLAS runs single-threaded and the products are cut into tiles here, run over
/// `Parallel`'s threads: with two thread pools, OpenBLAS's workers spin after each call and
/// steal the cores the SIMD kernels between the products need.
///
/// The tiles depend on the shape of the product only, never on the thread count, so every
/// thread count makes the same sgemm calls and gets the same bits. That is a property OpenBLAS
/// does not give by itself: its Haswell/Zen kernels round a row differently when it falls in
/// a partial 12-row group of a call, and its SkylakeX kernel switches to a small-matrix path
/// for small calls (measured on Debian's 0.3.21), so splitting by thread count changed the
/// results with the number of cores.
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

    /// Runs `body(rows, columns)` over tiles of an (M, N) output, at most `rowTile` x
    /// `columnTile` each, spread over the threads. Each tile is one sgemm call: tiles cost a
    /// re-packing of the operands they share, so they are as large as the parallelism allows.
    static func forTiles(M: Int, N: Int, rowTile: Int, columnTile: Int, _ body: (Range<Int>, Range<Int>) -> Void) {
        let rowTiles = (M + rowTile - 1) / rowTile, columnTiles = (N + columnTile - 1) / columnTile
        Parallel.forEach(rowTiles * columnTiles) { tile in
            let r = tile / columnTiles, c = tile % columnTiles
            body(r * rowTile..<min(M, (r + 1) * rowTile), c * columnTile..<min(N, (c + 1) * columnTile))
        }
    }

    /// Tile sizes for an (M, N) output from its shape alone: rows in blocks of 256 (each block
    /// re-packs the weights), columns in parts of at least 384, or of 64 when there are few
    /// rows (prefill-sized products, where reading the weights is the cost and splitting them
    /// is what spreads it).
    static func tiles(M: Int, N: Int) -> (rows: Int, columns: Int) {
        M >= 256 ? (256, tile(N, minimum: 384)) : (max(1, M), tile(N, minimum: 64))
    }

    /// A tile length cutting `count` into at most 24 equal parts of at least `minimum`, in
    /// multiples of 16: 24 parts share out evenly over 1, 2, 3, 4, 6, 8, 12 or 24 threads.
    static func tile(_ count: Int, minimum: Int) -> Int {
        let parts = max(1, min(24, count / max(1, minimum)))
        return max(16, ((count + parts - 1) / parts + 15) / 16 * 16)
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
        let (rowTile, columnTile) = tiles(M: N, N: OC)
        forTiles(M: N, N: OC, rowTile: rowTile, columnTile: columnTile) { rows, columns in
            sgemm(M: rows.count, N: columns.count, K: C, A: inp + rows.lowerBound * C, lda: C,
                  B: weight + columns.lowerBound, ldb: OC, beta: beta,
                  C: out + rows.lowerBound * OC + columns.lowerBound, ldc: OC)
        }
    }

    /// out (N,V) = inp (N,C) @ weight (V,C)^T: the tied language-model head over wte.
    public static func forwardTransposed(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        N: Int, C: Int, V: Int
    ) {
        // Each vocabulary tile re-packs all of inp: few, large ones (24 for a 50k vocabulary).
        forTiles(M: N, N: V, rowTile: max(N, 1), columnTile: tile(V, minimum: 1024)) { rows, vocabulary in
            sgemm(transB: true, M: rows.count, N: vocabulary.count, K: C, A: inp + rows.lowerBound * C, lda: C,
                  B: weight + vocabulary.lowerBound * C, ldb: C, C: out + rows.lowerBound * V + vocabulary.lowerBound, ldc: V)
        }
    }
}
