/// Token and position embeddings, residual additions: the memory-bound glue of the model.
public enum Elementwise {
    /// out (B,T,C) = wte[tokens[b,t]] + wpe[t]
    public static func encoderForward(
        out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>,
        wte: UnsafePointer<Float>, wpe: UnsafePointer<Float>, B: Int, T: Int, C: Int
    ) {
        Parallel.forEach(B * T, grain: 16) { bt in
            let t = bt % T
            let row = out + bt * C
            let tokenRow = wte + Int(tokens[bt]) * C
            let positionRow = wpe + t * C
            var i = 0
            while i + vecWidth <= C {
                store(load(tokenRow + i) + load(positionRow + i), row + i)
                i += vecWidth
            }
            while i < C {
                row[i] = tokenRow[i] + positionRow[i]
                i += 1
            }
        }
    }

    /// out (N) = a + b; out may alias a or b.
    public static func residualForward(
        out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, N: Int
    ) {
        Parallel.forRanges(N, grain: 1 << 14, alignment: vecWidth) { range in
            var i = range.lowerBound
            while i + vecWidth <= range.upperBound {
                store(load(a + i) + load(b + i), out + i)
                i += vecWidth
            }
            while i < range.upperBound {
                out[i] = a[i] + b[i]
                i += 1
            }
        }
    }
}
