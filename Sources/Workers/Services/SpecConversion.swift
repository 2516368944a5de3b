import Jobs
import Wire

// Job specifications on the wire and in the engine. The wire leaves optional numbers at 0
// ("no limit", "the default"), as the comments in jobs.proto say; everything else is taken as
// sent, so an explicit lr of 0 is refused by validation rather than quietly replaced.

extension PrepareJobSpec {
    public init(wire spec: Wire.PrepareSpec) {
        self.init()
        inputs = spec.inputs
        tokenizer = spec.tokenizer
        out = spec.out
        format = spec.format.isEmpty ? "auto" : spec.format
        field = spec.field.isEmpty ? nil : spec.field
        template = spec.template.isEmpty ? nil : spec.template
        maxLength = spec.maxLength == 0 ? 512 : Int(spec.maxLength)
        layout = spec.layout.isEmpty ? "pack" : spec.layout
        valFraction = spec.valFraction ?? 0.1
        seed = spec.seed
        dedupe = spec.dedupe
        limit = spec.limit == 0 ? nil : Int(spec.limit)
        fraction = spec.fraction == 0 ? nil : spec.fraction
        minChars = Int(spec.minChars)
        maxChars = spec.maxChars == 0 ? nil : Int(spec.maxChars)
        blocks = spec.blocks
        delimiter = spec.delimiter.isEmpty ? "," : spec.delimiter
        shuffleWindow = Int(spec.shuffleWindow)
    }

    public var wire: Wire.PrepareSpec {
        var spec = Wire.PrepareSpec()
        spec.inputs = inputs
        spec.tokenizer = tokenizer
        spec.out = out
        spec.format = format
        spec.field = field ?? ""
        spec.template = template ?? ""
        spec.maxLength = UInt32(clamping: maxLength)
        spec.layout = layout
        spec.valFraction = valFraction
        spec.seed = seed
        spec.dedupe = dedupe
        spec.limit = UInt32(clamping: limit ?? 0)
        spec.fraction = fraction ?? 0
        spec.minChars = UInt32(clamping: minChars)
        spec.maxChars = UInt32(clamping: maxChars ?? 0)
        spec.blocks = blocks
        spec.delimiter = delimiter
        spec.shuffleWindow = UInt32(clamping: shuffleWindow)
        return spec
    }
}

extension TrainJobSpec {
    public init(wire spec: Wire.TrainSpec) {
        self.init()
        model = spec.model
        data = spec.data
        out = spec.out
        epochs = Int(spec.epochs)
        maxSteps = spec.maxSteps == 0 ? nil : Int(spec.maxSteps)
        batchSize = Int(spec.batchSize)
        gradAccum = Int(spec.gradAccum)
        lr = spec.lr
        weightDecay = spec.weightDecay
        maxGradNorm = spec.maxGradNorm ?? 1
        lrSchedule = spec.lrSchedule.isEmpty ? "linear" : spec.lrSchedule
        warmupSteps = Int(spec.warmupSteps)
        dropout = spec.dropout
        evalEvery = Int(spec.evalEvery)
        saveTotalLimit = Int(spec.saveTotalLimit)
        saveEvery = Int(spec.saveEvery)
        seed = spec.seed
        noShuffle = spec.noShuffle
        deploy = spec.deploy
    }

    public var wire: Wire.TrainSpec {
        var spec = Wire.TrainSpec()
        spec.model = model
        spec.data = data
        spec.out = out
        spec.epochs = UInt32(clamping: epochs)
        spec.maxSteps = UInt32(clamping: maxSteps ?? 0)
        spec.batchSize = UInt32(clamping: batchSize)
        spec.gradAccum = UInt32(clamping: gradAccum)
        spec.lr = lr
        spec.weightDecay = weightDecay
        spec.maxGradNorm = maxGradNorm
        spec.lrSchedule = lrSchedule
        spec.warmupSteps = UInt32(clamping: warmupSteps)
        spec.dropout = dropout
        spec.evalEvery = UInt32(clamping: evalEvery)
        spec.saveTotalLimit = UInt32(clamping: saveTotalLimit)
        spec.saveEvery = UInt32(clamping: saveEvery)
        spec.seed = seed
        spec.noShuffle = noShuffle
        spec.deploy = deploy
        return spec
    }
}

extension JobSpec {
    /// nil when the submission names no job.
    public init?(wire submit: JobSubmit) {
        switch submit.spec {
        case let .prepare(spec): self = .prepare(PrepareJobSpec(wire: spec))
        case let .train(spec): self = .train(TrainJobSpec(wire: spec))
        case nil: return nil
        }
    }

    public var wire: JobSubmit {
        switch self {
        case let .prepare(spec): JobSubmit(version: .v1, spec: .prepare(spec.wire))
        case let .train(spec): JobSubmit(version: .v1, spec: .train(spec.wire))
        }
    }
}
