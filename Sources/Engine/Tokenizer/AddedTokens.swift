#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A token matched as a whole in the input before pre-tokenization (HF's `added_tokens`),
/// such as `<|endoftext|>`.
public struct AddedToken: Sendable, Hashable {
    public var content: String
    public var id: Int32
    /// Special tokens can be refused in user text (`allowSpecial: false`); others always match.
    public var special: Bool
    /// Only match when not touching a word character on either side.
    public var singleWord: Bool
    /// Also swallow the whitespace before (`lstrip`) or after (`rstrip`) the match.
    public var lstrip: Bool
    public var rstrip: Bool
    /// HF matches these after normalization; without a normalizer that only changes the
    /// order of the two matching passes.
    public var normalized: Bool

    public init(content: String, id: Int32, special: Bool = true, singleWord: Bool = false,
                lstrip: Bool = false, rstrip: Bool = false, normalized: Bool? = nil) {
        self.content = content
        self.id = id
        self.special = special
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized ?? !special
    }
}

/// A stretch of the input: plain text to pre-tokenize (`id < 0`) or one added token.
struct Segment {
    var start: Int
    var end: Int
    var id: Int32
}

/// Finds added tokens like HF's `AddedVocabulary`: leftmost-longest matches, first among the
/// tokens with `normalized == false` over the whole text, then among the others in the gaps.
struct AddedTokenMatcher: Sendable {
    private struct Entry: Sendable {
        var bytes: [UInt8]
        var token: AddedToken
    }
    /// Per first byte, candidates longest first (so the first hit is the longest).
    private let passes: [[[Entry]]]
    private let firstBytes: [[Bool]]
    /// Per pass, the one byte every token starts with, if there is one (usually `<`): then
    /// `memchr` finds candidates far faster than testing each byte.
    private let onlyFirstByte: [Int32]
    private let passHasTokens: [Bool]
    let isEmpty: Bool
    let hasNonSpecial: Bool

    init(_ tokens: [AddedToken]) {
        var passes = [[[Entry]]]()
        var firstBytes = [[Bool]]()
        var onlyFirstByte = [Int32]()
        for normalized in [false, true] {
            var table = [[Entry]](repeating: [], count: 256)
            var first = [Bool](repeating: false, count: 256)
            for t in tokens where t.normalized == normalized && !t.content.isEmpty {
                let bytes = Array(t.content.utf8)
                table[Int(bytes[0])].append(Entry(bytes: bytes, token: t))
                first[Int(bytes[0])] = true
            }
            for k in 0..<256 { table[k].sort { $0.bytes.count > $1.bytes.count } }
            passes.append(table)
            firstBytes.append(first)
            let starts = first.indices.filter { first[$0] }
            onlyFirstByte.append(starts.count == 1 ? Int32(starts[0]) : -1)
        }
        self.onlyFirstByte = onlyFirstByte
        passHasTokens = firstBytes.map { $0.contains(true) }
        self.passes = passes
        self.firstBytes = firstBytes
        isEmpty = tokens.allSatisfy { $0.content.isEmpty }
        hasNonSpecial = tokens.contains { !$0.special }
    }

    func split(_ p: UnsafePointer<UInt8>, _ count: Int, allowSpecial: Bool) -> [Segment] {
        var segments = [Segment]()
        find(p, 0, count, pass: 0, allowSpecial: allowSpecial, into: &segments)
        guard passHasTokens[1] else { return segments }
        var result = [Segment]()
        result.reserveCapacity(segments.count)
        for s in segments {
            if s.id >= 0 { result.append(s) } else { find(p, s.start, s.end, pass: 1, allowSpecial: allowSpecial, into: &result) }
        }
        return result
    }

    private func find(_ p: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int, pass: Int, allowSpecial: Bool, into out: inout [Segment]) {
        guard passHasTokens[pass] else {
            out.append(Segment(start: lo, end: hi, id: -1))
            return
        }
        let table = passes[pass]
        let first = firstBytes[pass]
        let only = onlyFirstByte[pass]
        var textStart = lo
        var i = lo
        while i < hi {
            if only >= 0 {
                guard let hit = memchr(p + i, only, hi - i) else { break }
                i = UnsafeRawPointer(hit).assumingMemoryBound(to: UInt8.self) - p
            } else {
                i = first.withUnsafeBufferPointer { f in
                    var j = i
                    while j < hi && !f[Int(p[j])] { j += 1 }
                    return j
                }
                if i == hi { break }
            }
            var hit: Entry?
            for e in table[Int(p[i])] where e.bytes.count <= hi - i {
                if e.bytes.withUnsafeBufferPointer({ memoryEqual($0.baseAddress!, p + i, $0.count) }) {
                    hit = e
                    break
                }
            }
            guard let e = hit else { i += 1; continue }
            var start = i
            var stop = i + e.bytes.count
            i = stop  // matches never overlap, even the ones we skip
            if e.token.special && !allowSpecial { continue }
            if e.token.singleWord {
                let wordBefore = start > lo && Self.isWordScalar(endingAt: start, p, lo)
                let wordAfter = stop < hi && Self.isWordScalar(startingAt: stop, p)
                if wordBefore || wordAfter { continue }
            }
            if e.token.lstrip {
                var s = start
                while s > textStart, let w = Self.whitespaceLength(endingAt: s, p, textStart) { s -= w }
                start = s
            }
            if e.token.rstrip {
                while stop < hi, let w = Self.whitespaceLength(startingAt: stop, p, hi) { stop += w }
                i = stop
            }
            if textStart < start { out.append(Segment(start: textStart, end: start, id: -1)) }
            out.append(Segment(start: start, end: stop, id: e.token.id))
            textStart = stop
        }
        if textStart < hi { out.append(Segment(start: textStart, end: hi, id: -1)) }
    }

    // MARK: scalar helpers (rare paths, so plain Unicode.Scalar properties)

    private static func scalar(startingAt i: Int, _ p: UnsafePointer<UInt8>) -> (Unicode.Scalar, Int) {
        let b0 = UInt32(p[i])
        let n = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4
        var v = n == 1 ? b0 : b0 & (0x7F >> UInt32(n))
        for k in 1..<n { v = v << 6 | UInt32(p[i + k] & 0x3F) }
        return (Unicode.Scalar(v) ?? "\u{FFFD}", n)
    }

    private static func scalarStart(before i: Int, _ p: UnsafePointer<UInt8>, _ lo: Int) -> Int {
        var s = i - 1
        while s > lo && p[s] & 0xC0 == 0x80 { s -= 1 }
        return s
    }

    private static func isWordScalar(endingAt i: Int, _ p: UnsafePointer<UInt8>, _ lo: Int) -> Bool {
        CharClassTable.isWordScalar(scalar(startingAt: scalarStart(before: i, p, lo), p).0)
    }

    private static func isWordScalar(startingAt i: Int, _ p: UnsafePointer<UInt8>) -> Bool {
        CharClassTable.isWordScalar(scalar(startingAt: i, p).0)
    }

    private static func whitespaceLength(endingAt i: Int, _ p: UnsafePointer<UInt8>, _ lo: Int) -> Int? {
        let s = scalarStart(before: i, p, lo)
        return scalar(startingAt: s, p).0.properties.isWhitespace ? i - s : nil
    }

    private static func whitespaceLength(startingAt i: Int, _ p: UnsafePointer<UInt8>, _ hi: Int) -> Int? {
        let (s, n) = scalar(startingAt: i, p)
        return s.properties.isWhitespace && i + n <= hi ? n : nil
    }
}
