import ArgumentParser
import Foundation
import GPT2
import Kernels
import Tokenizer
import Training
import Jobs

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune (or pre-train) a GPT-2 on prepared data, with evaluation and checkpoints every epoch.",
        discussion: """
        The notebook's fine-tune:
          cuentista train --model gpt2-small-spanish --data prepared/ --out run/ --epochs 10 --lr 2e-5 --weight-decay 0.01
        A fresh model of a named shape (tiny, mini, small, medium): --model init:tiny
        Continue after a crash or Ctrl-C: add --resume (same --out). A run already in --out is
        never mixed with a new one: --resume continues it, --overwrite replaces it.
        """)

    @OptionGroup var arguments: TrainArguments
    @Flag(help: "Continue from the latest complete checkpoint in --out.") var resume = false
    @Flag(help: "Replace a run already in --out (its checkpoints, final model and log).") var overwrite = false

    func validate() throws {
        if resume && overwrite { throw ValidationError("--resume continues the run in --out and --overwrite replaces it: give one") }
    }

    func run() throws {
        let spec = arguments.spec
        let trainer: Trainer
        do { trainer = try spec.makeTrainer(in: .workingDirectory) } catch { throw ValidationError("\(error)") }

        let progress = ProgressLine()
        let result = try trainer.run(resume: resume, overwrite: overwrite) { event in
            switch event {
            case let .step(step, total, epoch, loss, rate, eta):
                let text: String = String(format: "step %d/%d  loss %.4f  %.0f tok/s  ETA %@", step, total, loss, rate, ProgressLine.clock(eta))
                let fraction: Double = Double(step) / Double(max(total, 1))
                progress.show(fraction, prefix: "epoch \(epoch + 1) ", text, last: step == total)
            case let .evaluation(step, epoch, loss, perplexity):
                progress.note(String(format: "eval after step %d (epoch %d): loss %.4f  perplexity %.2f", step, epoch + 1, loss, perplexity))
            case let .checkpoint(path):
                progress.note("saved \(path)")
            case let .resumed(path, step):
                progress.note("resuming from \(path) (step \(step))")
            }
        }
        progress.finish()
        print("\n Epoch | Training Loss | Validation Loss")
        for epoch in result.epochs {
            print(String(format: " %5d | %13.6f | %@", epoch.epoch, epoch.trainingLoss,
                         epoch.validationLoss.map { String(format: "%15.6f", $0) } ?? "            n/a"))
        }
        if let best = result.bestCheckpoint, let loss = result.bestEvalLoss {
            print(String(format: "\nbest checkpoint: %@ (validation loss %.4f, perplexity %.2f)", best, loss, exp(loss)))
        }
        print("final model: \(result.finalModel)")
    }
}

/// The options of a training run, shared by `train` and `jobs submit train`.
struct TrainArguments: ParsableArguments {
    @Option(help: "A model directory, or init:tiny|mini|small|medium for a randomly initialised one.")
    var model: String
    @Option(help: "Prepared data directory (manifest.json + token shards).")
    var data: String
    @Option(help: "Output directory: checkpoints, logs and final/ (the best model).")
    var out: String
    @Option(help: "Epochs over the training data.") var epochs = TrainJobSpec.defaults.epochs
    @Option(help: "Stop after this many optimizer steps.") var maxSteps: Int?
    @Option(help: "Blocks per micro-batch.") var batchSize = TrainJobSpec.defaults.batchSize
    @Option(name: .customLong("grad-accum"), help: "Micro-batches per optimizer step.") var gradAccum = TrainJobSpec.defaults.gradAccum
    @Option(help: "Peak learning rate.") var lr: Float = TrainJobSpec.defaults.lr
    @Option(help: "AdamW weight decay (not on biases and LayerNorms).") var weightDecay: Float = TrainJobSpec.defaults.weightDecay
    @Option(help: "Clip gradients to this global norm (0: off).") var maxGradNorm: Float = TrainJobSpec.defaults.maxGradNorm
    @Option(help: "AdamW's second-moment decay (beta2).") var adamBeta2: Float = TrainJobSpec.defaults.adamBeta2
    @Option(help: "The learning-rate schedule after warmup.") var lrSchedule = TrainJobSpec.defaults.lrSchedule
    @Option(help: "Linear warmup steps.") var warmupSteps = TrainJobSpec.defaults.warmupSteps
    @Option(help: "Also evaluate every N steps (0: at epoch ends only).") var evalEvery = TrainJobSpec.defaults.evalEvery
    @Option(help: "Keep at most K checkpoints (the best is always kept; 0: all).") var saveTotalLimit = TrainJobSpec.defaults.saveTotalLimit
    @Option(help: "Also checkpoint every N steps (0: at epoch ends only).") var saveEvery = TrainJobSpec.defaults.saveEvery
    @Option(help: "Seed of the data order and of init:.") var seed: UInt64 = TrainJobSpec.defaults.seed
    @Option(help: "Dropout for embeddings, attention and residuals (default: config.json's; 0 disables).") var dropout: Float?
    @Flag(help: "Keep the data order.") var noShuffle = TrainJobSpec.defaults.noShuffle
    @Option(help: "Also write every logged step and evaluation to this JSONL file.") var logJson: String?

    var spec: TrainJobSpec {
        var spec = TrainJobSpec()
        spec.model = model
        spec.data = data
        spec.out = out
        spec.epochs = epochs
        spec.maxSteps = maxSteps
        spec.batchSize = batchSize
        spec.gradAccum = gradAccum
        spec.lr = lr
        spec.weightDecay = weightDecay
        spec.maxGradNorm = maxGradNorm
        spec.adamBeta2 = adamBeta2
        spec.lrSchedule = lrSchedule
        spec.warmupSteps = warmupSteps
        spec.evalEvery = evalEvery
        spec.saveTotalLimit = saveTotalLimit
        spec.saveEvery = saveEvery
        spec.seed = seed
        spec.dropout = dropout
        spec.noShuffle = noShuffle
        spec.logJson = logJson
        return spec
    }
}
