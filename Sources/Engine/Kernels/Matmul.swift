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

    /// Tile sizes for an (M, N) output from its shape alone: with many rows, up to 8 row
    /// blocks of at least 256 (each re-packs its weight columns) times up to 6 column blocks of
    /// at least 384 (each re-packs its rows); with few rows (prefill-sized products, where reading the weights is the
    /// cost and splitting them is what spreads it), up to 24 column blocks of at least 64.
    static func tiles(M: Int, N: Int) -> (rows: Int, columns: Int) {
        M >= 256
            ? (tile(M, minimum: 256, parts: 8), tile(N, minimum: 384, parts: 6))
            : (max(1, M), tile(N, minimum: 64, parts: 24))
    }

    /// A tile length cutting `count` into at most `parts` equal parts of at least `minimum`,
    /// in multiples of 16. Counts like 6, 12 or 24 share out evenly over common thread counts.
    /// (Measured on 2 cores against per-thread splits: training steps at parity, a 1024-row
    /// forward pass 2-3% slower, from re-packing.)
    static func tile(_ count: Int, minimum: Int, parts: Int) -> Int {
        let parts = max(1, min(parts, count / max(1, minimum)))
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
        forTiles(M: N, N: V, rowTile: max(N, 1), columnTile: tile(V, minimum: 1024, parts: 24)) { rows, vocabulary in
            sgemm(transB: true, M: rows.count, N: vocabulary.count, K: C, A: inp + rows.lowerBound * C, lda: C,
                  B: weight + vocabulary.lowerBound * C, ldb: C, C: out + rows.lowerBound * V + vocabulary.lowerBound, ldc: V)
        }
    }
}
