/// The encode pipeline: added tokens → pre-tokens → cached BPE.
extension BPEModel {
    /// Per-call scratch (the word cache is the model's, shared and locked).
    final class EncodeState {
        /// Only words missing from the cache need it, so short calls often never allocate it.
        lazy var workspace = BPEWorkspace()
        let pre = PreTokenizer()
        /// Bytes of plain text left before `shouldStop` is asked again.
        var untilAsked = BPEModel.askEvery
        var stopped = false
    }

    /// How often (in bytes of text) a cancellable encode asks whether to stop: a megabyte
    /// takes milliseconds, so a long text stops promptly and short ones never ask.
    static let askEvery = 1 << 20

    /// Encodes UTF-8 `p[0..<n]`; with `offsets`, also records where each token came from.
    /// Returns nil when `shouldStop`, asked every `askEvery` bytes, says yes.
    func encode(_ p: UnsafePointer<UInt8>, _ n: Int, allowSpecial: Bool,
                offsets: OffsetBuilder? = nil, shouldStop: () -> Bool = { false }) -> [Int32]? {
        var ids = [Int32]()
        ids.reserveCapacity(n / 4 + 8)
        let state = EncodeState()
        let needsMatching = !matcher.isEmpty && (allowSpecial || matcher.hasNonSpecial)
        let segments = needsMatching ? matcher.split(p, n, allowSpecial: allowSpecial) : [Segment(start: 0, end: n, id: -1)]
        for seg in segments where seg.end > seg.start {
            if state.stopped { return nil }
            if seg.id >= 0 {
                ids.append(seg.id)
                offsets?.addSpecial(start: seg.start, end: seg.end)
                continue
            }
            if options.addPrefixSpace && p[seg.start] != 0x20 {
                // HF prepends the space to each stretch between added tokens; a copy is the
                // simplest way to let the scanner see it.
                let length = seg.end - seg.start
                let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: length + 1)
                defer { copy.deallocate() }
                copy[0] = 0x20
                (copy + 1).update(from: p + seg.start, count: length)
                encodePlain(UnsafePointer(copy), 0, length + 1, state, &ids, offsets, shouldStop)
                offsets?.mapPrefixed(segmentStart: seg.start)
            } else {
                encodePlain(p, seg.start, seg.end, state, &ids, offsets, shouldStop)
                offsets?.mapPlain()
            }
        }
        return state.stopped ? nil : ids
    }

    /// Pre-tokenizes and merges one stretch of plain text.
    @inline(__always)
    private func encodePlain(_ p: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int, _ state: EncodeState,
                             _ ids: inout [Int32], _ offsets: OffsetBuilder?, _ shouldStop: () -> Bool) {
        let pre = state.pre
        let cache = wordCache
        let mergeTable = mergeTable
        let ignoreMerges = options.ignoreMerges
        // A local copy: the loop would otherwise load and store the class's field per piece.
        var untilAsked = state.untilAsked
        defer { state.untilAsked = untilAsked }
        byteToId.withUnsafeBufferPointer { byteBuf in
            let byteToId = byteBuf.baseAddress!
            var i = lo
            while i < hi {
                let e = pre.pieceEnd(p, i, hi)
                let len = e - i
                untilAsked -= len
                if untilAsked <= 0 {
                    untilAsked = Self.askEvery
                    if shouldStop() { state.stopped = true; return }
                }
                let before = ids.count
                if len == 1 {
                    let id = byteToId[Int(p[i])]
                    if id >= 0 { ids.append(id) }
                } else if ignoreMerges, let id = wholeTokens[Array(UnsafeBufferPointer(start: p + i, count: len))] {
                    ids.append(id)
                } else if len == 2 {
                    // One possible merge: cheaper than hashing for the cache.
                    let a = byteToId[Int(p[i])], b = byteToId[Int(p[i + 1])]
                    let m = a >= 0 && b >= 0 ? mergeTable.lookup(a, b) : MergeTable.none
                    if m != MergeTable.none {
                        ids.append(Int32(truncatingIfNeeded: m & 0xFFFF_FFFF))
                    } else {
                        if a >= 0 { ids.append(a) }
                        if b >= 0 { ids.append(b) }
                    }
                } else if len <= WordCache.maxKeyLength {
                    let h = WordCache.hash(p + i, len)
                    if !cache.append(p + i, len, hash: h, to: &ids) {
                        let ws = state.workspace
                        let k = ws.merge(p + i, len, byteToId: byteToId, merges: mergeTable)
                        ids.append(contentsOf: UnsafeBufferPointer(start: ws.syms, count: k))
                        cache.insert(p + i, len, hash: h, ids: ws.syms, count: k)
                    }
                } else {
                    let ws = state.workspace
                    let k = ws.merge(p + i, len, byteToId: byteToId, merges: mergeTable)
                    ids.append(contentsOf: UnsafeBufferPointer(start: ws.syms, count: k))
                }
                if let offsets { offsets.addPiece(start: i, end: e, ids: ids, from: before, model: self) }
                i = e
            }
        }
    }
}

/// Collects HF-style character offsets while encoding (only used by `encodeWithOffsets`).
final class OffsetBuilder {
    /// Scalar index of the scalar each byte of the input belongs to (plus one past the end).
    private let scalarOf: [Int32]
    /// Per token: byte range in the coordinates of the buffer being scanned.
    private var pending: [(Int, Int)] = []
    private(set) var offsets: [(start: Int, end: Int)] = []

    init(_ p: UnsafePointer<UInt8>, _ n: Int) {
        var table = [Int32](repeating: 0, count: n + 1)
        var s: Int32 = -1
        for i in 0..<n {
            if p[i] & 0xC0 != 0x80 { s += 1 }
            table[i] = s
        }
        table[n] = s + 1
        scalarOf = table
    }

    func addSpecial(start: Int, end: Int) {
        offsets.append((Int(scalarOf[start]), Int(scalarOf[end - 1]) + 1))
    }

    /// Splits a pre-token's byte range among the tokens BPE made of it.
    func addPiece(start: Int, end: Int, ids: [Int32], from first: Int, model: BPEModel) {
        var s = start
        for k in first..<ids.count {
            let id = Int(ids[k])
            let length = Int(model.decodeOffsets[id + 1] - model.decodeOffsets[id])
            let e = k == ids.count - 1 ? end : min(end, s + max(length, 1))
            pending.append((s, e))
            s = e
        }
    }

    /// A token covers the scalars its first and last bytes belong to, so the pieces of a
    /// character split across tokens each report the whole character (as HF does).
    func mapPlain() {
        for (s, e) in pending { offsets.append((Int(scalarOf[s]), Int(scalarOf[e - 1]) + 1)) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Same for a stretch scanned with a prepended space at buffer position 0: the space is
    /// aligned with the stretch's first character, as HF's `prepend` aligns it.
    func mapPrefixed(segmentStart: Int) {
        let firstScalar = Int(scalarOf[segmentStart])
        for (s, e) in pending {
            let start = s == 0 ? firstScalar : Int(scalarOf[segmentStart + s - 1])
            let end = e == 1 ? firstScalar + 1 : Int(scalarOf[segmentStart + e - 2]) + 1
            offsets.append((start, end))
        }
        pending.removeAll(keepingCapacity: true)
    }
}
