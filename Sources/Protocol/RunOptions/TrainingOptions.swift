/// Every option of a training run: the one declaration of each option's name, type, default
/// and valid values. The job specification (`TrainJobSpec`) carries these as they are, under
/// these names: the wire field is the name in snake_case (jobs.proto), the CLI flag the name
/// in kebab-case. The value checks need no model, so the coordinator runs them without the
/// engine.
public struct TrainingOptions: JobOptions {
    public var epochs = 3
    /// When set, training stops after this many optimizer steps (epochs then only bound it).
    public var maxSteps: Int?
    public var batchSize = 8
    public var gradAccum = 1
    /// The peak learning rate (after warmup).
    public var lr: Float = 2e-5
    public var weightDecay: Float = 0.01
    public var maxGradNorm: Float = 1
    /// AdamW's decay of the second moment (transformers' adam_beta2); 0.95-0.98 steadies
    /// training with large learning rates.
    public var adamBeta2: Float = 0.999
    public var lrSchedule: LearningRateSchedule = .linear
    public var warmupSteps = 0
    /// Evaluate every N optimizer steps as well as at each epoch's end (0: epochs only).
    public var evalEvery = 0
    /// Keep at most this many checkpoints (the best is always kept); 0 keeps all.
    public var saveTotalLimit = 2
    /// Also checkpoint every N optimizer steps (0: at epoch ends only), so that a job taken over
    /// by another worker loses at most N steps.
    public var saveEvery = 0
    public var seed: UInt64 = 42
    /// Train on the blocks in their stored order instead of a seeded shuffle per epoch.
    public var noShuffle = false
    /// Overrides the embedding, attention and residual dropout of config.json (0 disables).
    public var dropout: Float?

    public init() {}

    public static let defaults = TrainingOptions()

    /// The largest count any option takes: steps and epochs of a run stay far below it, and
    /// every count fits the wire's 32-bit fields and the progress messages.
    public static let maxCount = 1_000_000_000

    public func validate() throws(InvalidOption) {
        func fail(_ name: String, _ reason: String) -> InvalidOption { InvalidOption(name: name, reason: reason) }
        try InvalidOption.check(epochs, "epochs", 1...100_000)
        if let maxSteps { try InvalidOption.check(maxSteps, "max-steps", 1...Self.maxCount) }
        // A micro-batch of more than 4,096 blocks does not fit any machine's memory at 124M.
        try InvalidOption.check(batchSize, "batch-size", 1...4096)
        try InvalidOption.check(gradAccum, "grad-accum", 1...65_536)
        if !(lr > 0) || !lr.isFinite || lr > 10 { throw fail("lr", "must be a positive number up to 10, got \(lr)") }
        try InvalidOption.check(weightDecay, "weight-decay", 0...10)
        try InvalidOption.check(maxGradNorm, "max-grad-norm", 0...1e6, " (0 disables clipping)")
        if !(adamBeta2 > 0 && adamBeta2 < 1) { throw fail("adam-beta2", "must be in (0, 1), got \(adamBeta2)") }
        try InvalidOption.check(warmupSteps, "warmup-steps", 0...Self.maxCount)
        try InvalidOption.check(evalEvery, "eval-every", 0...Self.maxCount)
        try InvalidOption.check(saveEvery, "save-every", 0...Self.maxCount)
        try InvalidOption.check(saveTotalLimit, "save-total-limit", 0...10_000)
        if let dropout, !(dropout >= 0 && dropout < 1) { throw fail("dropout", "must be in [0, 1), got \(dropout)") }
    }
}

