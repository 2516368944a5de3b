import Foundation
import GPT2
import Kernels

/// AdamW with decoupled weight decay, as `torch.optim.AdamW` and the Trainer use it:
/// biases and LayerNorm parameters take no weight decay.
public final class AdamW: @unchecked Sendable {
    public struct Settings: Sendable, Codable, Equatable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-8
        public var weightDecay: Float = 0
        public init(beta2: Float = 0.999, weightDecay: Float = 0) {
            self.beta2 = beta2
            self.weightDecay = weightDecay
        }
    }

    public let settings: Settings
    /// First and second moments, laid out like the parameters.
    public let m: ParameterBuffer
    public let v: ParameterBuffer
    /// Updates done so far (the bias corrections depend on it).
    public private(set) var step = 0

    public init(layout: ParameterLayout, settings: Settings) {
        self.settings = settings
        m = ParameterBuffer(layout: layout)
        v = ParameterBuffer(layout: layout)
    }

    /// Restores a saved state (moments and step) for resuming.
    public func restore(step: Int, m: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>) {
        precondition(m.count == self.m.storage.count && v.count == self.v.storage.count)
        self.step = step
        _ = self.m.storage.update(fromContentsOf: m)
        _ = self.v.storage.update(fromContentsOf: v)
    }

    public func update(parameters: ParameterBuffer, grads: ParameterBuffer, learningRate lr: Float) {
        step += 1
        let s = settings
        let correction1 = 1 - Float(pow(Double(s.beta1), Double(step)))
        let correction2 = 1 - Float(pow(Double(s.beta2), Double(step)))
        let stepSize = lr / correction1
        let root2 = correction2.squareRoot()
        for slot in parameters.layout.slots {
            let p = parameters.slice(slot).baseAddress!, g = grads.slice(slot).baseAddress!
            let m1 = m.slice(slot).baseAddress!, m2 = v.slice(slot).baseAddress!
            let decay = slot.kind.takesWeightDecay ? 1 - lr * s.weightDecay : 1
            Parallel.forRanges(slot.count, grain: 1 << 14, alignment: vecWidth) { range in
                var i = range.lowerBound
                let b1 = Vec(repeating: s.beta1), b2 = Vec(repeating: s.beta2)
                let c1 = Vec(repeating: 1 - s.beta1), c2 = Vec(repeating: 1 - s.beta2)
                let eps = Vec(repeating: s.epsilon), inverseRoot2 = Vec(repeating: 1 / root2)
                let decayV = Vec(repeating: decay), stepV = Vec(repeating: stepSize)
                while i + vecWidth <= range.upperBound {
                    let gi = Vec.load(g + i)
                    let mi = b1 * Vec.load(m1 + i) + c1 * gi
                    let vi = b2 * Vec.load(m2 + i) + c2 * gi * gi
                    mi.store(m1 + i)
                    vi.store(m2 + i)
                    let denominator = vi.squareRoot() * inverseRoot2 + eps
                    (Vec.load(p + i) * decayV - stepV * mi / denominator).store(p + i)
                    i += vecWidth
                }
                while i < range.upperBound {
                    let gi = g[i]
                    m1[i] = s.beta1 * m1[i] + (1 - s.beta1) * gi
                    m2[i] = s.beta2 * m2[i] + (1 - s.beta2) * gi * gi
                    let denominator = m2[i].squareRoot() * (1 / root2) + s.epsilon
                    p[i] = p[i] * decay - stepSize * m1[i] / denominator
                    i += 1
                }
            }
        }
    }
}

public enum GradientClipping {
    /// Scales gradients so that their global L2 norm is at most `maxNorm`
    /// (`torch.nn.utils.clip_grad_norm_`); returns the norm before clipping.
    @discardableResult
    public static func clip(_ grads: ParameterBuffer, maxNorm: Float) -> Float {
        let storage = grads.storage
        // Fixed blocks summed in order: the norm, and so the clipping, is the same bit for bit
        // at every thread count.
        let squares = Parallel.sum(storage.count) { range in
            var acc = Vec.zero
            var i = range.lowerBound
            while i + vecWidth <= range.upperBound {
                let v = Vec.load(storage.baseAddress! + i)
                acc.addProduct(v, v)
                i += vecWidth
            }
            var total = Double(acc.sum())
            while i < range.upperBound { total += Double(storage[i]) * Double(storage[i]); i += 1 }
            return total
        }
        let norm = Float(squares.squareRoot())
        let coefficient = maxNorm / (norm + 1e-6)
        if maxNorm > 0 && coefficient < 1 {
            Parallel.forRanges(storage.count, grain: 1 << 16) { range in
                for i in range { storage[i] *= coefficient }
            }
        }
        return norm
    }
}
