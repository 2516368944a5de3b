/// GPT-2's byte-level BPE tokenizer, producing the same ids and offsets as Hugging Face
/// `tokenizers` for the same files.
///
/// A value type over a shared model: copies are cheap and it can be used from any number of
/// threads at once. The model is immutable except for its word cache, which every copy and
/// call shares under locks (bounded at 65,536 words).
///
///     let tok = try BPETokenizer(directory: modelDir)
///     let ids = tok.encode("¿Qué tal?<|endoftext|>")
///     tok.decode(ids) == "¿Qué tal?<|endoftext|>"
public struct BPETokenizer: Sendable {
    let model: BPEModel

    init(model: BPEModel) { self.model = model }

    // MARK: sizes and lookups

    /// One past the largest id (vocab and added tokens), i.e. the embedding rows a model needs.
    public var vocabularySize: Int { model.count }

    /// The vocab string of an id as written in the files, e.g. "Ġvez", or an added token's content.
    public func tokenString(_ id: Int32) -> String? { model.tokenString(id) }

    /// The id of a vocab string (byte-level form, e.g. "Ġvez") or added token.
    public func id(of token: String) -> Int32? { model.index[Array(token.utf8)] }

    /// Id of `<|endoftext|>`, if the tokenizer has it.
    public var eosTokenId: Int32? { model.eosId }

    /// Tokens matched whole before pre-tokenization, in file order.
    public var addedTokens: [AddedToken] { model.addedTokens }

    /// Number of merge rules.
    public var mergeCount: Int { model.merges.count }

    // MARK: encoding

    /// Token ids of `text`.
    ///
    /// - Parameter allowSpecial: when false, added tokens marked special (such as
    ///   `<|endoftext|>`) in `text` are encoded as the ordinary characters they are made of
    ///   (HF's `encode_special_tokens`), so user text cannot inject them. Non-special added
    ///   tokens always match.
    public func encode(_ text: String, allowSpecial: Bool = true) -> [Int32] {
        var text = text
        return text.withUTF8 { buf in
            guard let base = buf.baseAddress, buf.count > 0 else { return [] }
            return model.encode(base, buf.count, allowSpecial: allowSpecial)!  // never nil: nothing asks it to stop
        }
    }

    /// `encode` for texts long enough to need cancelling (a whole book as one document): asks
    /// `shouldStop` about once per megabyte and returns nil as soon as it says yes. The ids
    /// are the same as `encode`'s.
    public func encode(_ text: String, allowSpecial: Bool = true, shouldStop: () -> Bool) -> [Int32]? {
        var text = text
        return text.withUTF8 { buf in
            guard let base = buf.baseAddress, buf.count > 0 else { return [] }
            return model.encode(base, buf.count, allowSpecial: allowSpecial, shouldStop: shouldStop)
        }
    }

    /// Token ids with the character range each token came from, as HF's
    /// `return_offsets_mapping` gives them: `start..<end` in Unicode scalars of `text` (what
    /// Python counts as characters). A token holding part of a multi-byte character reports
    /// the whole character, so neighbouring tokens can share it. With a ByteLevel
    /// post-processor that has `trim_offsets`, leading and trailing spaces are trimmed off.
    public func encodeWithOffsets(_ text: String, allowSpecial: Bool = true) -> [(id: Int32, start: Int, end: Int)] {
        var text = text
        let (ids, offsets): ([Int32], [(start: Int, end: Int)]) = text.withUTF8 { buf in
            guard let base = buf.baseAddress, buf.count > 0 else { return ([], []) }
            let builder = OffsetBuilder(base, buf.count)
            let ids = model.encode(base, buf.count, allowSpecial: allowSpecial, offsets: builder)!  // never nil, as above
            return (ids, builder.offsets)
        }
        var result = [(id: Int32, start: Int, end: Int)]()
        result.reserveCapacity(ids.count)
        for (k, id) in ids.enumerated() {
            var (start, end) = offsets[k]
            if model.options.trimOffsets { trim(id: id, index: k, start: &start, end: &end) }
            result.append((id, start, end))
        }
        return result
    }

    /// HF's `process_offsets`: drop leading/trailing "Ġ" (and whitespace) of the token string
    /// from its range, except the one space added to the first token by `add_prefix_space`.
    private func trim(id: Int32, index: Int, start: inout Int, end: inout Int) {
        guard let token = tokenString(id) else { return }
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == "\u{120}" || $0.properties.isWhitespace }
        let scalars = Array(token.unicodeScalars)
        var leading = scalars.prefix(while: isSpace).count
        let trailing = scalars.reversed().prefix(while: isSpace).count
        if leading > 0 {
            if (index == 0 || start == 0) && model.options.postProcessorAddPrefixSpace && leading == 1 { leading = 0 }
            start = min(start + leading, end)
        }
        if trailing > 0 && end >= trailing { end = max(end - trailing, start) }
    }

    // MARK: decoding

    /// The bytes the ids stand for (ids not in the vocab are skipped).
    public func decodeBytes(_ ids: [Int32], skipSpecialTokens: Bool = false) -> [UInt8] {
        ids.withUnsafeBufferPointer { model.bytes(of: $0, skipSpecial: skipSpecialTokens) }
    }

    /// The text the ids stand for; bytes that are not valid UTF-8 become U+FFFD, one per
    /// maximal invalid sequence, like HF's `decode` (Rust's `from_utf8_lossy`).
    ///
    /// Unlike HF's `decode`, special tokens are kept unless `skipSpecialTokens` is set, so
    /// `decode(encode(x)) == x`; and an added token decodes to its content as written (HF
    /// pushes it through the byte-level table, which mangles non-ASCII added tokens).
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) -> String {
        ids.withUnsafeBufferPointer { model.string(of: $0, skipSpecial: skipSpecialTokens) }
    }

    /// A fresh streaming decoder for this tokenizer.
    public func makeIncrementalDecoder(skipSpecialTokens: Bool = false) -> IncrementalDecoder {
        IncrementalDecoder(tokenizer: self, skipSpecialTokens: skipSpecialTokens)
    }
}
