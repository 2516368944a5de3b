import CProtobufC

/// A message that travels alone in a ZeroMQ frame. Conforming types are the only way the rest
/// of Cuentista meets the protocol: none of them exposes protobuf-c.
public protocol WireMessage: Sendable, Equatable {
    /// Refuses bytes that are not a valid encoding of this message, including enum numbers this
    /// build does not know (proto3 would keep them, but no caller could act on them).
    init(wire bytes: [UInt8]) throws(WireDecodingError)
    func wire() -> [UInt8]
}

/// Why received bytes could not become a message; `description` names the type or field so a
/// service can answer ERROR_CODE_MALFORMED with something a person can act on.
public enum WireDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// protobuf-c refused the bytes (truncated, wrong wire type, garbage).
    case malformed(type: String)
    /// An enum field holds a number the proto does not define.
    case unknownEnumValue(field: String, value: Int32)
    /// A string field holds a NUL byte, which protobuf-c cannot carry (it would cut the text).
    case nulInString(field: String)
    /// More fields this build does not know than `DecodeLimits.maxUnknownFields`.
    case tooManyUnknownFields(type: String, limit: Int)
    /// Decoding would take more memory than `DecodeLimits` allows for a body of this size
    /// (a great many tiny fields).
    case tooCostly(type: String, bytes: Int)

    public var description: String {
        switch self {
        case .malformed(let type): "the bytes are not a valid \(type) message"
        case .unknownEnumValue(let field, let value): "\(field) has the unknown enum value \(value)"
        case .nulInString(let field): "\(field) holds a NUL byte, which the protocol's strings cannot carry"
        case .tooManyUnknownFields(let type, let limit): "the \(type) message has more than \(limit) fields this version does not know"
        case .tooCostly(let type, let bytes): "decoding these \(bytes) bytes as \(type) would need more memory than a body of that size may (a great many tiny fields)"
        }
    }
}

/// A Swift value with a protobuf-c twin. Decoding copies everything out of the C struct, so the
/// unpacked message can be freed at once; encoding builds the twin in an arena.
protocol CMessage {
    associatedtype C
    init(c: C) throws(WireDecodingError)
    func c(in arena: Arena) -> UnsafeMutablePointer<C>
}

/// A proto enum. Raw values are the proto numbers, `Int32` as on the wire.
protocol CEnum: RawRepresentable where RawValue == Int32 {}

extension CEnum {
    /// C enums import as structs whose raw type depends on the platform's choice for the enum.
    init<E: RawRepresentable>(c: E, field: @autoclosure () -> String) throws(WireDecodingError) where E.RawValue: BinaryInteger {
        let number = Int32(truncatingIfNeeded: c.rawValue)
        guard let value = Self(rawValue: number) else { throw .unknownEnumValue(field: field(), value: number) }
        self = value
    }

    func c<E: RawRepresentable>() -> E where E.RawValue: BinaryInteger {
        E(rawValue: E.RawValue(truncatingIfNeeded: rawValue))!
    }
}

// MARK: Whole messages

/// The generated `..._unpack` and `..._free_unpacked` are passed in so every type decodes the
/// same way, within `DecodeLimits`, and the unpacked message is always freed.
func unpack<M: CMessage>(
    _ bytes: [UInt8],
    _ descriptor: ProtobufCMessageDescriptor,
    _ unpack: (UnsafeMutablePointer<ProtobufCAllocator>?, Int, UnsafePointer<UInt8>?) -> UnsafeMutablePointer<M.C>?,
    _ free: (UnsafeMutablePointer<M.C>?, UnsafeMutablePointer<ProtobufCAllocator>?) -> Void
) throws(WireDecodingError) -> M {
    // A copy of the generated descriptor: its field tables and nested descriptors stay the
    // generated code's own.
    var descriptor = descriptor
    var scan = WireScan()
    let scanned = bytes.withUnsafeBytes { raw in Result { () throws(WireDecodingError) in try scan.check(raw, &descriptor) } }
    try scanned.get()
    let (decoded, exhausted) = withBudgetAllocator(budget: DecodeLimits.budget(forBodyOf: bytes.count)) { allocator in
        let message = bytes.withUnsafeBufferPointer { unpack(allocator, $0.count, $0.baseAddress) }
        defer { if let message { free(message, allocator) } }
        return message.map { (pointer) -> Result<M, WireDecodingError> in Result { () throws(WireDecodingError) in try M(c: pointer.pointee) } }
    }
    if exhausted { throw .tooCostly(type: String(describing: M.self), bytes: bytes.count) }
    guard let decoded else { throw .malformed(type: String(describing: M.self)) }
    return try decoded.get()
}

func pack<M: CMessage>(
    _ value: M,
    _ size: (UnsafePointer<M.C>?) -> Int,
    _ pack: (UnsafePointer<M.C>?, UnsafeMutablePointer<UInt8>?) -> Int
) -> [UInt8] {
    let arena = Arena()
    // The C struct points into the arena: keep it alive until the bytes are out.
    return withExtendedLifetime(arena) {
        let message = UnsafePointer(value.c(in: arena))
        return [UInt8](unsafeUninitializedCapacity: size(message)) { buffer, count in
            count = pack(message, buffer.baseAddress)
        }
    }
}

// MARK: Fields of unpacked messages

func swiftString(_ pointer: UnsafePointer<CChar>?) -> String {
    // String(cString:) repairs invalid UTF-8 with U+FFFD, as String(decoding:as:) does.
    pointer.map { String(cString: $0) } ?? ""
}

func swiftStrings(_ count: Int, _ pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
    swiftArray(count, pointers).map { swiftString($0) }
}

func swiftArray<T>(_ count: Int, _ values: UnsafeMutablePointer<T>?) -> [T] {
    guard let values, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: values, count: count))
}

func swiftBytes(_ data: ProtobufCBinaryData) -> [UInt8] {
    swiftArray(data.len, data.data)
}

func swiftBool(_ value: protobuf_c_boolean) -> Bool { value != 0 }

func cBool(_ value: Bool) -> protobuf_c_boolean { value ? 1 : 0 }

/// A message in a oneof: protobuf-c always allocates it when the case is set.
func swiftMessage<M: CMessage>(_ pointer: UnsafeMutablePointer<M.C>?) throws(WireDecodingError) -> M {
    guard let pointer else { throw .malformed(type: String(describing: M.self)) }
    return try M(c: pointer.pointee)
}

/// A message field whose presence matters: NULL is "absent".
func swiftOptionalMessage<M: CMessage>(_ pointer: UnsafeMutablePointer<M.C>?) throws(WireDecodingError) -> M? {
    guard let pointer else { return nil }
    return try M(c: pointer.pointee)
}

func swiftMessages<M: CMessage>(_ count: Int, _ pointers: UnsafeMutablePointer<UnsafeMutablePointer<M.C>?>?) throws(WireDecodingError) -> [M] {
    var messages: [M] = []
    messages.reserveCapacity(count)
    for pointer in swiftArray(count, pointers) { messages.append(try swiftMessage(pointer)) }
    return messages
}
