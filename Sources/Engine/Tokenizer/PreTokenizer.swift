/// GPT-2's split rule, hand-written over UTF-8:
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// with the leftmost-first alternation and backtracking of the regex engines HF and tiktoken
/// use. Every scalar falls in exactly one of L, N, whitespace or "other", so pieces tile the
/// text; `pieceEnd` returns where the piece starting at `i` stops.
struct PreTokenizer {
    /// Class of every BMP scalar; its first 128 entries are the ASCII fast path.
    let classes: UnsafeMutablePointer<UInt8>

    init(_ table: CharClassTable = .shared) { classes = table.bmp }

    /// Class and byte length of the scalar at `i` (input is valid UTF-8: it comes from a String).
    @inline(__always)
    func classAt(_ p: UnsafePointer<UInt8>, _ i: Int) -> (UInt8, Int) {
        let b0 = UInt32(p[i])
        if b0 < 0x80 { return (classes[Int(b0)], 1) }
        if b0 < 0xE0 {
            let v = (b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F)
            return (classes[Int(v)], 2)
        }
        if b0 < 0xF0 {
            let v = (b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F)
            return (classes[Int(v)], 3)
        }
        let v = (b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F)
        return (CharClassTable.classify(Unicode.Scalar(v)!).rawValue, 4)
    }

    /// End of the run of scalars of class `c` that starts at `i`.
    @inline(__always)
    func runEnd(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, _ c: UInt8) -> Int {
        var j = i
        while j < end {
            let b = p[j]
            if b < 0x80 {
                if classes[Int(b)] != c { return j }
                j += 1
            } else {
                let (k, n) = classAt(p, j)
                if k != c { return j }
                j += n
            }
        }
        return j
    }

    @inline(__always)
    func pieceEnd(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        let b = p[i]
        // 's 't 're 've 'm 'll 'd — case-sensitive, ASCII apostrophe only.
        if b == 0x27 && i + 1 < end {
            let c = p[i + 1]
            if c == 0x73 || c == 0x74 || c == 0x6D || c == 0x64 { return i + 2 }  // s t m d
            if i + 2 < end {
                let d = p[i + 2]
                if (c == 0x72 || c == 0x76) && d == 0x65 { return i + 3 }  // re ve
                if c == 0x6C && d == 0x6C { return i + 3 }  // ll
            }
        }
        // ` ?X+`: a single U+0020 joins the run that follows it unless that run is whitespace.
        if b == 0x20 && i + 1 < end {
            let (c, n) = classAt(p, i + 1)
            if c != CharClass.space.rawValue { return runEnd(p, i + 1 + n, end, c) }
        }
        let (c, n) = classAt(p, i)
        if c != CharClass.space.rawValue { return runEnd(p, i + n, end, c) }
        // Whitespace: `\s+(?!\S)` takes the whole run at the end of the text, otherwise backs
        // off one scalar so the last one can lead the next word; a lone whitespace scalar
        // before non-space falls through to `\s+`.
        var j = i + n
        var lastStart = i
        while j < end {
            let (k, m) = classAt(p, j)
            if k != CharClass.space.rawValue { break }
            lastStart = j
            j += m
        }
        if j == end { return end }
        return lastStart > i ? lastStart : j
    }
}
