import Foundation
import Jobs
import Logging
import Messaging
import Tokenizer
import Wire

/// Service "tokenize": the tokenizer of a model directory in the shared data directory.
public final class TokenizerService {
    let data: DataDirectory
    /// Used when a request names no tokenizer.
    let defaultTokenizer: String?
    let logger: Logger
    var cache: [String: BPETokenizer] = [:]
    var cacheOrder: [String] = []
    static let cacheLimit = 8

    public init(data: DataDirectory, defaultTokenizer: String?, logger: Logger) {
        self.data = data
        self.defaultTokenizer = defaultTokenizer
        self.logger = logger
    }

    /// Loads a tokenizer ahead of the first request (so a wrong --tokenizer fails at start).
    public func preload(_ name: String) throws {
        _ = try tokenizer(name)
    }

    func tokenizer(_ name: String) throws -> BPETokenizer {
        if let cached = cache[name] { return cached }
        let path = try data.requireExisting(name, field: "tokenizer")
        let loaded = try BPETokenizer(directory: path)
        cache[name] = loaded
        cacheOrder.append(name)
        if cacheOrder.count > Self.cacheLimit { cache[cacheOrder.removeFirst()] = nil }
        return loaded
    }

    /// One request's bytes in, the reply's bytes out; never throws: errors become replies.
    /// A reply that would not fit in a frame the coordinator takes is refused (TOO_LARGE):
    /// sent anyway, it would cost this worker its connection and the client three attempts.
    public func handle(_ body: [UInt8], maxReplyBytes: Int = Majordomo.defaultMaxFrameBytes) -> [UInt8] {
        let reply = answer(body)
        guard reply.count > maxReplyBytes else { return reply }
        return TokenizeReply(reply: .error(ErrorReply(
            code: .tooLarge,
            message: "the reply would have \(reply.count) bytes, over the \(maxReplyBytes) a message may have; send the text in parts (or without offsets)"))).wire()
    }

    func answer(_ body: [UInt8]) -> [UInt8] {
        func error(_ code: ErrorCode, _ message: String, field: String = "") -> [UInt8] {
            TokenizeReply(reply: .error(ErrorReply(code: code, message: message, field: field))).wire()
        }
        let request: TokenizeRequest
        do { request = try TokenizeRequest(wire: body) } catch let failure { return error(.malformed, "the request is not a TokenizeRequest: \(failure)") }
        guard request.version == .v1 else {
            return error(.badVersion, "protocol version \(request.version.rawValue) is not supported (this service speaks 1)")
        }
        let name = request.tokenizer.isEmpty ? (defaultTokenizer ?? "") : request.tokenizer
        let bpe: BPETokenizer
        do { bpe = try tokenizer(name) } catch let failure as JobSpecError {
            return error(.notFound, failure.message, field: "tokenizer")
        } catch let failure {
            return error(.notFound, "\(name): \(failure)", field: "tokenizer")
        }
        func encode(_ item: EncodeRequest) -> EncodeReply {
            if item.withOffsets {
                let pieces = bpe.encodeWithOffsets(item.text, allowSpecial: item.allowSpecial)
                return EncodeReply(ids: pieces.map { UInt32($0.id) },
                                   offsets: pieces.map { Offsets(start: UInt32($0.start), end: UInt32($0.end)) })
            }
            return EncodeReply(ids: bpe.encode(item.text, allowSpecial: item.allowSpecial).map { UInt32($0) })
        }
        switch request.request {
        case let .encode(item):
            return TokenizeReply(reply: .encode(encode(item))).wire()
        case let .batchEncode(batch):
            return TokenizeReply(reply: .batchEncode(BatchEncodeReply(items: batch.items.map(encode)))).wire()
        case let .decode(decode):
            if let index = decode.ids.firstIndex(where: { Int($0) >= bpe.vocabularySize }) {
                return error(.invalidArgument, "ids[\(index)] = \(decode.ids[index]) is not in the vocabulary of \(bpe.vocabularySize) tokens", field: "ids")
            }
            let text = bpe.decode(decode.ids.map { Int32($0) }, skipSpecialTokens: decode.skipSpecialTokens)
            return TokenizeReply(reply: .decode(DecodeReply(text: text))).wire()
        case let .count(count):
            return TokenizeReply(reply: .count(CountReply(counts: count.texts.map { UInt32(bpe.encode($0).count) }))).wire()
        case nil:
            return error(.invalidArgument, "the request names no operation (encode, batch_encode, decode or count)", field: "request")
        }
    }
}
