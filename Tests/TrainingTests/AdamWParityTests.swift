import Checkpoint
import Foundation
import GPT2
import Testing
import TestSupport
import Training

@Suite("AdamW equals torch.optim.AdamW")
struct AdamWParityTests {
    @Test("five steps with weight decay and clipping: losses, gradient norms and final parameters")
    func fiveSteps() throws {
        let model = try ModelLoader.load(directory: Fixtures.model("tiny-safetensors")).model
        let reference = try SafeTensors.read(path: Fixtures.reference("training.safetensors"))
        let expectedLosses = try #require(reference["adamw.losses"]).floats()
        let expectedNorms = try #require(reference["adamw.grad_norms"]).floats()
        let optimizer = AdamW(layout: model.parameters.layout, settings: .init(weightDecay: 0.01))
        let acts = Activations(config: model.config, B: 2, T: 16, keepsAllLayers: true)
        let grads = ParameterBuffer(layout: model.parameters.layout)
        for step in 0..<5 {
            let batch = Batch(B: 2, T: 16, tokens: Fixtures.ids(try #require(reference["adamw.tokens.\(step)"])),
                              labels: Fixtures.ids(try #require(reference["adamw.labels.\(step)"])))
            grads.storage.update(repeating: 0)
            let (loss, _) = try model.lossAndGradients(batch, acts: acts, grads: grads)
            let norm = GradientClipping.clip(grads, maxNorm: 1)
            optimizer.update(parameters: model.parameters, grads: grads, learningRate: 1e-3)
            #expect(abs(loss - expectedLosses[step]) < 1e-5 * max(1, abs(expectedLosses[step])), "step \(step): loss \(loss) vs \(expectedLosses[step])")
            #expect(abs(norm - expectedNorms[step]) < 1e-4 * expectedNorms[step], "step \(step): norm \(norm) vs \(expectedNorms[step])")
        }
        var worst: Float = 0
        let C = model.config.nEmbd
        for slot in model.parameters.layout.slots {
            var expected = try #require(reference["adamw.param.transformer." + slot.huggingFaceName]).floats()
            var ours = Array(model.parameters.slice(slot))
            if slot.kind == .qkvb {
                // The key bias has an exactly zero gradient (softmax ignores a per-query
                // constant); both sides see rounding noise of ~1e-9, which AdamW normalises
                // into steps of up to lr. Only check that it moved no more than that.
                let keyBias = (C..<(2 * C))
                #expect(zip(ours[keyBias], expected[keyBias]).allSatisfy { abs($0 - $1) <= 5 * 2 * 1e-3 })
                ours.removeSubrange(keyBias)
                expected.removeSubrange(keyBias)
            }
            let error = zip(ours, expected).map { abs($0 - $1) }.max()!
            worst = max(worst, error)
            // wte rows of tokens absent from the batches only get tiny head gradients, which
            // AdamW's normalisation makes the most sensitive to rounding.
            #expect(error < 3e-5, "\(slot.huggingFaceName): max diff \(error)")
        }
        print("AdamW: worst parameter difference after 5 steps \(worst)")
    }

    @Test("learning-rate schedules follow the Trainer's, with warmup")
    func schedules() {
        #expect(LearningRateSchedule.linear.factor(step: 0, warmup: 10, total: 100) == 0)
        #expect(LearningRateSchedule.linear.factor(step: 5, warmup: 10, total: 100) == 0.5)
        #expect(LearningRateSchedule.linear.factor(step: 10, warmup: 10, total: 100) == 1)
        #expect(abs(LearningRateSchedule.linear.factor(step: 55, warmup: 10, total: 100) - 0.5) < 1e-6)
        #expect(LearningRateSchedule.linear.factor(step: 100, warmup: 10, total: 100) == 0)
        #expect(abs(LearningRateSchedule.cosine.factor(step: 55, warmup: 10, total: 100) - 0.5) < 1e-6)
        #expect(LearningRateSchedule.constant.factor(step: 99, warmup: 10, total: 100) == 1)
    }
}
