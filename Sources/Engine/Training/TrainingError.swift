
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidOption(name: String, reason: String)
    case data(String)
    case checkpoint(String)
    case model(String)
    /// The loss or the gradients stopped being finite numbers at this (1-based) step.
    case diverged(step: Int, loss: Float, gradientNorm: Float)
    /// The output directory holds another run's checkpoints, final model or log.
    case outputInUse(directory: String, found: [String])

    public var description: String {
        switch self {
        case let .invalidOption(name, reason): return "invalid --\(name): \(reason)"
        case let .data(message), let .checkpoint(message), let .model(message): return message
        case let .outputInUse(directory, found):
            return "\(directory) already holds a training run (\(found.joined(separator: ", "))): continue it with --resume, replace it with --overwrite, or choose another --out"
        case let .diverged(step, loss, norm):
            return "training diverged at step \(step): loss \(loss), gradient norm \(norm); the weights are those of step \(step - 1) and no checkpoint was written for it (lower --lr, or clip with --max-grad-norm)"
        }
    }
}
