import Testing
import Wire

func expectRoundTrip<M: WireMessage>(_ values: [M], sourceLocation: SourceLocation = #_sourceLocation) throws {
    for value in values {
        let bytes = value.wire()
        let decoded = try M(wire: bytes)
        #expect(decoded == value, sourceLocation: sourceLocation)
        #expect(decoded.wire() == bytes, "encoding is deterministic", sourceLocation: sourceLocation)
    }
}

/// Every wire message survives wire() -> init(wire:) unchanged.
@Suite("Wire round trips")
struct RoundTripTests {
    @Test func errorReply() throws {
        try expectRoundTrip([Samples.error, ErrorReply(code: .internal, message: Samples.unicode)] + ErrorCode.allCases.map { ErrorReply(code: $0) })
    }

    @Test func tokenizer() throws {
        try expectRoundTrip(Samples.tokenizeRequests)
        try expectRoundTrip(Samples.tokenizeReplies)
    }

    @Test func generation() throws {
        try expectRoundTrip(Samples.generatorCalls)
        try expectRoundTrip(Samples.generateRequests)
        try expectRoundTrip(Samples.generateEvents)
        try expectRoundTrip([Samples.cancel])
        try expectRoundTrip([Samples.switchModel])
        try expectRoundTrip(Strategy.allCases.map { GenerateRequest(parameters: GenerationParameters(strategy: $0)) })
        try expectRoundTrip(FinishReason.allCases.map { GenerateEvent(event: .final(GenerateFinal(completions: [Completion(finishReason: $0)]))) })
    }

    @Test func jobs() throws {
        try expectRoundTrip(Samples.jobRequests)
        try expectRoundTrip(Samples.jobReplies)
        try expectRoundTrip(Samples.assignments)
        try expectRoundTrip(Samples.submits)
        try expectRoundTrip(Samples.statuses)
        try expectRoundTrip(Samples.progresses)
    }

    @Test func service() throws {
        try expectRoundTrip([Samples.hello, WorkerHello()])
        try expectRoundTrip([Samples.heartbeat])
        try expectRoundTrip(ProtocolVersion.allCases.map { StatusRequest(version: $0) })
        try expectRoundTrip(Samples.statusReplies)
    }

    @Test("presence: a set zero survives where the proto makes presence observable")
    func presence() throws {
        let epsilon = try GenerateRequest(wire: GenerateRequest(parameters: GenerationParameters(epsilon: 0)).wire())
        #expect(epsilon.parameters?.epsilon == 0)
        #expect(try GenerateRequest(wire: GenerateRequest(parameters: GenerationParameters()).wire()).parameters?.epsilon == nil)
        #expect(try GenerateRequest(wire: GenerateRequest(parameters: GenerationParameters()).wire()).parameters == GenerationParameters())
        #expect(try GenerateRequest(wire: GenerateRequest().wire()).parameters == nil)
        #expect(try TokenEvent.roundTripTrace(TraceStep()) == TraceStep())
        #expect(try TokenEvent.roundTripTrace(nil) == nil)
        #expect(try StatusReply(wire: StatusReply(error: ErrorReply()).wire()).error == ErrorReply())
        #expect(try JobSubmit(wire: JobSubmit(spec: .prepare(PrepareSpec(fields: ["val_fraction": .double(0)]))).wire()) == JobSubmit(spec: .prepare(PrepareSpec(fields: ["val_fraction": .double(0)]))))
        #expect(try JobSubmit(wire: JobSubmit(spec: .train(TrainSpec(fields: ["max_grad_norm": .float(0), "dropout": .float(0)]))).wire()) == JobSubmit(spec: .train(TrainSpec(fields: ["max_grad_norm": .float(0), "dropout": .float(0)]))))
    }

    @Test("a map encodes in key order, so equal values give equal bytes")
    func mapOrder() {
        let bias = Dictionary(uniqueKeysWithValues: (0..<64).map { (UInt32($0 * 7919 % 1000), Float($0)) })
        let a = GenerateRequest(parameters: GenerationParameters(logitBias: bias))
        var copy: [UInt32: Float] = [:]
        for (key, value) in bias.reversed() { copy[key] = value }
        #expect(a.wire() == GenerateRequest(parameters: GenerationParameters(logitBias: copy)).wire())
    }
}

extension TokenEvent {
    static func roundTripTrace(_ trace: TraceStep?) throws -> TraceStep? {
        let event = GenerateEvent(event: .token(TokenEvent(trace: trace)))
        guard case .token(let token) = try GenerateEvent(wire: event.wire()).event else { return TraceStep(step: 999) }
        return token.trace
    }
}
