import Foundation
import GPT2
import Kernels
import Testing
import TestSupport

@Suite("Dropout")
struct DropoutTests {
    let model = try! ModelLoader.load(directory: Fixtures.model("tiny-safetensors")).model
    let tokens: [Int32] = (0..<32).map { Int32(($0 * 37 + 5) % 512) }
    var targets: [Int32] { (0..<32).map { $0 % 16 == 15 ? -100 : tokens[$0 + 1] } }

    func lossAndGradients(_ dropout: DropoutSettings?) throws -> (Float, ParameterBuffer) {
        let acts = Activations(config: model.config, B: 2, T: 16, keepsAllLayers: true)
        acts.dropout = dropout
        let grads = ParameterBuffer(layout: model.parameters.layout)
        let (loss, _) = try tokens.withUnsafeBufferPointer { t in
            try targets.withUnsafeBufferPointer { y in
                try model.forward(tokens: t.baseAddress!, acts: acts)
                return model.backward(tokens: t.baseAddress!, targets: y.baseAddress!, acts: acts, grads: grads)
            }
        }
        return (loss, grads)
    }

    @Test("masks keep 1-p of the elements, scaled by 1/(1-p), and are reproducible")
    func masks() {
        let dropout = Dropout(probability: 0.1, seed: 7)
        var values = [Float](repeating: 1, count: 100_000)
        values.withUnsafeMutableBufferPointer { dropout.apply($0.baseAddress!, count: $0.count) }
        let kept = values.filter { $0 != 0 }
        #expect(abs(Double(kept.count) / 100_000 - 0.9) < 0.005)
        #expect(kept.allSatisfy { abs($0 - 1 / 0.9) < 1e-6 })
        var again = [Float](repeating: 1, count: 100_000)
        again.withUnsafeMutableBufferPointer { dropout.apply($0.baseAddress!, count: $0.count) }
        #expect(again == values)
    }

    @Test("probability 0 is exactly no dropout")
    func zero() throws {
        let (plain, plainGrads) = try lossAndGradients(nil)
        let (zero, zeroGrads) = try lossAndGradients(DropoutSettings(embedding: 0, attention: 0, residual: 0, seed: 3))
        #expect(plain == zero)
        #expect(Array(plainGrads.storage) == Array(zeroGrads.storage))
    }

    @Test("with dropout on, gradients match finite differences of the (same-mask) loss")
    func finiteDifferences() throws {
        let settings = DropoutSettings(embedding: 0.1, attention: 0.1, residual: 0.1, seed: 99)
        let (loss, grads) = try lossAndGradients(settings)
        let (plain, _) = try lossAndGradients(nil)
        #expect(loss != plain)
        let layout = model.parameters.layout
        // A few coordinates in tensors that each dropout site touches.
        let probes: [(ParameterKind, Int, Int)] = [(.wpe, 0, 3), (.qkvw, 0, 70), (.qkvw, 1, 200), (.attprojw, 1, 5), (.fcprojw, 0, 11), (.ln1w, 1, 2)]
        for (kind, layer, index) in probes {
            let at = layout.offset(kind, layer: layer) + index
            let original = model.parameters.storage[at]
            let h: Float = 1e-2
            model.parameters.storage[at] = original + h
            let (up, _) = try lossAndGradients(settings)
            model.parameters.storage[at] = original - h
            let (down, _) = try lossAndGradients(settings)
            model.parameters.storage[at] = original
            let numeric = (up - down) / (2 * h)
            let analytic = grads.storage[at]
            #expect(abs(numeric - analytic) <= 2e-2 * max(abs(analytic), 0.05), "\(kind) layer \(layer) [\(index)]: numeric \(numeric) vs \(analytic)")
        }
    }
}
