
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidOption(name: String, reason: String)
    case data(String)
    case checkpoint(String)
    case model(String)
    /// The loss or the gradients stopped being finite numbers at this (1-based) step.
    case diverged(step: Int, loss: Float, gradientNorm: Float)

    public var description: String {
        switch self {
        case let .invalidOption(name, reason): return "invalid --\(name): \(reason)"
        case let .data(message), let .checkpoint(message), let .model(message): return message
        case let .diverged(step, loss, norm):
            return "training diverged at step \(step): loss \(loss), gradient norm \(norm); the weights are those of step \(step - 1) and no checkpoint was written for it (lower --lr, or clip with --max-grad-norm)"
        }
    }
}
