import Checkpoint
import Foundation
import GPT2
import Testing
import TestSupport

/// Loss and every parameter's gradient against PyTorch (Tests/Fixtures/training_fixtures.py).
@Suite("Backward pass equals PyTorch")
struct BackwardParityTests {
    @Test("loss of one batch and the gradient of every parameter tensor")
    func gradients() throws {
        let model = try ModelLoader.load(directory: Fixtures.model("tiny-safetensors")).model
        let reference = try SafeTensors.read(path: Fixtures.reference("training.safetensors"))
        let tokens = Fixtures.ids(try #require(reference["tokens"]))
        let labels = Fixtures.ids(try #require(reference["labels"]))
        let (B, T) = (2, 16)
        // transformers shifts labels inside the model: position t learns labels[t + 1].
        var targets = [Int32](repeating: -100, count: B * T)
        for b in 0..<B { for t in 0..<(T - 1) { targets[b * T + t] = labels[b * T + t + 1] } }

        let acts = Activations(config: model.config, B: B, T: T, keepsAllLayers: true)
        let grads = ParameterBuffer(layout: model.parameters.layout)
        let (loss, count) = try tokens.withUnsafeBufferPointer { tokenBuffer in
            try targets.withUnsafeBufferPointer { targetBuffer in
                try model.forward(tokens: tokenBuffer.baseAddress!, acts: acts)
                return model.backward(tokens: tokenBuffer.baseAddress!, targets: targetBuffer.baseAddress!, acts: acts, grads: grads)
            }
        }
        let expectedLoss = try #require(reference["loss"]).floats()[0]
        #expect(count == 15 + 11)
        #expect(abs(loss - expectedLoss) < 1e-5 * max(1, abs(expectedLoss)), "loss \(loss) vs \(expectedLoss)")

        var worst = (name: "", error: Float(0))
        for slot in model.parameters.layout.slots {
            let name = "grad.transformer." + slot.huggingFaceName
            let expected = try #require(reference[name], "\(name) missing from the fixture").floats()
            let ours = Array(grads.slice(slot))
            let scale = max(expected.map { abs($0) }.max() ?? 0, 1e-6)
            let error = zip(ours, expected).map { abs($0 - $1) }.max()! / scale
            if error > worst.error { worst = (name, error) }
            #expect(error < 1e-4, "\(name): max error \(error) relative to the largest gradient \(scale)")
        }
        print("worst relative gradient error: \(worst.error) (\(worst.name))")
    }
}
