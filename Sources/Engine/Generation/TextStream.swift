import Tokenizer

/// Turns the bytes of generated tokens into text deltas that never show a broken character
/// or any part of a stop string: bytes that could still begin a stop string are held back
/// until they cannot, and a partial UTF-8 sequence is held until it completes.
struct TextStream {
    let stops: [[UInt8]]
    private var pending: [UInt8] = []
    private var partial: [UInt8] = []
    private(set) var stopped = false

    init(stops: [String]) { self.stops = stops.map { Array($0.utf8) } }

    /// Adds a token's bytes; returns the text that is now safe to show.
    mutating func append(_ bytes: [UInt8]) -> String {
        guard !stopped else { return "" }
        pending += bytes
        if let match = earliestMatch() {
            stopped = true
            let released = Array(pending[..<match])
            pending = []
            return assemble(released, final: true)
        }
        let keep = earliestPossiblePrefix()
        let released = Array(pending[..<keep])
        pending.removeFirst(keep)
        return assemble(released, final: false)
    }

    /// Everything still held, at the end of generation (a dangling partial character becomes U+FFFD).
    mutating func finish() -> String {
        let rest = pending
        pending = []
        return assemble(rest, final: true)
    }

    private func earliestMatch() -> Int? {
        var best: Int?
        for stop in stops where stop.count <= pending.count {
            var i = 0
            while i + stop.count <= pending.count {
                if pending[i..<(i + stop.count)].elementsEqual(stop) {
                    best = min(best ?? i, i)
                    break
                }
                i += 1
            }
        }
        return best
    }

    /// First index from which the held bytes are a proper prefix of some stop string.
    private func earliestPossiblePrefix() -> Int {
        for i in 0..<pending.count {
            let tail = pending[i...]
            if stops.contains(where: { $0.count > tail.count && $0.starts(with: tail) }) { return i }
        }
        return pending.count
    }

    private mutating func assemble(_ bytes: [UInt8], final: Bool) -> String {
        partial += bytes
        let cut = final ? partial.count : partial.count - UTF8Tail.incompleteSuffixLength(partial)
        let text = String(decoding: partial[..<cut], as: UTF8.self)
        partial.removeFirst(cut)
        return text
    }
}
