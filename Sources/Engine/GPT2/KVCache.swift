/// Keys and values of past positions, per sequence slot and layer, preallocated for
/// `slots` sequences of up to `maxLength` tokens (at most the model's context).
public final class KVCache: @unchecked Sendable {
    public let config: GPT2Config
    public let slots: Int
    public let maxLength: Int
    /// Tokens cached per slot.
    public private(set) var lengths: [Int]
    let keys: UnsafeMutablePointer<Float>    // (L, slots, maxLength, C)
    let values: UnsafeMutablePointer<Float>  // (L, slots, maxLength, C)

    public init(config: GPT2Config, slots: Int, maxLength: Int? = nil) {
        self.config = config
        self.slots = slots
        self.maxLength = min(maxLength ?? config.nPositions, config.nPositions)
        lengths = [Int](repeating: 0, count: slots)
        let count = config.nLayer * slots * self.maxLength * config.nEmbd
        keys = .allocate(capacity: max(1, count))
        values = .allocate(capacity: max(1, count))
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Forgets a slot's tokens so a new sequence can use it.
    public func reset(slot: Int) { lengths[slot] = 0 }

    /// Copies a slot's cache into another (n completions of one prompt share its prefill).
    public func copy(slot source: Int, to destination: Int) {
        let C = config.nEmbd
        for l in 0..<config.nLayer {
            let from = offset(layer: l, slot: source, position: 0), to = offset(layer: l, slot: destination, position: 0)
            (keys + to).update(from: keys + from, count: lengths[source] * C)
            (values + to).update(from: values + from, count: lengths[source] * C)
        }
        lengths[destination] = lengths[source]
    }

    @inline(__always) func offset(layer: Int, slot: Int, position: Int) -> Int {
        ((layer * slots + slot) * maxLength + position) * config.nEmbd
    }

    func advance(slot: Int, by count: Int) { lengths[slot] += count }

    public var byteCount: Int { 2 * config.nLayer * slots * maxLength * config.nEmbd * 4 }
}
