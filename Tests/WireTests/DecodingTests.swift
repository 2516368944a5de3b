import Testing
import Wire

/// One default value of every wire message, for the checks that hold for all of them.
let defaults: [any WireMessage] = [
    TokenizeRequest(), TokenizeReply(), GeneratorCall(), GenerateRequest(), GenerateEvent(), CancelRequest(),
    SwitchModelRequest(), JobRequest(), JobReply(), JobAssignment(), JobSubmit(), JobStatus(), JobProgress(),
    WorkerHello(), Heartbeat(), StatusRequest(), StatusReply(), ErrorReply(),
]

/// Every populated sample, to cut short.
let samples: [any WireMessage] =
    Samples.tokenizeRequests + Samples.tokenizeReplies + Samples.generatorCalls + Samples.generateRequests
    + Samples.generateEvents + Samples.jobRequests + Samples.jobReplies + Samples.assignments + Samples.submits
    + Samples.statuses + Samples.progresses + Samples.statusReplies
    + [Samples.error, Samples.cancel, Samples.switchModel, Samples.hello, Samples.heartbeat] as [any WireMessage]

func decodeAgain<M: WireMessage>(_ value: M, _ bytes: [UInt8]) throws(WireDecodingError) -> M {
    try M(wire: bytes)
}

/// Bytes that are not a message, field numbers checked against hand-made protobuf encodings.
@Suite("Wire decoding")
struct DecodingTests {
    @Test("empty bytes are the all-default message")
    func empty() throws {
        for value in defaults {
            #expect(value.wire() == [], "\(type(of: value)) encodes its defaults as nothing")
            let decoded = try decodeAgain(value, [])
            #expect(decoded.wire() == [] && String(describing: decoded) == String(describing: value))
        }
        #expect(try TokenizeRequest(wire: []) == TokenizeRequest())
        #expect(try StatusReply(wire: []) == StatusReply())
    }

    @Test("garbage throws malformed, naming the type")
    func garbage() {
        for value in defaults {
            let name = String(describing: type(of: value))
            #expect(throws: WireDecodingError.malformed(type: name)) { try decodeAgain(value, [0xFF, 0xFF, 0xFF]) }
        }
        #expect(WireDecodingError.malformed(type: "TokenizeRequest").description.contains("TokenizeRequest"))
    }

    @Test("a truncated encoding throws")
    func truncated() {
        for value in samples {
            let bytes = value.wire()
            guard !bytes.isEmpty else { continue }
            #expect(throws: WireDecodingError.self, "\(value)") { try decodeAgain(value, Array(bytes.dropLast())) }
        }
        // A nested length that runs past the end.
        #expect(throws: WireDecodingError.self) { try TokenizeRequest(wire: [0x52, 0x09, 0x0a, 0x02, 0x68, 0x69]) }
    }

    @Test("a field with the wrong wire type throws")
    func wrongWireType() {
        // Field 2 (string tokenizer) sent as a varint.
        #expect(throws: WireDecodingError.self) { try TokenizeRequest(wire: [0x10, 0x01]) }
    }

    @Test("an unknown enum number throws, naming the field")
    func unknownEnum() {
        #expect(throws: WireDecodingError.unknownEnumValue(field: "TokenizeRequest.version", value: 7)) {
            try TokenizeRequest(wire: [0x08, 0x07])
        }
        // -1, as protobuf writes negative int32 enums: ten bytes.
        #expect(throws: WireDecodingError.unknownEnumValue(field: "StatusRequest.version", value: -1)) {
            try StatusRequest(wire: [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        }
        // Nested: JobReply.status (2) { state (2) = 9 }.
        #expect(throws: WireDecodingError.unknownEnumValue(field: "JobStatus.state", value: 9)) {
            try JobReply(wire: [0x12, 0x02, 0x10, 0x09])
        }
        // GenerateRequest.parameters (6) { strategy (1) = 3 }.
        #expect(throws: WireDecodingError.unknownEnumValue(field: "GenerationParameters.strategy", value: 3)) {
            try GenerateRequest(wire: [0x32, 0x02, 0x08, 0x03])
        }
        // TokenizeReply.error (1) { code (1) = 12 }.
        #expect(throws: WireDecodingError.unknownEnumValue(field: "Error.code", value: 12)) {
            try TokenizeReply(wire: [0x0a, 0x02, 0x08, 0x0c])
        }
        #expect(throws: WireDecodingError.self) { try GenerateEvent(wire: [0x22, 0x04, 0x0a, 0x02, 0x20, 0x06]) }
    }

    @Test("unknown fields are skipped, as proto3 requires of older readers")
    func unknownFields() throws {
        // Field 99 (varint 5) before TokenizeRequest.tokenizer.
        #expect(try TokenizeRequest(wire: [0x98, 0x06, 0x05, 0x12, 0x01, 0x6d]) == TokenizeRequest(tokenizer: "m"))
    }

    @Test("invalid UTF-8 in a string decodes with replacement characters")
    func invalidUTF8() throws {
        #expect(try TokenizeRequest(wire: [0x12, 0x02, 0xC3, 0x28]).tokenizer == "\u{FFFD}(")
    }
}

/// Encodings written by hand from the protobuf wire format: tag = field << 3 | wire type.
@Suite("Wire field numbers")
struct FieldNumberTests {
    func expectBytes<M: WireMessage>(_ value: M, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(value.wire() == bytes, sourceLocation: sourceLocation)
        #expect(try M(wire: bytes) == value, sourceLocation: sourceLocation)
    }

