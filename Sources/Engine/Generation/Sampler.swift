import Kernels

/// Picks a token from processed logits.
public enum Sampler {
    public static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }

    /// Inverse-CDF draw from `probabilities` (summing to 1), in double precision.
    public static func draw(_ probabilities: [Float], using generator: inout SeededGenerator) -> Int {
        let u = generator.unit()
        var cumulative = 0.0
        var last = 0
        for (i, p) in probabilities.enumerated() where p > 0 {
            cumulative += Double(p)
            last = i
            if u < cumulative { return i }
        }
        return last  // rounding left u just above the total
    }
}
