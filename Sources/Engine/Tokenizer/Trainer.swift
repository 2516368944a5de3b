import Foundation

/// Learns a byte-level BPE the way Hugging Face's `BpeTrainer` does, so that the same
/// texts give the same merges in the same order.
///
/// Like HF: words are counted after pre-tokenization; ids are the special tokens, then the
/// 256 byte symbols in code-point order, then one per merge; each step merges the most
/// frequent pair, ties going to the smallest (left id, right id) pair; pair counts are updated
/// incrementally from the words that contain the pair, with stale queue entries re-queued
/// lazily; training stops at `vocabSize` or when the best pair is rarer than `minFrequency`.
public enum BPETrainer {
    /// Trains on `texts`. `minFrequency` defaults to 2 like `ByteLevelBPETokenizer.train`.
    ///
    /// HF's `train(files:)` pre-tokenizes each line of a file on its own, so pass a file's
    /// lines (with their line endings) to reproduce it exactly.
    public static func train(texts: some Sequence<String>, vocabSize: Int,
                             specialTokens: [String] = ["<|endoftext|>"], minFrequency: Int = 2) -> BPETokenizer {
        let counter = WordCounter()
        let pre = PreTokenizer()
        for text in texts {
            var text = text
            text.withUTF8 { buf in
                guard let p = buf.baseAddress else { return }
                var i = 0
                while i < buf.count {
                    let e = pre.pieceEnd(p, i, buf.count)
                    counter.add(p + i, e - i)
                    i = e
                }
            }
        }
        var state = TrainerState(counter: counter, specialTokens: specialTokens)
        state.run(vocabSize: vocabSize, minFrequency: Int64(max(0, minFrequency)))
        return state.tokenizer(specialTokens: specialTokens)
    }

    /// Trains on text files read the way HF's `train(files:)` reads them: line by line, each
    /// line keeping its "\n" (and a "\r" before it). Splitting is done on bytes: Swift's
    /// `split(separator: "\n")` on a `String` misses CRLF line ends, since "\r\n" is one
    /// `Character`. Invalid UTF-8 is replaced with U+FFFD (HF refuses such files).
    public static func train(files: [String], vocabSize: Int, specialTokens: [String] = ["<|endoftext|>"],
                             minFrequency: Int = 2) throws(TokenizerError) -> BPETokenizer {
        var lines = [String]()
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .io(file: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
            }
            lines.append(contentsOf: linesKeepingEndings([UInt8](data)))
        }
        return train(texts: lines, vocabSize: vocabSize, specialTokens: specialTokens, minFrequency: minFrequency)
    }

    /// Lines of a file, each with its "\n", as Hugging Face's trainer reads files.
    public static func linesKeepingEndings(_ bytes: [UInt8]) -> [String] {
        var lines = [String]()
        var start = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            lines.append(String(decoding: bytes[start...i], as: UTF8.self))
            start = i + 1
        }
        if start < bytes.count { lines.append(String(decoding: bytes[start...], as: UTF8.self)) }
        return lines
    }
}

/// Distinct pre-tokens and how often each occurs; keys live in one arena.
final class WordCounter {
    private(set) var arena = [UInt8]()
    private(set) var starts = [Int32]()
    private(set) var lengths = [Int32]()
    private(set) var counts = [Int64]()
    private var slots = [Int32](repeating: -1, count: 1 << 12)
    private var hashes = [UInt64]()

    var count: Int { counts.count }

    func add(_ p: UnsafePointer<UInt8>, _ n: Int) {
        let h = WordCache.hash(p, n)
        var mask = slots.count - 1
        var k = Int(truncatingIfNeeded: h >> 20) & mask
        while true {
            let w = Int(slots[k])
            if w < 0 { break }
            if hashes[w] == h && Int(lengths[w]) == n {
                let same = arena.withUnsafeBufferPointer { memoryEqual($0.baseAddress! + Int(starts[w]), p, n) }
                if same { counts[w] += 1; return }
            }
            k = (k + 1) & mask
        }
        let w = counts.count
        starts.append(Int32(arena.count))
        lengths.append(Int32(n))
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        counts.append(1)
        hashes.append(h)
        slots[k] = Int32(w)
        if counts.count * 2 > slots.count {
            slots = [Int32](repeating: -1, count: slots.count * 2)
            mask = slots.count - 1
            for (i, hh) in hashes.enumerated() {
                var j = Int(truncatingIfNeeded: hh >> 20) & mask
                while slots[j] >= 0 { j = (j + 1) & mask }
                slots[j] = Int32(i)
            }
        }
    }
}

/// Pair (left << 32 | right) → dense index, open addressing.
private struct PairIndex {
    private var keys: [UInt64]
    private var values: [Int32]
    private(set) var count = 0

    init() {
        keys = [UInt64](repeating: .max, count: 1 << 14)
        values = [Int32](repeating: -1, count: 1 << 14)
    }

    @inline(__always) private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    func find(_ key: UInt64) -> Int32 {
        let mask = keys.count - 1
        var k = Self.slot(key, mask)
        while keys[k] != .max {
            if keys[k] == key { return values[k] }
            k = (k + 1) & mask
        }
        return -1
    }

