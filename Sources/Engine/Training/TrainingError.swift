
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidOption(name: String, reason: String)
    case data(String)
    case checkpoint(String)
    case model(String)

    public var description: String {
        switch self {
        case let .invalidOption(name, reason): return "invalid --\(name): \(reason)"
        case let .data(message), let .checkpoint(message), let .model(message): return message
        }
    }
}
