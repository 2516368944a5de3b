import Foundation
import GPT2
import Kernels

/// The mutable side of one `Trainer.run`: the optimizer, the state a checkpoint saves, and the
/// buffers reused from step to step. `Trainer.run` drives it: `step` until the epoch's
/// micro-batches are used up, then `endEpoch`, then `Trainer.finish`.
final class TrainingRun {
    let trainer: Trainer
    let optimizer: AdamW
    let grads: ParameterBuffer
    var state = TrainerState(step: 0, epoch: 0, cursor: 0, optimizerStep: 0, bestEvalLoss: nil, bestCheckpoint: nil, history: [])
    /// Activations per micro-batch size (the last one of an epoch may be smaller).
    private var activations: [Int: Activations] = [:]
    private var started = Date()
    private var tokensSinceStart = 0
    /// The current epoch's block order (a seeded shuffle), computed once per epoch.
    private var order: (epoch: Int, blocks: [Int])?

    init(trainer: Trainer) {
        self.trainer = trainer
        optimizer = AdamW(layout: trainer.model.parameters.layout, settings: .init(beta2: trainer.options.adamBeta2, weightDecay: trainer.options.weightDecay))
        grads = ParameterBuffer(layout: trainer.model.parameters.layout)
    }

    /// Continues from a checkpoint: its weights, optimizer moments and state.
    func restore(from checkpoint: String) throws {
        let loaded = try ModelLoader.load(directory: checkpoint).model
        _ = trainer.model.parameters.storage.update(fromContentsOf: loaded.parameters.storage)
        let (saved, m, v) = try TrainingCheckpoint.loadState(checkpoint)
        m.withUnsafeBufferPointer { mb in v.withUnsafeBufferPointer { vb in optimizer.restore(step: saved.optimizerStep, m: mb, v: vb) } }
        state = saved
        state.bestCheckpoint = saved.bestCheckpoint.map { ($0 as NSString).lastPathComponent }
        started = Date()  // tokens/s and the ETA count training, not loading
    }

    private func acts(_ rows: Int) -> Activations {
        if let a = activations[rows] { return a }
        let a = Activations(config: trainer.model.config, B: rows, T: trainer.data.manifest.maxLength, keepsAllLayers: true)
        activations[rows] = a
        return a
    }

    /// One optimizer step: `gradientAccumulation` micro-batches, clipping, AdamW, the log.
    func step(onEvent: (TrainerEvent) -> Void) throws {
        let model = trainer.model, options = trainer.options, data = trainer.data
        let L = data.manifest.maxLength, B = options.batchSize
        if order?.epoch != state.epoch { order = (state.epoch, trainer.order(epoch: state.epoch)) }
        let order = order!.blocks
        grads.storage.update(repeating: 0)
        var lossSum: Float = 0
        var micro = 0
        var tokens = 0
        while micro < options.gradAccum && state.cursor < trainer.microBatchesPerEpoch {
            let rows = Array(order[(state.cursor * B)..<min((state.cursor + 1) * B, order.count)])
            var batchTokens: [Int32] = [], batchTargets: [Int32] = []
            for index in rows {
                let block = data.train.block(index)
                batchTokens += block.tokens
                batchTargets += block.targets
            }
            let batchActs = acts(rows.count)
            // Masks depend only on (seed, step, micro-batch): a resumed run draws the same.
            var settings = DropoutSettings(config: model.config, seed: options.seed ^ (UInt64(state.step) << 20 | UInt64(micro)) &* 0x9E37_79B9_7F4A_7C15)
            if let p = options.dropout { (settings.embedding, settings.attention, settings.residual) = (p, p, p) }
            batchActs.dropout = settings.embedding > 0 || settings.attention > 0 || settings.residual > 0 ? settings : nil
            let (loss, _) = try model.lossAndGradients(Batch(B: rows.count, T: L, tokens: batchTokens, targets: batchTargets),
                                                       acts: batchActs, grads: grads)
            lossSum += loss
            tokens += rows.count * L
            micro += 1
            state.cursor += 1
        }
        if micro > 1 {
            let scale = 1 / Float(micro)
            for i in grads.storage.indices { grads.storage[i] *= scale }
        }
        let norm = GradientClipping.clip(grads, maxNorm: options.maxGradNorm)
        // A loss or gradient that is no longer a number would make every weight NaN and every
        // later checkpoint unreadable: stop here, before the update.
        guard lossSum.isFinite, norm.isFinite else {
            throw TrainingError.diverged(step: state.step + 1, loss: lossSum / Float(micro), gradientNorm: norm)
        }
        let totalSteps = trainer.totalSteps
        let lr = options.lr * options.lrSchedule.factor(step: state.step, warmup: options.warmupSteps, total: totalSteps)
        optimizer.update(parameters: model.parameters, grads: grads, learningRate: lr)
        state.step += 1
        state.optimizerStep = optimizer.step
        let loss = lossSum / Float(micro)
        tokensSinceStart += tokens
        let elapsed = Date().timeIntervalSince(started)
        let rate = Double(tokensSinceStart) / max(elapsed, 1e-9)
        let eta = elapsed / Double(max(1, state.step - (state.history.first { $0.kind == "train" }?.step ?? 1) + 1)) * Double(totalSteps - state.step)
        let epochPosition = Double(state.epoch) + Double(state.cursor) / Double(trainer.microBatchesPerEpoch)
        state.history.append(LogEntry(kind: "train", step: state.step, epoch: epochPosition, loss: loss, learningRate: lr,
                                      gradNorm: norm, tokensPerSecond: rate, perplexity: nil))
        // Every step goes to the JSONL log: the loss curves are drawn from it.
        try trainer.appendLog(state.history.last!)
        onEvent(.step(step: state.step, totalSteps: totalSteps, epoch: state.epoch, loss: loss, tokensPerSecond: rate, etaSeconds: eta))
        if options.evalEvery > 0 && state.step % options.evalEvery == 0 && state.cursor < trainer.microBatchesPerEpoch {
            _ = try trainer.evaluate(&state, onEvent: onEvent)
        }
    }

    /// End of an epoch (or of the run): evaluate, checkpoint, keep the best.
    func endEpoch(onEvent: (TrainerEvent) -> Void) throws {
        let evalLoss = try trainer.evaluate(&state, onEvent: onEvent)
        state.epoch += 1
        state.cursor = 0
        if let evalLoss, evalLoss < (state.bestEvalLoss ?? .infinity) {
            state.bestEvalLoss = evalLoss
            state.bestCheckpoint = "checkpoint-\(state.step)"
        }
        try saveCheckpoint(onEvent: onEvent)
    }

    func saveCheckpoint(onEvent: (TrainerEvent) -> Void) throws {
        let path = (trainer.outputDirectory as NSString).appendingPathComponent("checkpoint-\(state.step)")
        try TrainingCheckpoint.save(model: trainer.model, optimizer: optimizer, state: state, tokenizerFiles: trainer.tokenizerFiles, to: path)
        onEvent(.checkpoint(path: path))
        trainer.prune(keeping: trainer.bestCheckpointPath(state))
    }
}
