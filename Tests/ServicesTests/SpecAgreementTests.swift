import GPT2
import JobSpecs
import RunOptions
import Services
import Testing
import Wire

/// Each job option is declared once, in the engine's `PrepareOptions` / `TrainingOptions`
/// (name, type, default, valid values); `PrepareJobSpec` / `TrainJobSpec` carry them as they
/// are, the wire fields are their names (jobs.proto, read through protobuf-c's descriptor) and
/// the CLI flags take their defaults from them. These tests fail when a side misses a field or
/// keeps a default of its own (CLITests checks the flags and their defaults).
@Suite("Job options: one definition, every side agrees")
struct SpecAgreementTests {
    /// A prepare spec with every field away from its default.
    static var everyPrepareField: PrepareJobSpec {
        var s = PrepareJobSpec()
        s.inputs = ["a.jsonl", "b.csv"]; s.tokenizer = "models/t"; s.out = "prepared/x"; s.format = .csv
        s.field = "body"; s.template = "{title}\\n{body}"; s.maxLength = 128; s.layout = "pad"; s.valFraction = 0
        s.seed = 7; s.dedupe = true; s.limit = 100; s.fraction = 0.5; s.minChars = 0; s.maxChars = 900
        s.blocks = true; s.delimiter = ";"; s.shuffleWindow = 0
        return s
    }

    /// A train spec with every field away from its default.
    static var everyTrainField: TrainJobSpec {
        var s = TrainJobSpec()
        s.model = "models/m"; s.data = "prepared/x"; s.out = "runs/r"; s.epochs = 5; s.maxSteps = 40; s.batchSize = 2
        s.gradAccum = 3; s.lr = 1e-3; s.weightDecay = 0; s.maxGradNorm = 0; s.adamBeta2 = 0.98; s.lrSchedule = .cosine; s.warmupSteps = 4
        s.dropout = 0; s.evalEvery = 6; s.saveTotalLimit = 0; s.saveEvery = 9; s.seed = 0; s.noShuffle = true
        s.deploy = true; s.logJson = "runs/r/log.jsonl"
        return s
    }

    /// Names of the fields whose values differ between two encoded specifications.
    static func differing(_ a: [String: FieldValue], _ b: [String: FieldValue]) -> Set<String> {
        Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }
    }

    @Test("every property of a specification is a field of jobs.proto and every field a property, by name")
    func namesAgree() {
        #expect(Set(Self.everyPrepareField.wire.fields.keys) == Set(PrepareSpec.fieldNames))
        #expect(Set(Self.everyTrainField.wire.fields.keys) == Set(TrainSpec.fieldNames))
    }

    @Test("the fixtures above set every field (a new field must be added to them)")
    func fixturesCoverEveryField() {
        #expect(Self.differing(Self.everyPrepareField.wire.fields, PrepareJobSpec.defaults.wire.fields) == Set(PrepareSpec.fieldNames))
        #expect(Self.differing(Self.everyTrainField.wire.fields, TrainJobSpec.defaults.wire.fields) == Set(TrainSpec.fieldNames))
    }

    @Test("every field crosses the wire and comes back, zeros included (bytes, not just structs)")
    func roundTrip() throws {
        for spec in [JobSpec.prepare(Self.everyPrepareField), .train(Self.everyTrainField), .prepare(.defaults), .train(.defaults)] {
            let bytes = spec.wire.wire()
            #expect(try JobSpec(wire: try JobSubmit(wire: bytes)) == spec)
        }
    }

    @Test("an empty specification on the wire runs with the documented defaults (the notebook's: 512 tokens, 90/10, lr 2e-5, weight decay 0.01)")
    func emptyMeansDocumentedDefaults() throws {
        let prepare = try PrepareJobSpec(wire: try JobSubmit(wire: JobSubmit(spec: .prepare(PrepareSpec())).wire()).prepareSpec())
        #expect(prepare.maxLength == 512 && prepare.valFraction == 0.1 && prepare.layout == "pack" && prepare.format == .auto)
        #expect(prepare.seed == 42 && prepare.minChars == 1 && prepare.shuffleWindow == 10_000 && prepare.delimiter == ",")
        #expect(prepare.limit == nil && prepare.fraction == nil && prepare.maxChars == nil && !prepare.dedupe && !prepare.blocks)
        let train = try TrainJobSpec(wire: try JobSubmit(wire: JobSubmit(spec: .train(TrainSpec())).wire()).trainSpec())
        #expect(train.lr == 2e-5 && train.weightDecay == 0.01 && train.epochs == 3 && train.batchSize == 8 && train.gradAccum == 1)
        #expect(train.maxGradNorm == 1 && train.adamBeta2 == 0.999 && train.lrSchedule == .linear && train.saveTotalLimit == 2)
        #expect(train.seed == 42 && !train.noShuffle && train.dropout == nil && train.maxSteps == nil && train.logJson == nil)
    }

    @Test("plain fields sent as zero mean unset; fields in a oneof keep their zero")
    func zerosOnTheWire() throws {
        let zeros: [String: FieldValue] = ["max_length": .integer(0), "limit": .integer(0), "val_fraction": .double(0), "min_chars": .integer(0)]
        let prepare = try PrepareJobSpec(wire: try JobSubmit(wire: JobSubmit(spec: .prepare(PrepareSpec(fields: zeros))).wire()).prepareSpec())
        #expect(prepare.maxLength == 512 && prepare.limit == nil && prepare.valFraction == 0 && prepare.minChars == 0)
    }

    @Test("a field of the wrong type or an unknown enum value is refused naming the option")
    func badFields() {
        #expect(throws: JobSpecError(field: "lr-schedule", "'zigzag' is not one of its values")) {
            try TrainJobSpec(wire: TrainSpec(fields: ["lr_schedule": .string("zigzag")]))
        }
        #expect(throws: JobSpecError(field: "format", "'xml' is not one of its values")) {
            try PrepareJobSpec(wire: PrepareSpec(fields: ["format": .string("xml")]))
        }
        #expect(throws: JobSpecError(field: "epochs", "has a value of the wrong type")) {
            try TrainJobSpec(wire: TrainSpec(fields: ["epochs": .string("3")]))
        }
    }

    @Test("init:<shape> names exactly the shapes the engine knows")
    func initShapes() throws {
        for shape in TrainJobSpec.initShapes { #expect(GPT2Config.named(shape) != nil, "\(shape)") }
        var spec = TrainJobSpec.defaults
        spec.model = "init:huge"
        #expect(throws: JobSpecError.self) { try spec.initShape() }
    }
}

extension JobSubmit {
    func prepareSpec() throws -> PrepareSpec {
        guard case let .prepare(spec)? = spec else { throw WireDecodingError.malformed(type: "no prepare spec") }
        return spec
    }

    func trainSpec() throws -> TrainSpec {
        guard case let .train(spec)? = spec else { throw WireDecodingError.malformed(type: "no train spec") }
        return spec
    }
}
