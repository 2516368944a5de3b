extension BPEModel {
    /// Bytes of the ids that decode (in range, and not special when `skipSpecial`).
    @inline(__always)
    private func decodedLength(_ ids: UnsafeBufferPointer<Int32>, _ offsets: UnsafePointer<Int32>,
                               _ special: UnsafePointer<Bool>, _ skipSpecial: Bool) -> Int {
        var total = 0
        for id in ids where id >= 0 && Int(id) < count && !(skipSpecial && special[Int(id)]) {
            total += Int(offsets[Int(id) + 1] - offsets[Int(id)])
        }
        return total
    }

    /// Writes the bytes of `ids` at `out`, which must have room for their length + 16
    /// (short tokens are copied as two 8-byte words: a `memcpy` call per token costs more
    /// than the copy). Ids the vocab does not have are skipped, as HF does. Returns the length.
    func writeBytes(of ids: UnsafeBufferPointer<Int32>, skipSpecial: Bool, to out: UnsafeMutablePointer<UInt8>) -> Int {
        decodeArena.withUnsafeBufferPointer { arenaBuf in
            decodeOffsets.withUnsafeBufferPointer { offsetBuf in
                isSpecial.withUnsafeBufferPointer { specialBuf in
                    let arena = UnsafeRawPointer(arenaBuf.baseAddress!)
                    let offsets = offsetBuf.baseAddress!, special = specialBuf.baseAddress!
                    var p = UnsafeMutableRawPointer(out)
                    for id in ids where id >= 0 && Int(id) < count && !(skipSpecial && special[Int(id)]) {
                        let a = Int(offsets[Int(id)]), length = Int(offsets[Int(id) + 1]) - a
                        if length <= 16 {
                            p.storeBytes(of: arena.loadUnaligned(fromByteOffset: a, as: UInt64.self), as: UInt64.self)
                            p.storeBytes(of: arena.loadUnaligned(fromByteOffset: a + 8, as: UInt64.self), toByteOffset: 8, as: UInt64.self)
                        } else {
                            p.copyMemory(from: arena + a, byteCount: length)
                        }
                        p += length
                    }
                    return p - UnsafeMutableRawPointer(out)
                }
            }
        }
    }

    func bytes(of ids: UnsafeBufferPointer<Int32>, skipSpecial: Bool) -> [UInt8] {
        let total = decodedLengthOf(ids, skipSpecial: skipSpecial)
        return [UInt8](unsafeUninitializedCapacity: total + 16) { buf, initialized in
            initialized = writeBytes(of: ids, skipSpecial: skipSpecial, to: buf.baseAddress!)
        }
    }

    func string(of ids: UnsafeBufferPointer<Int32>, skipSpecial: Bool) -> String {
        let total = decodedLengthOf(ids, skipSpecial: skipSpecial)
        guard total > 0 else { return "" }
        // Decodes straight into the String's storage; invalid UTF-8 is repaired (U+FFFD per
        // maximal invalid subsequence) by the initializer itself.
        return String(unsafeUninitializedCapacity: total + 16) { buf in
            writeBytes(of: ids, skipSpecial: skipSpecial, to: buf.baseAddress!)
        }
    }

    func decodedLengthOf(_ ids: UnsafeBufferPointer<Int32>, skipSpecial: Bool) -> Int {
        decodeOffsets.withUnsafeBufferPointer { o in
            isSpecial.withUnsafeBufferPointer { s in decodedLength(ids, o.baseAddress!, s.baseAddress!, skipSpecial) }
        }
    }

    func appendBytes(of ids: UnsafeBufferPointer<Int32>, skipSpecial: Bool, to out: inout [UInt8]) {
        out.append(contentsOf: bytes(of: ids, skipSpecial: skipSpecial))
    }

    /// The text of one token whose bytes are valid UTF-8 on their own.
    func tokenText(_ id: Int32) -> String {
        decodeArena.withUnsafeBufferPointer { arena in
            let a = Int(decodeOffsets[Int(id)]), b = Int(decodeOffsets[Int(id) + 1])
            return String(decoding: UnsafeBufferPointer(rebasing: arena[a..<b]), as: UTF8.self)
        }
    }
}

/// Turns a stream of token ids into text as it arrives, never splitting a character.
///
/// Byte-level tokens often end inside a multi-byte UTF-8 character (an emoji is usually two
/// or more tokens). `append` returns only complete characters and keeps the unfinished tail
/// until the tokens that finish it arrive; bytes that can never form a character become
/// U+FFFD as soon as that is certain, and an unfinished tail only at `finish()`. The
/// concatenation of everything returned equals `decode` of all the ids.
public struct IncrementalDecoder: Sendable {
    private let model: BPEModel
    private let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: BPETokenizer, skipSpecialTokens: Bool = false) {
        model = tokenizer.model
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Bytes held back, waiting for the rest of a character.
    public var pendingByteCount: Int { pending.count }

    public mutating func append(_ id: Int32) -> String {
        guard id >= 0, Int(id) < model.count, !(skipSpecialTokens && model.isSpecial[Int(id)]) else { return "" }
        // Most tokens are whole characters: nothing to hold back, nothing to join.
        if pending.isEmpty && model.isValidUTF8[Int(id)] { return model.tokenText(id) }
        return withUnsafePointer(to: id) { flush(adding: UnsafeBufferPointer(start: $0, count: 1)) }
    }

    public mutating func append(contentsOf ids: [Int32]) -> String {
        ids.withUnsafeBufferPointer { flush(adding: $0) }
    }

    private mutating func flush(adding ids: UnsafeBufferPointer<Int32>) -> String {
        model.appendBytes(of: ids, skipSpecial: skipSpecialTokens, to: &pending)
        let keep = UTF8Tail.incompleteSuffixLength(pending)
        if keep == pending.count { return "" }
        let text = String(decoding: pending[..<(pending.count - keep)], as: UTF8.self)
        pending.removeFirst(pending.count - keep)
        return text
    }

    /// Flushes what is held back (an unfinished character becomes U+FFFD) and resets.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }
}

public enum UTF8Tail {
    /// Length of the suffix that is a valid but unfinished UTF-8 sequence (0 if none): the
    /// only bytes whose meaning can still change when more bytes arrive.
    public static func incompleteSuffixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        // A sequence is at most 4 bytes, so its lead byte is among the last 3.
        var k = n - 1
        while k >= 0 && k >= n - 3 {
            let lead = b[k]
            if lead & 0xC0 == 0x80 { k -= 1; continue }  // continuation: keep looking for the lead
            let need: Int
            switch lead {
            case 0xC2...0xDF: need = 2
            case 0xE0...0xEF: need = 3
            case 0xF0...0xF4: need = 4
            default: return 0  // ASCII or a byte that never starts a sequence
            }
            let have = n - k
            if have >= need { return 0 }
            // The bytes so far must be a prefix of a valid sequence (the second byte's range
            // depends on the lead, which rules out overlong forms and surrogates).
            if have >= 2 {
                let second = b[k + 1]
                let ok: Bool
                switch lead {
                case 0xE0: ok = second >= 0xA0 && second <= 0xBF
                case 0xED: ok = second >= 0x80 && second <= 0x9F
                case 0xF0: ok = second >= 0x90 && second <= 0xBF
                case 0xF4: ok = second >= 0x80 && second <= 0x8F
                default: ok = true
                }
                if !ok { return 0 }
            }
            return have
        }
        return 0
    }
}