    /// The index of `key`, adding it as `count` (the next dense index) if new.
    mutating func findOrInsert(_ key: UInt64) -> (index: Int32, inserted: Bool) {
        if (count + 1) * 2 > keys.count { grow() }
        let mask = keys.count - 1
        var k = Self.slot(key, mask)
        while keys[k] != .max {
            if keys[k] == key { return (values[k], false) }
            k = (k + 1) & mask
        }
        keys[k] = key
        values[k] = Int32(count)
        count += 1
        return (Int32(count - 1), true)
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = [UInt64](repeating: .max, count: oldKeys.count * 2)
        values = [Int32](repeating: -1, count: oldKeys.count * 2)
        let mask = keys.count - 1
        for (i, key) in oldKeys.enumerated() where key != .max {
            var k = Self.slot(key, mask)
            while keys[k] != .max { k = (k + 1) & mask }
            keys[k] = key
            values[k] = oldValues[i]
        }
    }
}

/// A queued candidate merge. Like HF's `Merge`, each entry carries the words it was queued
/// for; only those words are merged when it wins.
private struct QueueEntry {
    var count: Int64
    var pair: UInt64
    var positions: Int32  // index into TrainerState.positionLists

    /// Higher count first, then the smaller pair (HF: `other.pair.cmp(&self.pair)`).
    @inline(__always) func beats(_ o: QueueEntry) -> Bool {
        count != o.count ? count > o.count : pair < o.pair
    }
}

private struct TrainerState {
    /// Token strings as HF's trainer keys them (byte-level form; specials as written),
    /// UTF-8 → id, so a merge that spells an existing token reuses its id like HF's `word_to_id`.
    var idToString: [String] = []
    var stringToId: [[UInt8]: Int32] = [:]
    var merges: [(left: Int32, right: Int32, newId: Int32)] = []

    // Words as runs in one flat symbol buffer; a merge shrinks a run in place.
    var symbols: [Int32] = []
    var wordStart: [Int32] = []
    var wordLength: [Int32] = []
    var wordCount: [Int64] = []

    var pairs = PairIndex()
    var pairCount: [Int64] = []
    var positionLists: [[Int32]] = []
    var heap: [QueueEntry] = []

    init(counter: WordCounter, specialTokens: [String]) {
        for s in specialTokens where stringToId[Array(s.utf8)] == nil {
            add(s)
        }
        // The whole byte alphabet, in code-point order of the symbols that stand for bytes.
        var byteId = [Int32](repeating: -1, count: 256)
        let order = (0..<256).sorted { ByteLevel.byteToScalar[$0] < ByteLevel.byteToScalar[$1] }
        for b in order {
            let s = String(Unicode.Scalar(ByteLevel.byteToScalar[b])!)
            if let existing = stringToId[Array(s.utf8)] {
                // A special token spelled like a byte symbol keeps its id (HF: `contains_key`).
                byteId[b] = existing
                continue
            }
            byteId[b] = Int32(idToString.count)
            add(s)
        }

        let n = counter.count
        wordStart.reserveCapacity(n)
        wordLength.reserveCapacity(n)
        symbols.reserveCapacity(counter.arena.count)
        for w in 0..<n {
            let start = Int(counter.starts[w]), length = Int(counter.lengths[w])
            wordStart.append(Int32(symbols.count))
            wordLength.append(Int32(length))
            for k in start..<(start + length) { symbols.append(byteId[Int(counter.arena[k])]) }
        }
        wordCount = counter.counts

        // Initial pair counts and, per pair, the words holding it.
        for w in 0..<n {
            let s = Int(wordStart[w]), length = Int(wordLength[w])
            guard length > 1 else { continue }
            for k in s..<(s + length - 1) {
                let key = MergeTable.key(symbols[k], symbols[k + 1])
                let (index, inserted) = pairs.findOrInsert(key)
                if inserted { pairCount.append(0); positionLists.append([]) }
                pairCount[Int(index)] += wordCount[w]
                if positionLists[Int(index)].last != Int32(w) { positionLists[Int(index)].append(Int32(w)) }
            }
        }
        heap.reserveCapacity(pairs.count)
        // Queue every pair with its word list (list index == pair index at this point).
        var queued = [Bool](repeating: false, count: pairCount.count)
        for w in 0..<n {
            let s = Int(wordStart[w]), length = Int(wordLength[w])
            guard length > 1 else { continue }
            for k in s..<(s + length - 1) {
                let key = MergeTable.key(symbols[k], symbols[k + 1])
                let index = Int(pairs.find(key))
                if !queued[index] && pairCount[index] > 0 {
                    queued[index] = true
                    push(QueueEntry(count: pairCount[index], pair: key, positions: Int32(index)))
                }
            }
        }
    }

    private mutating func add(_ string: String) {
        stringToId[Array(string.utf8)] = Int32(idToString.count)
        idToString.append(string)
    }

