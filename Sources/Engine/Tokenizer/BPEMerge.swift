/// Scratch memory for merging one pre-token, reused across the pre-tokens of a call so that
/// BPE allocates nothing per word.
final class BPEWorkspace {
    private(set) var capacity = 0
    private(set) var syms: UnsafeMutablePointer<Int32>
    private var packed: UnsafeMutablePointer<UInt64>
    private var prev: UnsafeMutablePointer<Int32>
    private var next: UnsafeMutablePointer<Int32>
    private var heap: UnsafeMutablePointer<UInt64>

    /// Words longer than this use the heap; shorter ones the quadratic scan, which for the
    /// usual 2–15 bytes does fewer memory operations than maintaining a heap.
    static let heapThreshold = 64

    init(capacity: Int = 256) {
        self.capacity = capacity
        syms = .allocate(capacity: capacity)
        packed = .allocate(capacity: capacity)
        prev = .allocate(capacity: capacity)
        next = .allocate(capacity: capacity)
        heap = .allocate(capacity: 3 * capacity)
    }

    deinit {
        syms.deallocate(); packed.deallocate(); prev.deallocate(); next.deallocate(); heap.deallocate()
    }

    private func reserve(_ n: Int) {
        guard n > capacity else { return }
        syms.deallocate(); packed.deallocate(); prev.deallocate(); next.deallocate(); heap.deallocate()
        capacity = max(n, capacity * 2)
        syms = .allocate(capacity: capacity)
        packed = .allocate(capacity: capacity)
        prev = .allocate(capacity: capacity)
        next = .allocate(capacity: capacity)
        heap = .allocate(capacity: 3 * capacity)
    }

    /// Runs BPE over `count` bytes; the resulting ids are `syms[0..<result]`.
    ///
    /// Always applies the lowest-ranked adjacent pair, leftmost first, until none is left:
    /// the order HF's `Word::merge_all` produces with its (rank, position) heap.
    func merge(_ bytes: UnsafePointer<UInt8>, _ count: Int, byteToId: UnsafePointer<Int32>, merges: MergeTable) -> Int {
        reserve(count)
        var n = 0
        for k in 0..<count {
            let id = byteToId[Int(bytes[k])]
            // A byte missing from the vocab is dropped, as HF's BPE does without unk token.
            if id >= 0 { syms[n] = id; n += 1 }
        }
        if n < 2 { return n }
        return n > Self.heapThreshold ? mergeWithHeap(n, merges) : mergeByScan(n, merges)
    }

    private func mergeByScan(_ count: Int, _ merges: MergeTable) -> Int {
        var n = count
        for k in 0..<(n - 1) { packed[k] = merges.lookup(syms[k], syms[k + 1]) }
        while n > 1 {
            var best = MergeTable.none
            var at = -1
            for k in 0..<(n - 1) where packed[k] < best {
                best = packed[k]
                at = k
            }
            if at < 0 { break }
            syms[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            // Close the gap left by syms[at + 1].
            let tail = n - at - 2
            if tail > 0 {
                (syms + at + 1).update(from: syms + at + 2, count: tail)
                (packed + at + 1).update(from: packed + at + 2, count: tail - 1 > 0 ? tail - 1 : 0)
            }
            n -= 1
            if at + 1 < n { packed[at] = merges.lookup(syms[at], syms[at + 1]) }
            if at > 0 { packed[at - 1] = merges.lookup(syms[at - 1], syms[at]) }
        }
        return n
    }

    // MARK: long words: linked list + min-heap of (rank << 32 | position)

    private func mergeWithHeap(_ n: Int, _ merges: MergeTable) -> Int {
        var heapCount = 0
        for k in 0..<n {
            prev[k] = Int32(k - 1)
            next[k] = k + 1 < n ? Int32(k + 1) : -1
        }
        for k in 0..<(n - 1) {
            let m = merges.lookup(syms[k], syms[k + 1])
            if m != MergeTable.none { push(m & ~0xFFFF_FFFF | UInt64(k), &heapCount) }
        }
        while heapCount > 0 {
            let top = pop(&heapCount)
            let pos = Int(top & 0xFFFF_FFFF)
            let rank = top >> 32
            let left = syms[pos]
            let nx = Int(next[pos])
            // Stale entries: the symbol was absorbed, or its right neighbour changed.
            if left < 0 || nx < 0 { continue }
            let m = merges.lookup(left, syms[nx])
            if m == MergeTable.none || m >> 32 != rank { continue }
            syms[pos] = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
            syms[nx] = -1
            let after = next[nx]
            next[pos] = after
            if after >= 0 { prev[Int(after)] = Int32(pos) }
            let before = prev[pos]
            if before >= 0 {
                let pm = merges.lookup(syms[Int(before)], syms[pos])
                if pm != MergeTable.none { push(pm & ~0xFFFF_FFFF | UInt64(before), &heapCount) }
            }
            if after >= 0 {
                let am = merges.lookup(syms[pos], syms[Int(after)])
                if am != MergeTable.none { push(am & ~0xFFFF_FFFF | UInt64(pos), &heapCount) }
            }
        }
        var out = 0
        for k in 0..<n where syms[k] >= 0 {
            syms[out] = syms[k]
            out += 1
        }
        return out
    }

    @inline(__always)
    private func push(_ v: UInt64, _ count: inout Int) {
        var k = count
        count += 1
        while k > 0 {
            let parent = (k - 1) >> 1
            if heap[parent] <= v { break }
            heap[k] = heap[parent]
            k = parent
        }
        heap[k] = v
    }

    @inline(__always)
    private func pop(_ count: inout Int) -> UInt64 {
        let top = heap[0]
        count -= 1
        let last = heap[count]
        var k = 0
        while true {
            var child = 2 * k + 1
            if child >= count { break }
            if child + 1 < count && heap[child + 1] < heap[child] { child += 1 }
            if last <= heap[child] { break }
            heap[k] = heap[child]
            k = child
        }
        heap[k] = last
        return top
    }
}
