import Wire

// A specification's `Codable` conformance, pointed at the wire's fields by name: property
// `maxLength` is field `max_length`. With it, the wire conversion of a job specification is
// derived from its properties; nothing lists the fields a second time.

enum FieldNames {
    /// `maxGradNorm` -> `max_grad_norm`.
    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// Encodes a flat value (properties of scalar, string, string-array and `RawRepresentable`
/// string types; nil properties are left out) into fields by proto name.
final class FieldValuesEncoder: Encoder {
    var fields: [String: FieldValue] = [:]
    let codingPath: [any CodingKey] = []
    let userInfo: [CodingUserInfoKey: Any] = [:]

    static func encode<T: Encodable>(_ value: T) throws -> [String: FieldValue] {
        let encoder = FieldValuesEncoder()
        try value.encode(to: encoder)
        return encoder.fields
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Keyed(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { fatalError("a job specification is flat: no lists of lists") }
    func singleValueContainer() -> any SingleValueEncodingContainer { fatalError("a job specification is a set of named fields") }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: FieldValuesEncoder
        var codingPath: [any CodingKey] { [] }

        func put(_ value: FieldValue, _ key: Key) { encoder.fields[FieldNames.snakeCase(key.stringValue)] = value }

        mutating func encodeNil(forKey key: Key) throws {}
        mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
        mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { put(.double(value), key) }
        mutating func encode(_ value: Float, forKey key: Key) throws { put(.float(value), key) }
        // Negative counts have no wire form (the fields are unsigned): they travel as 0, which
        // reads as the default; the sender's own checks refuse them first.
        mutating func encode(_ value: Int, forKey key: Key) throws { put(.integer(UInt64(clamping: value)), key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { put(.integer(UInt64(clamping: value)), key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { put(.integer(UInt64(clamping: value)), key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { put(.integer(UInt64(clamping: value)), key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { put(.integer(UInt64(clamping: value)), key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { put(.integer(UInt64(value)), key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.integer(UInt64(value)), key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.integer(UInt64(value)), key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.integer(UInt64(value)), key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { put(.integer(value), key) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            if let strings = value as? [String] { return put(.strings(strings), key) }
            let single = SingleValue()
            try value.encode(to: single)
            guard let field = single.value else {
                throw EncodingError.invalidValue(value, .init(codingPath: [key], debugDescription: "not a scalar field"))
            }
            put(field, key)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            fatalError("a job specification is flat")
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { fatalError("a job specification is flat") }
        mutating func superEncoder() -> any Encoder { encoder }
        mutating func superEncoder(forKey key: Key) -> any Encoder { encoder }
    }

    /// A `RawRepresentable` enum encodes its raw value through a single-value container.
    final class SingleValue: Encoder, SingleValueEncodingContainer {
        var value: FieldValue?
        let codingPath: [any CodingKey] = []
        let userInfo: [CodingUserInfoKey: Any] = [:]
        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> { fatalError("not a scalar") }
        func unkeyedContainer() -> any UnkeyedEncodingContainer { fatalError("not a scalar") }
        func singleValueContainer() -> any SingleValueEncodingContainer { self }
        func encodeNil() throws {}
        func encode(_ value: Bool) throws { self.value = .bool(value) }
        func encode(_ value: String) throws { self.value = .string(value) }
        func encode(_ value: Double) throws { self.value = .double(value) }
        func encode(_ value: Float) throws { self.value = .float(value) }
        func encode(_ value: Int) throws { self.value = .integer(UInt64(clamping: value)) }
        func encode(_ value: UInt64) throws { self.value = .integer(value) }
        func encode<T: Encodable>(_ value: T) throws { try value.encode(to: self) }
    }
}

/// Decodes a flat value from fields by proto name. A field that is absent decodes as missing:
/// callers merge the received fields over the encoded defaults first (`JobSpecs`' conversion).
struct FieldValuesDecoder: Decoder {
    let fields: [String: FieldValue]
    let codingPath: [any CodingKey] = []
    let userInfo: [CodingUserInfoKey: Any] = [:]

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Keyed(fields: fields))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "a job specification is flat"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "a job specification is a set of named fields"))
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: [String: FieldValue]
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

        func field(_ key: Key) throws -> FieldValue {
            guard let value = fields[FieldNames.snakeCase(key.stringValue)] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: [key], debugDescription: "no field \(FieldNames.snakeCase(key.stringValue))"))
            }
            return value
        }

        func mismatch<T>(_ type: T.Type, _ key: Key) -> DecodingError {
            .typeMismatch(type, .init(codingPath: [key], debugDescription: "field \(FieldNames.snakeCase(key.stringValue)) has another type"))
        }

        func integer<T: FixedWidthInteger>(_ type: T.Type, _ key: Key) throws -> T {
            guard case let .integer(number) = try field(key) else { throw mismatch(type, key) }
            return T(clamping: number)
        }

        func contains(_ key: Key) -> Bool { fields[FieldNames.snakeCase(key.stringValue)] != nil }
        func decodeNil(forKey key: Key) throws -> Bool { !contains(key) }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
            guard case let .bool(flag) = try field(key) else { throw mismatch(type, key) }
            return flag
        }
        func decode(_ type: String.Type, forKey key: Key) throws -> String {
            guard case let .string(text) = try field(key) else { throw mismatch(type, key) }
            return text
        }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
            switch try field(key) {
            case let .double(number): return number
            case let .float(number): return Double(number)
            default: throw mismatch(type, key)
            }
        }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
            switch try field(key) {
            case let .float(number): return number
            case let .double(number): return Float(number)
            default: throw mismatch(type, key)
            }
        }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(type, key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(type, key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(type, key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(type, key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(type, key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(type, key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(type, key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(type, key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(type, key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(type, key) }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let value = try field(key)
            if T.self == [String].self, case let .strings(strings) = value { return strings as! T }
            return try T(from: SingleValue(value: value, key: key))
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw mismatch(type, key)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw mismatch([Any].self, key) }
        func superDecoder() throws -> any Decoder { FieldValuesDecoder(fields: fields) }
        func superDecoder(forKey key: Key) throws -> any Decoder { FieldValuesDecoder(fields: fields) }
    }

    /// A `RawRepresentable` enum decodes its raw value through a single-value container; a raw
    /// value it does not know is an error naming the field and the value.
    struct SingleValue: Decoder, SingleValueDecodingContainer {
        let value: FieldValue
        let key: any CodingKey
        var codingPath: [any CodingKey] { [key] }
        let userInfo: [CodingUserInfoKey: Any] = [:]
        func container<K: CodingKey>(keyedBy type: K.Type) throws -> KeyedDecodingContainer<K> { throw mismatch(type) }
        func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw mismatch([Any].self) }
        func singleValueContainer() throws -> any SingleValueDecodingContainer { self }
        func mismatch<T>(_ type: T.Type) -> DecodingError { .typeMismatch(type, .init(codingPath: [key], debugDescription: "not a scalar")) }
        func decodeNil() -> Bool { false }
        func decode(_ type: Bool.Type) throws -> Bool { guard case let .bool(flag) = value else { throw mismatch(type) }; return flag }
        func decode(_ type: String.Type) throws -> String { guard case let .string(text) = value else { throw mismatch(type) }; return text }
        func decode(_ type: Double.Type) throws -> Double { guard case let .double(number) = value else { throw mismatch(type) }; return number }
        func decode(_ type: Float.Type) throws -> Float { guard case let .float(number) = value else { throw mismatch(type) }; return number }
        func decode(_ type: Int.Type) throws -> Int { guard case let .integer(number) = value else { throw mismatch(type) }; return Int(clamping: number) }
        func decode(_ type: Int8.Type) throws -> Int8 { throw mismatch(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { throw mismatch(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { throw mismatch(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { throw mismatch(type) }
        func decode(_ type: UInt.Type) throws -> UInt { throw mismatch(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { throw mismatch(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { throw mismatch(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { throw mismatch(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { guard case let .integer(number) = value else { throw mismatch(type) }; return number }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
    }
}
