import CProtos

/// common.proto `ProtocolVersion`.
public enum ProtocolVersion: Int32, Sendable, CaseIterable, CEnum {
    case unspecified = 0
    case v1 = 1
}

/// common.proto `ErrorCode`.
public enum ErrorCode: Int32, Sendable, CaseIterable, CEnum {
    case unspecified = 0
    case malformed = 1
    case badVersion = 2
    case unknownService = 3
    case tooLarge = 4
    case invalidArgument = 5
    case notFound = 6
    case overloaded = 7
    case deadlineExceeded = 8
    case cancelled = 9
    case `internal` = 10
    case permissionDenied = 11
}

/// common.proto `Error`, renamed so it does not shadow `Swift.Error`.
public struct ErrorReply: Sendable, Equatable {
    public var code: ErrorCode
    public var message: String
    public var field: String

    public init(code: ErrorCode = .unspecified, message: String = "", field: String = "") {
        self.code = code
        self.message = message
        self.field = field
    }
}

extension ErrorReply {
    /// The reply bytes of any service: every reply message has `Error error = 1`, so a broker
    /// can answer without knowing which reply type the client expects.
    public static func wire(code: ErrorCode, message: String, field: String = "") -> [UInt8] {
        TokenizeReply(reply: .error(ErrorReply(code: code, message: message, field: field))).wire()
    }
}

extension ErrorReply: CMessage {
    init(c: Cuentista__V1__Error) throws(WireDecodingError) {
        code = try ErrorCode(c: c.code, field: "Error.code")
        message = swiftString(c.message)
        field = swiftString(c.field)
    }

    func c(in arena: Arena) -> UnsafeMutablePointer<Cuentista__V1__Error> {
        let m = arena.message(cuentista__v1__error__init)
        m.pointee.code = code.c()
        m.pointee.message = arena.string(message)
        m.pointee.field = arena.string(field)
        return m
    }
}

extension ErrorReply: WireMessage {
    public init(wire bytes: [UInt8]) throws(WireDecodingError) {
        self = try unpack(bytes, cuentista__v1__error__descriptor, cuentista__v1__error__unpack, cuentista__v1__error__free_unpacked)
    }

    public func wire() -> [UInt8] {
        pack(self, cuentista__v1__error__get_packed_size, cuentista__v1__error__pack)
    }
}
