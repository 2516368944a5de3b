/// Settings from `tokenizer.json` that change what encode produces.
struct TokenizerOptions: Sendable, Equatable {
    /// ByteLevel pre-tokenizer `add_prefix_space`: a space before each text stretch that
    /// does not start with one.
    var addPrefixSpace = false
    /// BPE `ignore_merges`: a pre-token that is itself in the vocab is taken whole.
    var ignoreMerges = false
    /// ByteLevel post-processor `trim_offsets` (and its own `add_prefix_space`), which only
    /// change offsets.
    var trimOffsets = false
    var postProcessorAddPrefixSpace = true
    /// Written back by `save` so a round trip keeps the post-processor.
    var hasPostProcessor = true
}

/// What a loader or the trainer hands over: ids resolved, nothing derived yet.
struct TokenizerSpec {
    var vocab: [(token: String, id: Int32)]
    var merges: [(left: Int32, right: Int32, newId: Int32)]
    var addedTokens: [AddedToken]
    var options: TokenizerOptions
    var unkId: Int32?
}

/// Everything encode and decode need, shared by all copies of a `BPETokenizer` and all
/// threads; immutable once built apart from the word cache, which locks itself.
final class BPEModel: Sendable {
    /// BPE vocab entry of each id (nil for ids only an added token has, or holes).
    let vocabTokens: [String?]
    let addedTokens: [AddedToken]
    let merges: [(left: Int32, right: Int32, newId: Int32)]
    let options: TokenizerOptions
    let unkId: Int32?

    let mergeTable: MergeTable
    /// Id of the single-byte token for each byte (-1: not in the vocab).
    let byteToId: [Int32]
    /// The bytes each id decodes to, concatenated; `decodeOffsets[id]..<decodeOffsets[id + 1]`.
    let decodeArena: [UInt8]
    let decodeOffsets: [Int32]
    let isSpecial: [Bool]
    /// Whether a token's bytes are valid UTF-8 by themselves (no split character).
    let isValidUTF8: [Bool]
    /// UTF-8 of every vocab string and added token content → id.
    let index: [[UInt8]: Int32]
    /// Byte string → id of byte-level vocab entries, only built for `ignore_merges`.
    let wholeTokens: [[UInt8]: Int32]
    let matcher: AddedTokenMatcher
    let count: Int
    let eosId: Int32?
    /// Words already merged, shared by every call (see `SharedWordCache` for why).
    let wordCache = SharedWordCache()

    init(_ spec: TokenizerSpec) {
        var size = 0
        for v in spec.vocab { size = max(size, Int(v.id) + 1) }
        for a in spec.addedTokens { size = max(size, Int(a.id) + 1) }
        count = size

        var vocabTokens = [String?](repeating: nil, count: size)
        var index = [[UInt8]: Int32](minimumCapacity: spec.vocab.count + spec.addedTokens.count)
        for v in spec.vocab {
            vocabTokens[Int(v.id)] = v.token
            index[Array(v.token.utf8)] = v.id
        }
        for a in spec.addedTokens { index[Array(a.content.utf8)] = a.id }
        self.vocabTokens = vocabTokens
        self.index = index
        eosId = index[Array("<|endoftext|>".utf8)]
        addedTokens = spec.addedTokens
        merges = spec.merges
        options = spec.options
        unkId = spec.unkId
        mergeTable = MergeTable(spec.merges)
        matcher = AddedTokenMatcher(spec.addedTokens)

        var byteToId = [Int32](repeating: spec.unkId ?? -1, count: 256)
        for b in 0..<256 {
            let s = String(Unicode.Scalar(ByteLevel.byteToScalar[b])!)
            if let id = index[Array(s.utf8)], vocabTokens[Int(id)] != nil { byteToId[b] = id }
        }
        self.byteToId = byteToId

        // Decoding: byte-level strings map back to their bytes; a vocab string with a
        // scalar outside the alphabet decodes as its own UTF-8 (HF's ByteLevel decoder does
        // the same per token). Added tokens decode to their content as written.
        var addedContent = [String?](repeating: nil, count: size)
        var isSpecial = [Bool](repeating: false, count: size)
        for a in spec.addedTokens {
            addedContent[Int(a.id)] = a.content
            if a.special { isSpecial[Int(a.id)] = true }
        }
        var arena = [UInt8]()
        var offsets = [Int32](repeating: 0, count: size + 1)
        var whole = [[UInt8]: Int32]()
        for id in 0..<size {
            if let content = addedContent[id] {
                arena.append(contentsOf: content.utf8)
            } else if let token = vocabTokens[id] {
                if let bytes = ByteLevel.bytes(ofToken: token) {
                    arena.append(contentsOf: bytes)
                    if spec.options.ignoreMerges { whole[bytes] = Int32(id) }
                } else {
                    arena.append(contentsOf: token.utf8)
                }
            }
            offsets[id + 1] = Int32(arena.count)
        }
        isValidUTF8 = (0..<size).map { id in
            // Lossy decoding changes the bytes exactly when they are not valid UTF-8.
            let bytes = arena[Int(offsets[id])..<Int(offsets[id + 1])]
            return String(decoding: bytes, as: UTF8.self).utf8.elementsEqual(bytes)
        }
        // Padding lets the decoder copy short tokens as two 8-byte words.
        arena.append(contentsOf: repeatElement(0, count: 16))
        decodeArena = arena
        decodeOffsets = offsets
        wholeTokens = whole
        self.isSpecial = isSpecial
    }

    func tokenString(_ id: Int32) -> String? {
        guard id >= 0, Int(id) < count else { return nil }
        if let t = vocabTokens[Int(id)] { return t }
        return addedTokens.last(where: { $0.id == id })?.content
    }
}