    @Test func tokenizer() throws {
        try expectBytes(TokenizeRequest(version: .v1, tokenizer: "m"), [0x08, 0x01, 0x12, 0x01, 0x6d])
        // encode = 10 { text = 1 "hi" }
        try expectBytes(TokenizeRequest(request: .encode(EncodeRequest(text: "hi"))), [0x52, 0x04, 0x0a, 0x02, 0x68, 0x69])
        // count = 13 { texts = 1 "a", "" }
        try expectBytes(TokenizeRequest(request: .count(CountRequest(texts: ["a", ""]))), [0x6a, 0x05, 0x0a, 0x01, 0x61, 0x0a, 0x00])
        // decode = 12 { ids = 1 packed [1, 300], skip_special_tokens = 2 }
        try expectBytes(TokenizeRequest(request: .decode(DecodeRequest(ids: [1, 300], skipSpecialTokens: true))), [0x62, 0x07, 0x0a, 0x03, 0x01, 0xac, 0x02, 0x10, 0x01])
        // reply encode = 10 { offsets = 2 { end = 2 : 4 } }
        try expectBytes(TokenizeReply(reply: .encode(EncodeReply(offsets: [Offsets(end: 4)]))), [0x52, 0x04, 0x12, 0x02, 0x10, 0x04])
    }

    @Test func generation() throws {
        // parameters = 6 { epsilon = 14 : 0.0f } — present although zero.
        try expectBytes(GenerateRequest(parameters: GenerationParameters(epsilon: 0)), [0x32, 0x05, 0x75, 0, 0, 0, 0])
        // parameters = 6 { logit_bias = 13 { key = 1 : 2, value = 2 : 1.0f } }
        try expectBytes(GenerateRequest(parameters: GenerationParameters(logitBias: [2: 1])), [0x32, 0x09, 0x6a, 0x07, 0x08, 0x02, 0x15, 0x00, 0x00, 0x80, 0x3f])
        // parameters = 6 { seed = 17 : 2^64 - 1 }
        try expectBytes(GenerateRequest(parameters: GenerationParameters(seed: .max)), [0x32, 0x0c, 0x88, 0x01] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        // text = 4 "", stream = 9
        try expectBytes(GenerateRequest(prompt: .text(""), stream: true), [0x22, 0x00, 0x48, 0x01])
        // generator call switch_model = 3 { model = 2 "x" }
        try expectBytes(GeneratorCall(call: .switchModel(SwitchModelRequest(model: "x"))), [0x1a, 0x03, 0x12, 0x01, 0x78])
        // event token = 3 { token_bytes = 3 [0xff] }
        try expectBytes(GenerateEvent(event: .token(TokenEvent(tokenBytes: [0xFF]))), [0x1a, 0x03, 0x1a, 0x01, 0xff])
        // event model = 5 { vocab_size = 4 : 1 }
        try expectBytes(GenerateEvent(event: .model(ModelInfo(vocabSize: 1))), [0x2a, 0x02, 0x20, 0x01])
        #expect(try GenerateEvent(wire: [0x12, 0x01, 0x72, 0x22, 0x00]) == GenerateEvent(event: .final(GenerateFinal()), requestId: "r"))
    }

    @Test func jobs() throws {
        try expectBytes(JobRequest(request: .list(false)), [0x30, 0x00])
        try expectBytes(JobRequest(request: .follow("j")), [0x2a, 0x01, 0x6a])
        try expectBytes(JobAssignment(action: .cancel(true)), [0x30, 0x01])
        // progress: eval = 8 {} present, checkpoint = 10 "c"
        try expectBytes(JobProgress(eval: Evaluation(), checkpoint: "c"), [0x42, 0x00, 0x52, 0x01, 0x63])
        // status: created_unix_ms = 8 : 2^64 - 1
        try expectBytes(JobStatus(createdUnixMs: .max), [0x40] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        // submit train = 3 { dropout = 13 : 0.0f, save_every = 19 : 1 }
        try expectBytes(JobSubmit(spec: .train(TrainSpec(fields: ["dropout": .float(0), "save_every": .integer(1)]))), [0x1a, 0x08, 0x6d, 0, 0, 0, 0, 0x98, 0x01, 0x01])
        // submit prepare = 2 { val_fraction = 9 : 0.0 }
        try expectBytes(JobSubmit(spec: .prepare(PrepareSpec(fields: ["val_fraction": .double(0)]))), [0x12, 0x09, 0x49, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func service() throws {
        try expectBytes(WorkerHello(currentJob: "j"), [0x3a, 0x01, 0x6a])
        try expectBytes(Heartbeat(jobId: "j"), [0x1a, 0x01, 0x6a])
        try expectBytes(StatusRequest(version: .v1), [0x08, 0x01])
        try expectBytes(StatusReply(error: ErrorReply()), [0x0a, 0x00])
    }

    @Test("ErrorReply.wire is field 1 of every reply")
    func errorIsFieldOneOfEveryReply() throws {
        let error = ErrorReply(code: .notFound, message: "no job ñ", field: "job_id")
        let bytes = ErrorReply.wire(code: .notFound, message: "no job ñ", field: "job_id")
        #expect(ErrorReply.wire(code: .notFound, message: "x") == [0x0a, 0x05, 0x08, 0x06, 0x12, 0x01, 0x78])
        #expect(try TokenizeReply(wire: bytes) == TokenizeReply(reply: .error(error)))
        #expect(try JobReply(wire: bytes) == JobReply(reply: .error(error)))
        #expect(try StatusReply(wire: bytes) == StatusReply(error: error))
        #expect(try GenerateEvent(wire: bytes) == GenerateEvent(event: .error(error)))
        #expect(JobReply(reply: .error(error)).wire() == bytes)
        #expect(StatusReply(error: error).wire() == bytes)
        #expect(GenerateEvent(event: .error(error)).wire() == bytes)
    }
}
