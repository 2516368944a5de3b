import GPT2
import Jobs
import RunOptions
import Services
import Testing
import Wire

/// Each job option is declared once, in the engine's `PrepareOptions` / `TrainingOptions`
/// (type, default, valid values); `PrepareJobSpec` / `TrainJobSpec` take their defaults from
/// there and add the CLI's spelling; the wire conversion and the CLI derive from the specs. These tests fail when a side
/// misses a field or keeps a default of its own (CLITests checks the flags and their defaults).
@Suite("Job options: one definition, every side agrees")
struct SpecAgreementTests {
    /// Property names whose values differ between two specs (Mirror: a new field is seen here
    /// without anyone listing it).
    static func differing<T>(_ a: T, _ b: T) -> [String] {
        zip(Mirror(reflecting: a).children, Mirror(reflecting: b).children).compactMap { x, y in
            String(describing: x.value) == String(describing: y.value) ? nil : x.label
        }
    }

    static func names<T>(_ value: T) -> [String] { Mirror(reflecting: value).children.compactMap(\.label) }

    /// A prepare spec with every field away from its default.
    static var everyPrepareField: PrepareJobSpec {
        var s = PrepareJobSpec()
        s.inputs = ["a.jsonl", "b.csv"]; s.tokenizer = "models/t"; s.out = "prepared/x"; s.format = "csv"
        s.field = "body"; s.template = "{title}\\n{body}"; s.maxLength = 128; s.layout = "pad"; s.valFraction = 0
        s.seed = 7; s.dedupe = true; s.limit = 100; s.fraction = 0.5; s.minChars = 0; s.maxChars = 900
        s.blocks = true; s.delimiter = ";"; s.shuffleWindow = 0
        return s
    }

    /// A train spec with every field away from its default.
    static var everyTrainField: TrainJobSpec {
        var s = TrainJobSpec()
        s.model = "models/m"; s.data = "prepared/x"; s.out = "runs/r"; s.epochs = 5; s.maxSteps = 40; s.batchSize = 2
        s.gradAccum = 3; s.lr = 1e-3; s.weightDecay = 0; s.maxGradNorm = 0; s.lrSchedule = "cosine"; s.warmupSteps = 4
        s.dropout = 0; s.evalEvery = 6; s.saveTotalLimit = 0; s.saveEvery = 9; s.seed = 0; s.noShuffle = true
        s.deploy = true; s.logJson = "runs/r/log.jsonl"
        return s
    }

    @Test("the fixtures above set every field (a new field must be added to them)")
    func fixturesCoverEveryField() {
        #expect(Self.differing(Self.everyPrepareField, PrepareJobSpec.defaults) == Self.names(PrepareJobSpec.defaults))
        #expect(Self.differing(Self.everyTrainField, TrainJobSpec.defaults) == Self.names(TrainJobSpec.defaults))
    }

    @Test("every field crosses the wire and comes back, zeros included (bytes, not just structs)")
    func roundTrip() throws {
        for spec in [JobSpec.prepare(Self.everyPrepareField), .train(Self.everyTrainField), .prepare(.defaults), .train(.defaults)] {
            let bytes = spec.wire.wire()
            #expect(JobSpec(wire: try JobSubmit(wire: bytes)) == spec)
        }
    }

    @Test("a field the wire leaves unset takes the CLI's default, for every field")
    func unsetMeansDefault() {
        #expect(Self.differing(PrepareJobSpec(wire: Wire.PrepareSpec()), PrepareJobSpec.defaults) == [])
        #expect(Self.differing(TrainJobSpec(wire: Wire.TrainSpec()), TrainJobSpec.defaults) == [])
    }

    @Test("every engine option is reached from the spec, and the spec's defaults are the engine's")
    func everyOptionReachesTheEngine() throws {
        // Training: the job forces a log line per step (the loss curves are drawn from it).
        #expect(Self.differing(try TrainJobSpec.defaults.options(), TrainingOptions.defaults) == ["logEvery"])
        let train = Self.differing(try Self.everyTrainField.options(), TrainingOptions.defaults)
        #expect(train == Self.names(TrainingOptions.defaults))
        #expect(Self.differing(try PrepareJobSpec.defaults.options(), PrepareOptions.defaults) == [])
        // --field and --template (and --limit and --fraction) exclude each other: two specs.
        var withField = Self.everyPrepareField, withTemplate = Self.everyPrepareField
        withField.template = nil; withField.fraction = nil
        withTemplate.field = nil; withTemplate.limit = nil
        let reached = Set(Self.differing(try withField.options(), PrepareOptions.defaults))
            .union(Self.differing(try withTemplate.options(), PrepareOptions.defaults))
        #expect(reached == Set(Self.names(PrepareOptions.defaults)))
    }

    @Test("init:<shape> names exactly the shapes the engine knows")
    func initShapes() throws {
        for shape in TrainJobSpec.initShapes { #expect(GPT2Config.named(shape) != nil, "\(shape)") }
        var spec = TrainJobSpec.defaults
        spec.model = "init:huge"
        #expect(throws: JobSpecError.self) { try spec.initShape() }
    }
}
