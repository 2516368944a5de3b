/// A value a message cannot carry as it is.
public enum WireEncodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// protobuf-c measures strings with strlen: the text after a NUL byte would be dropped.
    case nulInString(field: String)

    public var description: String {
        switch self {
        case .nulInString(let field): "\(field) holds a NUL byte, which the protocol's strings cannot carry; remove it"
        }
    }
}

extension WireMessage {
    /// `wire()`, refusing what encoding would silently change: a string with a NUL byte (anywhere
    /// in the message, named by its property path). For what a client sends on a person's
    /// behalf (prompts, texts, paths); the receiving side refuses such strings too.
    public func checkedWire() throws(WireEncodingError) -> [UInt8] {
        if let field = Self.fieldWithNul(in: self, path: String(describing: Self.self)) { throw .nulInString(field: field) }
        return wire()
    }

    /// The first string holding a NUL, found by reflection over the Swift value (structs, enums,
    /// optionals and arrays alike), so no type has to list its fields again.
    private static func fieldWithNul(in value: Any, path: String) -> String? {
        if let string = value as? String { return string.utf8.contains(0) ? path : nil }
        for (index, child) in Mirror(reflecting: value).children.enumerated() {
            let name = child.label.map { path + "." + $0 } ?? path + "[\(index)]"
            if let found = fieldWithNul(in: child.value, path: name) { return found }
        }
        return nil
    }
}
