import CProtobufC

/// One scalar field of a message read by name: the job specifications are carried this way, so
/// that a field added to jobs.proto needs no Swift written for it here (`JobSpecs` maps the
/// names onto the specification's properties).
public enum FieldValue: Sendable, Equatable {
    case bool(Bool)
    case integer(UInt64)
    case float(Float)
    case double(Double)
    case string(String)
    case strings([String])
}

/// The fields of a flat message (scalars, strings, repeated strings), by their proto names, read
/// and written through protobuf-c's descriptor. Only fields that are *set* appear: a field in a
/// oneof when its case is set, a plain proto3 field when it is not zero (proto3 cannot tell a
/// zero from an absent field, which is why jobs.proto wraps a field in a oneof whenever its zero
/// means something). Writing ignores names the message does not have.
enum ReflectedFields {
    static func fields(of descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> UnsafeBufferPointer<ProtobufCFieldDescriptor> {
        UnsafeBufferPointer(start: descriptor.pointee.fields, count: Int(descriptor.pointee.n_fields))
    }

    static func read(_ message: UnsafeRawPointer, descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> [String: FieldValue] {
        var values: [String: FieldValue] = [:]
        for field in fields(of: descriptor) {
            let address = message + Int(field.offset)
            let name = String(cString: field.name)
            if field.label == PROTOBUF_C_LABEL_REPEATED {
                guard field.type == PROTOBUF_C_TYPE_STRING else { continue }
                let count = message.load(fromByteOffset: Int(field.quantifier_offset), as: Int.self)
                let strings = address.load(as: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?.self)
                if count > 0 { values[name] = .strings(swiftStrings(count, strings)) }
                continue
            }
            let present: Bool? = if (field.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue)) != 0 {
                message.load(fromByteOffset: Int(field.quantifier_offset), as: UInt32.self) == field.id
            } else if field.label == PROTOBUF_C_LABEL_OPTIONAL && field.type != PROTOBUF_C_TYPE_STRING {
                message.load(fromByteOffset: Int(field.quantifier_offset), as: protobuf_c_boolean.self) != 0
            } else {
                nil  // a plain proto3 field: set when not zero
            }
            guard present != false, let value = scalar(at: address, type: field.type) else { continue }
            if present == nil && value.isZero { continue }
            values[name] = value
        }
        return values
    }

    static func write(_ values: [String: FieldValue], into message: UnsafeMutableRawPointer,
                      descriptor: UnsafePointer<ProtobufCMessageDescriptor>, arena: Arena) {
        for field in fields(of: descriptor) {
            guard let value = values[String(cString: field.name)] else { continue }
            let address = message + Int(field.offset)
            if field.label == PROTOBUF_C_LABEL_REPEATED {
                guard field.type == PROTOBUF_C_TYPE_STRING, case let .strings(strings) = value else { continue }
                let (count, pointer) = arena.strings(strings)
                message.storeBytes(of: count, toByteOffset: Int(field.quantifier_offset), as: Int.self)
                address.storeBytes(of: pointer, as: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?.self)
                continue
            }
            guard store(value, at: address, type: field.type, arena: arena) else { continue }
            if (field.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue)) != 0 {
                message.storeBytes(of: field.id, toByteOffset: Int(field.quantifier_offset), as: UInt32.self)
            } else if field.label == PROTOBUF_C_LABEL_OPTIONAL && field.type != PROTOBUF_C_TYPE_STRING {
                message.storeBytes(of: 1, toByteOffset: Int(field.quantifier_offset), as: protobuf_c_boolean.self)
            }
        }
    }

    private static func scalar(at address: UnsafeRawPointer, type: ProtobufCType) -> FieldValue? {
        switch type {
        case PROTOBUF_C_TYPE_BOOL: .bool(address.load(as: protobuf_c_boolean.self) != 0)
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32: .integer(UInt64(address.load(as: UInt32.self)))
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64: .integer(address.load(as: UInt64.self))
        case PROTOBUF_C_TYPE_FLOAT: .float(address.load(as: Float.self))
        case PROTOBUF_C_TYPE_DOUBLE: .double(address.load(as: Double.self))
        case PROTOBUF_C_TYPE_STRING: .string(swiftString(address.load(as: UnsafePointer<CChar>?.self)))
        default: nil  // signed, enum, bytes and message fields are not used by the messages read this way
        }
    }

    /// Stores a value in a field of the matching type (a number converts between the unsigned
    /// and floating types, clamped); false when the value does not fit the field at all.
    private static func store(_ value: FieldValue, at address: UnsafeMutableRawPointer, type: ProtobufCType, arena: Arena) -> Bool {
        switch (type, value) {
        case (PROTOBUF_C_TYPE_BOOL, .bool(let flag)): address.storeBytes(of: cBool(flag), as: protobuf_c_boolean.self)
        case (PROTOBUF_C_TYPE_UINT32, .integer(let number)), (PROTOBUF_C_TYPE_FIXED32, .integer(let number)):
            address.storeBytes(of: UInt32(clamping: number), as: UInt32.self)
        case (PROTOBUF_C_TYPE_UINT64, .integer(let number)), (PROTOBUF_C_TYPE_FIXED64, .integer(let number)):
            address.storeBytes(of: number, as: UInt64.self)
        case (PROTOBUF_C_TYPE_FLOAT, .float(let number)): address.storeBytes(of: number, as: Float.self)
        case (PROTOBUF_C_TYPE_FLOAT, .double(let number)): address.storeBytes(of: Float(number), as: Float.self)
        case (PROTOBUF_C_TYPE_DOUBLE, .double(let number)): address.storeBytes(of: number, as: Double.self)
        case (PROTOBUF_C_TYPE_DOUBLE, .float(let number)): address.storeBytes(of: Double(number), as: Double.self)
        case (PROTOBUF_C_TYPE_STRING, .string(let text)):
            address.storeBytes(of: arena.string(text), as: UnsafeMutablePointer<CChar>.self)
        default: return false
        }
        return true
    }

    /// The names and types of a message's fields, for tests that hold a Swift type against it.
    static func names(of descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> [String] {
        fields(of: descriptor).map { String(cString: $0.name) }
    }
}

extension FieldValue {
    var isZero: Bool {
        switch self {
        case let .bool(flag): !flag
        case let .integer(number): number == 0
        case let .float(number): number == 0
        case let .double(number): number == 0
        case let .string(text): text.isEmpty
        case let .strings(list): list.isEmpty
        }
    }
}
