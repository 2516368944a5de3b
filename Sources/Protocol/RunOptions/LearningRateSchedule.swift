import Foundation

/// The Trainer's learning-rate schedules, each with linear warmup; `factor` multiplies the
/// peak rate at optimizer step `step` (0-based) of `total`.
public enum LearningRateSchedule: String, Sendable, Codable, CaseIterable {
    case constant, linear, cosine

    public func factor(step: Int, warmup: Int, total: Int) -> Float {
        if step < warmup { return Float(step) / Float(max(1, warmup)) }
        switch self {
        case .constant: return 1
        case .linear: return max(0, Float(total - step) / Float(max(1, total - warmup)))
        case .cosine:
            let progress = Double(step - warmup) / Double(max(1, total - warmup))
            return Float(max(0, 0.5 * (1 + cos(Double.pi * progress))))
        }
    }
}
