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

    @Test("a field the wire leaves unset takes the CLI's default, for every field")
    func unsetMeansDefault() throws {
        #expect(try PrepareJobSpec(wire: Wire.PrepareSpec()) == PrepareJobSpec.defaults)
        #expect(try TrainJobSpec(wire: Wire.TrainSpec()) == TrainJobSpec.defaults)
        #expect(PrepareJobSpec.defaults.options == PrepareOptions.defaults && TrainJobSpec.defaults.options == TrainingOptions.defaults)
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