    mutating func run(vocabSize: Int, minFrequency: Int64) {
        var changeKeys = [UInt64](), changeDeltas = [Int8](), changeWords = [Int32]()
        var newPositions = [UInt64: [Int32]]()
        var newOrder = [UInt64]()
        while idToString.count < vocabSize, !heap.isEmpty {
            var top = pop()
            let index = Int(pairs.find(top.pair))
            let actual = pairCount[index]
            if top.count != actual {
                top.count = actual
                push(top)
                continue
            }
            if top.count < 1 || minFrequency > top.count { break }

            let a = Int32(truncatingIfNeeded: top.pair >> 32), b = Int32(truncatingIfNeeded: top.pair & 0xFFFF_FFFF)
            let merged = idToString[Int(a)] + idToString[Int(b)]
            let newId: Int32
            if let existing = stringToId[Array(merged.utf8)] {
                newId = existing
            } else {
                newId = Int32(idToString.count)
                add(merged)
            }
            merges.append((a, b, newId))

            changeKeys.removeAll(keepingCapacity: true)
            changeDeltas.removeAll(keepingCapacity: true)
            changeWords.removeAll(keepingCapacity: true)
            let words = positionLists[Int(top.positions)]
            positionLists[Int(top.positions)] = []
            symbols.withUnsafeMutableBufferPointer { sym in
                for w in words {
                    let start = Int(wordStart[Int(w)])
                    wordLength[Int(w)] = Self.mergeWord(sym.baseAddress! + start, Int(wordLength[Int(w)]), w, a, b, newId,
                                                        &changeKeys, &changeDeltas, &changeWords)
                }
            }

            newPositions.removeAll(keepingCapacity: true)
            newOrder.removeAll(keepingCapacity: true)
            for k in 0..<changeKeys.count {
                let key = changeKeys[k]
                let (index, inserted) = pairs.findOrInsert(key)
                if inserted { pairCount.append(0) }
                let w = changeWords[k]
                pairCount[Int(index)] += Int64(changeDeltas[k]) * wordCount[Int(w)]
                if changeDeltas[k] > 0 {
                    if newPositions[key] == nil { newPositions[key] = [w]; newOrder.append(key) }
                    else if newPositions[key]!.last != w { newPositions[key]!.append(w) }
                }
            }
            for key in newOrder {
                let count = pairCount[Int(pairs.find(key))]
                if count > 0 {
                    positionLists.append(newPositions[key]!)
                    push(QueueEntry(count: count, pair: key, positions: Int32(positionLists.count - 1)))
                }
            }
        }
    }

    /// HF's `Word::merge`: replace each (a, b) left to right, reporting the pairs that
    /// disappear (-1) and appear (+1) around each replacement.
    private static func mergeWord(_ word: UnsafeMutablePointer<Int32>, _ n: Int, _ w: Int32,
                                  _ a: Int32, _ b: Int32, _ replacement: Int32,
                                  _ keys: inout [UInt64], _ deltas: inout [Int8], _ words: inout [Int32]) -> Int32 {
        var read = 0, write = 0
        while read < n {
            if word[read] == a && read + 1 < n && word[read + 1] == b {
                if write > 0 {
                    keys.append(MergeTable.key(word[write - 1], a)); deltas.append(-1); words.append(w)
                    keys.append(MergeTable.key(word[write - 1], replacement)); deltas.append(1); words.append(w)
                }
                word[write] = replacement
                write += 1
                read += 2
                if read < n {
                    keys.append(MergeTable.key(b, word[read])); deltas.append(-1); words.append(w)
                    keys.append(MergeTable.key(replacement, word[read])); deltas.append(1); words.append(w)
                }
            } else {
                word[write] = word[read]
                write += 1
                read += 1
            }
        }
        return Int32(write)
    }

    // MARK: binary heap, best entry on top

    private mutating func push(_ e: QueueEntry) {
        heap.append(e)
        var k = heap.count - 1
        while k > 0 {
            let parent = (k - 1) / 2
            if !e.beats(heap[parent]) { break }
            heap[k] = heap[parent]
            k = parent
        }
        heap[k] = e
    }

    private mutating func pop() -> QueueEntry {
        let top = heap[0]
        let last = heap.removeLast()
        if heap.isEmpty { return top }
        var k = 0
        let n = heap.count
        while true {
            var child = 2 * k + 1
            if child >= n { break }
            if child + 1 < n && heap[child + 1].beats(heap[child]) { child += 1 }
            if !heap[child].beats(last) { break }
            heap[k] = heap[child]
            k = child
        }
        heap[k] = last
        return top
    }

    func tokenizer(specialTokens: [String]) -> BPETokenizer {
        let vocab = idToString.enumerated().map { (token: $0.element, id: Int32($0.offset)) }
        var added = [AddedToken]()
        var seen = Set<Int32>()
        for s in specialTokens {
            if let id = stringToId[Array(s.utf8)], seen.insert(id).inserted {
                added.append(AddedToken(content: s, id: id, special: true, normalized: false))
            }
        }
        return BPETokenizer(model: BPEModel(TokenizerSpec(vocab: vocab, merges: merges, addedTokens: added,
                                                           options: TokenizerOptions(), unkId: nil)))
    }
}
