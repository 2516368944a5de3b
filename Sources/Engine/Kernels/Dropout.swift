/// Dropout whose mask is a pure function of (seed, site, element): nothing is stored between
/// the forward and the backward pass, and a resumed run draws the same masks.
public struct Dropout: Sendable, Equatable {
    public let probability: Float
    public let seed: UInt64

    public init(probability: Float, seed: UInt64) {
        self.probability = probability
        self.seed = seed
    }

    public var isActive: Bool { probability > 0 }
    var scale: Float { 1 / (1 - probability) }
    var threshold: UInt64 { UInt64(Double(1 - probability) * 18_446_744_073_709_551_615.0) }

    /// A different stream for each place dropout is applied (layer, kind).
    public func site(_ site: Int) -> Dropout { Dropout(probability: probability, seed: Self.mix(seed ^ (UInt64(site) &* 0xA076_1D64_78BD_642F))) }

    @inline(__always) static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The factor element `index` is multiplied by: 0 or 1/(1-p).
    @inline(__always) public func factor(_ index: Int) -> Float {
        Self.mix(seed ^ UInt64(index)) < threshold ? scale : 0
    }

    /// x (N) *= mask, in place; the backward pass is the same call on the gradient.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        guard isActive else { return }
        Parallel.forRanges(count, grain: 1 << 14) { range in
            for i in range { x[i] *= factor(i) }
        }
    }
}
