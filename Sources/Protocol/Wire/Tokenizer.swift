// tokenizer.proto: service "tokenize".

public struct EncodeRequest: Sendable, Equatable {
    public var text: String
    public var allowSpecial: Bool
    public var withOffsets: Bool

    public init(text: String = "", allowSpecial: Bool = false, withOffsets: Bool = false) {
        self.text = text
        self.allowSpecial = allowSpecial
        self.withOffsets = withOffsets
    }
}

/// Character offsets in Unicode scalars.
public struct Offsets: Sendable, Equatable {
    public var start: UInt32
    public var end: UInt32

    public init(start: UInt32 = 0, end: UInt32 = 0) {
        self.start = start
        self.end = end
    }
}

public struct EncodeReply: Sendable, Equatable {
    public var ids: [UInt32]
    public var offsets: [Offsets]

    public init(ids: [UInt32] = [], offsets: [Offsets] = []) {
        self.ids = ids
        self.offsets = offsets
    }
}

public struct TokenizeRequest: Sendable, Equatable {
    public enum Request: Sendable, Equatable {
        case encode(EncodeRequest)
        case batchEncode(BatchEncodeRequest)
        case decode(DecodeRequest)
        case count(CountRequest)
    }

    public var version: ProtocolVersion
    public var tokenizer: String
    public var request: Request?

    public init(version: ProtocolVersion = .unspecified, tokenizer: String = "", request: Request? = nil) {
        self.version = version
        self.tokenizer = tokenizer
        self.request = request
    }
}

public struct BatchEncodeRequest: Sendable, Equatable {
    public var items: [EncodeRequest]

    public init(items: [EncodeRequest] = []) { self.items = items }
}

public struct BatchEncodeReply: Sendable, Equatable {
    public var items: [EncodeReply]

    public init(items: [EncodeReply] = []) { self.items = items }
}

public struct DecodeRequest: Sendable, Equatable {
    public var ids: [UInt32]
    public var skipSpecialTokens: Bool

    public init(ids: [UInt32] = [], skipSpecialTokens: Bool = false) {
        self.ids = ids
        self.skipSpecialTokens = skipSpecialTokens
    }
}

public struct DecodeReply: Sendable, Equatable {
    public var text: String

    public init(text: String = "") { self.text = text }
}

public struct CountRequest: Sendable, Equatable {
    public var texts: [String]

    public init(texts: [String] = []) { self.texts = texts }
}

public struct CountReply: Sendable, Equatable {
    public var counts: [UInt32]

    public init(counts: [UInt32] = []) { self.counts = counts }
}

public struct TokenizeReply: Sendable, Equatable {
    public enum Reply: Sendable, Equatable {
        case error(ErrorReply)
        case encode(EncodeReply)
        case batchEncode(BatchEncodeReply)
        case decode(DecodeReply)
        case count(CountReply)
    }

    public var reply: Reply?

    public init(reply: Reply? = nil) { self.reply = reply }
}
