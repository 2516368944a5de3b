/// An option with a bad value; `name` is the option as the CLI spells it (`--name`).
public struct InvalidOption: Error, CustomStringConvertible, Equatable, Sendable {
    public let name: String
    public let reason: String

    public init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }

    public var description: String { "invalid --\(name): \(reason)" }
}
