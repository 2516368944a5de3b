import CProtos

// tokenizer.proto: conversions to and from the protobuf-c structs, and the messages sent alone.

extension EncodeRequest: CMessage {
    init(c: Cuentista__V1__EncodeRequest) throws(WireDecodingError) {
        text = swiftString(c.text)
        allowSpecial = swiftBool(c.allow_special)
        withOffsets = swiftBool(c.with_offsets)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__EncodeRequest> {
        let m = arena.message(cuentista__v1__encode_request__init)
        m.pointee.text = arena.string(text)
        m.pointee.allow_special = cBool(allowSpecial)
        m.pointee.with_offsets = cBool(withOffsets)
        return m
    }
}

extension Offsets: CMessage {
    init(c: Cuentista__V1__Offsets) throws(WireDecodingError) {
        start = c.start
        end = c.end
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__Offsets> {
        let m = arena.message(cuentista__v1__offsets__init)
        m.pointee.start = start
        m.pointee.end = end
        return m
    }
}

extension EncodeReply: CMessage {
    init(c: Cuentista__V1__EncodeReply) throws(WireDecodingError) {
        ids = swiftArray(c.n_ids, c.ids)
        offsets = try swiftMessages(c.n_offsets, c.offsets)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__EncodeReply> {
        let m = arena.message(cuentista__v1__encode_reply__init)
        (m.pointee.n_ids, m.pointee.ids) = arena.array(ids)
        (m.pointee.n_offsets, m.pointee.offsets) = arena.messages(offsets)
        return m
    }
}

extension BatchEncodeRequest: CMessage {
    init(c: Cuentista__V1__BatchEncodeRequest) throws(WireDecodingError) {
        items = try swiftMessages(c.n_items, c.items)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__BatchEncodeRequest> {
        let m = arena.message(cuentista__v1__batch_encode_request__init)
        (m.pointee.n_items, m.pointee.items) = arena.messages(items)
        return m
    }
}

extension BatchEncodeReply: CMessage {
    init(c: Cuentista__V1__BatchEncodeReply) throws(WireDecodingError) {
        items = try swiftMessages(c.n_items, c.items)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__BatchEncodeReply> {
        let m = arena.message(cuentista__v1__batch_encode_reply__init)
        (m.pointee.n_items, m.pointee.items) = arena.messages(items)
        return m
    }
}

extension DecodeRequest: CMessage {
    init(c: Cuentista__V1__DecodeRequest) throws(WireDecodingError) {
        ids = swiftArray(c.n_ids, c.ids)
        skipSpecialTokens = swiftBool(c.skip_special_tokens)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__DecodeRequest> {
        let m = arena.message(cuentista__v1__decode_request__init)
        (m.pointee.n_ids, m.pointee.ids) = arena.array(ids)
        m.pointee.skip_special_tokens = cBool(skipSpecialTokens)
        return m
    }
}

extension DecodeReply: CMessage {
    init(c: Cuentista__V1__DecodeReply) throws(WireDecodingError) {
        text = swiftString(c.text)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__DecodeReply> {
        let m = arena.message(cuentista__v1__decode_reply__init)
        m.pointee.text = arena.string(text)
        return m
    }
}

extension CountRequest: CMessage {
    init(c: Cuentista__V1__CountRequest) throws(WireDecodingError) {
        texts = swiftStrings(c.n_texts, c.texts)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__CountRequest> {
        let m = arena.message(cuentista__v1__count_request__init)
        (m.pointee.n_texts, m.pointee.texts) = arena.strings(texts)
        return m
    }
}

extension CountReply: CMessage {
    init(c: Cuentista__V1__CountReply) throws(WireDecodingError) {
        counts = swiftArray(c.n_counts, c.counts)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__CountReply> {
        let m = arena.message(cuentista__v1__count_reply__init)
        (m.pointee.n_counts, m.pointee.counts) = arena.array(counts)
        return m
    }
}

extension TokenizeRequest: CMessage {
    init(c: Cuentista__V1__TokenizeRequest) throws(WireDecodingError) {
        version = try ProtocolVersion(c: c.version, field: "TokenizeRequest.version")
        tokenizer = swiftString(c.tokenizer)
        switch c.request_case {
        case CUENTISTA__V1__TOKENIZE_REQUEST__REQUEST_ENCODE: request = .encode(try swiftMessage(c.encode))
        case CUENTISTA__V1__TOKENIZE_REQUEST__REQUEST_BATCH_ENCODE: request = .batchEncode(try swiftMessage(c.batch_encode))
        case CUENTISTA__V1__TOKENIZE_REQUEST__REQUEST_DECODE: request = .decode(try swiftMessage(c.decode))
        case CUENTISTA__V1__TOKENIZE_REQUEST__REQUEST_COUNT: request = .count(try swiftMessage(c.count))
        default: request = nil
        }
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__TokenizeRequest> {
        let m = arena.message(cuentista__v1__tokenize_request__init)
        m.pointee.version = version.c()
        m.pointee.tokenizer = arena.string(tokenizer)
        switch request {
        case .encode(let value):
            m.pointee.request_case = CUENTISTA__V1__TOKENIZE_REQUEST__REQUEST_ENCODE
            m.pointee.encode = value.c(in: arena)
        case .batchEncode(let value):
            m.pointee.request_case = CUENTISTA__V1__TOKENIZE_REQUEST__REQUEST_BATCH_ENCODE
            m.pointee.batch_encode = value.c(in: arena)
        case .decode(let value):
            m.pointee.request_case = CUENTISTA__V1__TOKENIZE_REQUEST__REQUEST_DECODE
            m.pointee.decode = value.c(in: arena)
        case .count(let value):
            m.pointee.request_case = CUENTISTA__V1__TOKENIZE_REQUEST__REQUEST_COUNT
            m.pointee.count = value.c(in: arena)
        case nil:
            break
        }
        return m
    }
}

extension TokenizeReply: CMessage {
    init(c: Cuentista__V1__TokenizeReply) throws(WireDecodingError) {
        switch c.reply_case {
        case CUENTISTA__V1__TOKENIZE_REPLY__REPLY_ERROR: reply = .error(try swiftMessage(c.error))
        case CUENTISTA__V1__TOKENIZE_REPLY__REPLY_ENCODE: reply = .encode(try swiftMessage(c.encode))
        case CUENTISTA__V1__TOKENIZE_REPLY__REPLY_BATCH_ENCODE: reply = .batchEncode(try swiftMessage(c.batch_encode))
        case CUENTISTA__V1__TOKENIZE_REPLY__REPLY_DECODE: reply = .decode(try swiftMessage(c.decode))
        case CUENTISTA__V1__TOKENIZE_REPLY__REPLY_COUNT: reply = .count(try swiftMessage(c.count))
        default: reply = nil
        }
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__TokenizeReply> {
        let m = arena.message(cuentista__v1__tokenize_reply__init)
        switch reply {
        case .error(let value):
            m.pointee.reply_case = CUENTISTA__V1__TOKENIZE_REPLY__REPLY_ERROR
            m.pointee.error = value.c(in: arena)
        case .encode(let value):
            m.pointee.reply_case = CUENTISTA__V1__TOKENIZE_REPLY__REPLY_ENCODE
            m.pointee.encode = value.c(in: arena)
        case .batchEncode(let value):
            m.pointee.reply_case = CUENTISTA__V1__TOKENIZE_REPLY__REPLY_BATCH_ENCODE
            m.pointee.batch_encode = value.c(in: arena)
        case .decode(let value):
            m.pointee.reply_case = CUENTISTA__V1__TOKENIZE_REPLY__REPLY_DECODE
            m.pointee.decode = value.c(in: arena)
        case .count(let value):
            m.pointee.reply_case = CUENTISTA__V1__TOKENIZE_REPLY__REPLY_COUNT
            m.pointee.count = value.c(in: arena)
        case nil:
            break
        }
        return m
    }
}

extension TokenizeRequest: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__tokenize_request__descriptor, cuentista__v1__tokenize_request__unpack, cuentista__v1__tokenize_request__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__tokenize_request__get_packed_size, cuentista__v1__tokenize_request__pack)
    }
}

extension TokenizeReply: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__tokenize_reply__descriptor, cuentista__v1__tokenize_reply__unpack, cuentista__v1__tokenize_reply__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__tokenize_reply__get_packed_size, cuentista__v1__tokenize_reply__pack)
    }
}
