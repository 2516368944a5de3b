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

extension InvalidOption {
    /// A count within `range`, or the error naming the option and the limits.
    static func check(_ value: Int, _ name: String, _ range: ClosedRange<Int>) throws(InvalidOption) {
        guard range.contains(value) else {
            throw InvalidOption(name: name, reason: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
    }

    /// A finite number within `range`.
    static func check(_ value: Float, _ name: String, _ range: ClosedRange<Float>, _ meaning: String = "") throws(InvalidOption) {
        guard value.isFinite, range.contains(value) else {
            throw InvalidOption(name: name, reason: "must be between \(range.lowerBound) and \(range.upperBound)\(meaning), got \(value)")
        }
    }
}
