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

    public func validate() throws(InvalidOption) {
        func fail(_ name: String, _ reason: String) -> InvalidOption { InvalidOption(name: name, reason: reason) }
        if epochs < 1 { throw fail("epochs", "must be at least 1") }
        if let maxSteps, maxSteps < 1 { throw fail("max-steps", "must be at least 1") }
        if batchSize < 1 { throw fail("batch-size", "must be at least 1") }
        if gradAccum < 1 { throw fail("grad-accum", "must be at least 1") }
        if !(lr > 0) || !lr.isFinite { throw fail("lr", "must be a positive number, got \(lr)") }
        if !(weightDecay >= 0) { throw fail("weight-decay", "must not be negative") }
        if !(maxGradNorm >= 0) { throw fail("max-grad-norm", "must not be negative (0 disables clipping)") }
        if !(adamBeta2 > 0 && adamBeta2 < 1) { throw fail("adam-beta2", "must be in (0, 1), got \(adamBeta2)") }
        if warmupSteps < 0 { throw fail("warmup-steps", "must not be negative") }
        if evalEvery < 0 { throw fail("eval-every", "must not be negative") }
        if saveEvery < 0 { throw fail("save-every", "must not be negative") }
        if saveTotalLimit < 0 { throw fail("save-total-limit", "must not be negative") }
        if let dropout, !(dropout >= 0 && dropout < 1) { throw fail("dropout", "must be in [0, 1), got \(dropout)") }
    }
}

