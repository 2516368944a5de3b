
import Wire

// Job specifications on the wire and in the engine. A field the wire leaves unset takes the
// default declared in `PrepareJobSpec` / `TrainJobSpec` (the same the CLI shows), never a
// second copy of it; numbers whose 0 means "no limit" stay plain fields, as jobs.proto says.
// Everything sent is taken as sent, so an explicit lr of 0 is refused by validation rather
// than quietly replaced. (Tests/ServicesTests/SpecAgreementTests checks all of this.)

extension PrepareJobSpec {
    public init(wire spec: Wire.PrepareSpec) {
        self.init()
        inputs = spec.inputs
        tokenizer = spec.tokenizer
        out = spec.out
        if !spec.format.isEmpty { format = spec.format }
        field = spec.field.isEmpty ? nil : spec.field
        template = spec.template.isEmpty ? nil : spec.template
        if spec.maxLength != 0 { maxLength = Int(spec.maxLength) }
        if !spec.layout.isEmpty { layout = spec.layout }
        if let value = spec.valFraction { valFraction = value }
        if let value = spec.seed { seed = value }
        dedupe = spec.dedupe
        limit = spec.limit == 0 ? nil : Int(spec.limit)
        fraction = spec.fraction == 0 ? nil : spec.fraction
        if let value = spec.minChars { minChars = Int(value) }
        maxChars = spec.maxChars == 0 ? nil : Int(spec.maxChars)
        blocks = spec.blocks
        if !spec.delimiter.isEmpty { delimiter = spec.delimiter }
        if let value = spec.shuffleWindow { shuffleWindow = Int(value) }
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
        if let value = spec.epochs { epochs = Int(value) }
        maxSteps = spec.maxSteps == 0 ? nil : Int(spec.maxSteps)
        if let value = spec.batchSize { batchSize = Int(value) }
        if let value = spec.gradAccum { gradAccum = Int(value) }
        if let value = spec.lr { lr = value }
        if let value = spec.weightDecay { weightDecay = value }
        if let value = spec.maxGradNorm { maxGradNorm = value }
        if !spec.lrSchedule.isEmpty { lrSchedule = spec.lrSchedule }
        warmupSteps = Int(spec.warmupSteps)
        dropout = spec.dropout
        evalEvery = Int(spec.evalEvery)
        if let value = spec.saveTotalLimit { saveTotalLimit = Int(value) }
        saveEvery = Int(spec.saveEvery)
        if let value = spec.seed { seed = value }
        noShuffle = spec.noShuffle
        deploy = spec.deploy
        logJson = spec.logJson.isEmpty ? nil : spec.logJson
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
        spec.logJson = logJson ?? ""
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
