/// Open-addressing map from a pair of token ids to the merge it triggers.
///
/// A lookup is the innermost step of BPE, so values are packed as `rank << 32 | newId`:
/// comparing packed values compares ranks, and `MergeTable.none` (all ones) loses to every
/// real merge. Linear probing over one flat array of (key, value) words keeps a probe in a
/// single cache line.
final class MergeTable: @unchecked Sendable {
    // @unchecked: `slots` is filled in init and only read afterwards.
    static let none = UInt64.max
    private static let emptyKey = UInt64.max

    private let slots: UnsafeMutablePointer<UInt64>  // key, value, key, value, ...
    private let mask: Int
    private let shift: UInt64
    let count: Int

    /// `merges[rank] = (left, right, newId)`. A pair listed twice keeps its last rank, as a
    /// Rust `HashMap` collected from the list does in HF.
    init(_ merges: [(left: Int32, right: Int32, newId: Int32)]) {
        var bits = 4
        while (1 << bits) < max(16, merges.count * 2) { bits += 1 }
        let capacity = 1 << bits
        mask = capacity - 1
        shift = UInt64(64 - bits)
        slots = .allocate(capacity: capacity * 2)
        for k in 0..<capacity { slots[2 * k] = Self.emptyKey; slots[2 * k + 1] = 0 }
        var distinct = 0
        for (rank, m) in merges.enumerated() {
            let key = Self.key(m.left, m.right)
            var h = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while slots[2 * h] != Self.emptyKey && slots[2 * h] != key { h = (h + 1) & mask }
            if slots[2 * h] == Self.emptyKey { distinct += 1 }
            slots[2 * h] = key
            slots[2 * h + 1] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: m.newId))
        }
        count = distinct
    }

    deinit { slots.deallocate() }

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    /// Packed `rank << 32 | newId`, or `MergeTable.none`.
    @inline(__always)
    func lookup(_ a: Int32, _ b: Int32) -> UInt64 {
        let key = Self.key(a, b)
        var h = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let k = slots[2 * h]
            if k == key { return slots[2 * h + 1] }
            if k == Self.emptyKey { return Self.none }
            h = (h + 1) & mask
        }
    }
}
