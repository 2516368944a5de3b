import Checkpoint
import GPT2
import Kernels
import Training
import TestSupport

/// Thread counts every invariance test runs at: CI has two cores, users have up to 64+.
let threadCounts = [1, 2, 3, 5, 8, 16, 64]

/// Largest difference relative to the largest reference value (1e-6 is a few float32 ulps of it).
func relativeError(_ ours: [Float], _ reference: [Float]) -> Float {
    precondition(ours.count == reference.count, "\(ours.count) values against \(reference.count)")
    let scale = max(reference.map { abs($0) }.max() ?? 0, 1e-6)
    return zip(ours, reference).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
}

/// A model of the shape matrix with its PyTorch reference.
struct ShapeFixture {
    let name: String
    let model: GPT2
    let reference: TensorArchive

    init(_ name: String) throws {
        self.name = name
        model = try ModelLoader.load(directory: Fixtures.shape(name)).model
        reference = try SafeTensors.read(path: Fixtures.shape(name) + "/reference.safetensors")
    }

    func ids(_ key: String) throws -> [Int32] {
        guard let view = reference[key] else { throw FixtureMissing(key: key, shape: name) }
        return Fixtures.ids(view)
    }

    func floats(_ key: String) throws -> [Float] {
        guard let view = reference[key] else { throw FixtureMissing(key: key, shape: name) }
        return try view.floats()
    }
}

struct FixtureMissing: Error, CustomStringConvertible {
    let key: String
    let shape: String
    var description: String { "\(shape): '\(key)' is missing from reference.safetensors" }
}

/// transformers' labels shifted as its loss does: position t learns labels[t + 1].
func nextTokenTargets(_ labels: [Int32], B: Int, T: Int) -> [Int32] {
    var targets = [Int32](repeating: -100, count: B * T)
    for b in 0..<B { for t in 0..<(T - 1) { targets[b * T + t] = labels[b * T + t + 1] } }
    return targets
}

/// Loss and gradients of one batch (eval mode), from a fresh gradient buffer.
func lossAndGradients(_ model: GPT2, tokens: [Int32], targets: [Int32], B: Int, T: Int) throws -> (loss: Float, grads: ParameterBuffer) {
    let acts = Activations(config: model.config, B: B, T: T, keepsAllLayers: true)
    let grads = ParameterBuffer(layout: model.parameters.layout)
    let loss = try tokens.withUnsafeBufferPointer { tokenBuffer in
        try targets.withUnsafeBufferPointer { targetBuffer in
            try model.forward(tokens: tokenBuffer.baseAddress!, acts: acts)
            return model.backward(tokens: tokenBuffer.baseAddress!, targets: targetBuffer.baseAddress!, acts: acts, grads: grads).loss
        }
    }
    return (loss, grads)
}

/// `steps` Trainer-style updates (clipping at 1, AdamW with weight decay 0.01, lr 1e-3) on one
/// batch; returns the losses. Changes the model's parameters.
func train(_ model: GPT2, tokens: [Int32], targets: [Int32], B: Int, T: Int, steps: Int) throws -> [Float] {
    let optimizer = AdamW(layout: model.parameters.layout, settings: AdamW.Settings(weightDecay: 0.01))
    var losses: [Float] = []
    for _ in 0..<steps {
        let (loss, grads) = try lossAndGradients(model, tokens: tokens, targets: targets, B: B, T: T)
        GradientClipping.clip(grads, maxNorm: 1)
        optimizer.update(parameters: model.parameters, grads: grads, learningRate: 1e-3)
        losses.append(loss)
    }
    return losses
}
