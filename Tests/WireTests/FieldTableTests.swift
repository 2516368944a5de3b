import Testing
import Wire

/// One field of raw protobuf: just enough of a reader to check tags independently of protobuf-c.
struct RawField: Equatable {
    var number: UInt64
    var wireType: UInt8
    var payload: [UInt8]
}

func readVarint(_ bytes: [UInt8], _ index: inout Int) -> UInt64 {
    var value: UInt64 = 0, shift: UInt64 = 0
    while true {
        let byte = bytes[index]
        index += 1
        value |= UInt64(byte & 0x7F) << shift
        if byte < 0x80 { return value }
        shift += 7
    }
}

func rawFields(_ bytes: [UInt8]) -> [RawField] {
    var fields: [RawField] = [], index = 0
    while index < bytes.count {
        let tag = readVarint(bytes, &index)
        let start = index
        switch UInt8(tag & 7) {
        case 0: _ = readVarint(bytes, &index)
        case 1: index += 8
        case 2: let length = Int(readVarint(bytes, &index)); index += length
        case 5: index += 4
        default: Issue.record("unexpected wire type in \(bytes)"); return fields
        }
        var payload = Array(bytes[start..<index])
        if tag & 7 == 2 { var at = 0; _ = readVarint(payload, &at); payload.removeFirst(at) }
        fields.append(RawField(number: tag >> 3, wireType: UInt8(tag & 7), payload: payload))
    }
    return fields
}

let varint: UInt8 = 0, i64: UInt8 = 1, len: UInt8 = 2, i32: UInt8 = 5

/// Encodes `value`, follows the single length-delimited field numbered by each element of
/// `path` (a message nested in a oneof), and expects exactly one field there.
func expectField<M: WireMessage>(_ value: M, in path: [UInt64] = [], _ number: UInt64, _ wireType: UInt8, sourceLocation: SourceLocation = #_sourceLocation) {
    var fields = rawFields(value.wire())
    for outer in path {
        guard fields.count == 1, fields[0].number == outer, fields[0].wireType == len else {
            Issue.record("expected only field \(outer) in \(fields)", sourceLocation: sourceLocation)
            return
        }
        fields = rawFields(fields[0].payload)
    }
    #expect(fields.map { [$0.number, UInt64($0.wireType)] } == [[number, UInt64(wireType)]], sourceLocation: sourceLocation)
}

/// Every field of every message, set alone, carries the number and wire type of the .proto.
@Suite("Wire field table")
struct FieldTableTests {
    @Test func common() {
        let error = { (e: ErrorReply) in TokenizeReply(reply: .error(e)) }
        expectField(error(ErrorReply(code: .internal)), in: [1], 1, varint)
        expectField(error(ErrorReply(message: "m")), in: [1], 2, len)
        expectField(error(ErrorReply(field: "f")), in: [1], 3, len)
    }

    @Test func tokenizer() {
        expectField(TokenizeRequest(version: .v1), 1, varint)
        expectField(TokenizeRequest(tokenizer: "t"), 2, len)
        expectField(TokenizeRequest(request: .encode(EncodeRequest(text: "t"))), in: [10], 1, len)
        expectField(TokenizeRequest(request: .encode(EncodeRequest(allowSpecial: true))), in: [10], 2, varint)
        expectField(TokenizeRequest(request: .encode(EncodeRequest(withOffsets: true))), in: [10], 3, varint)
        expectField(TokenizeRequest(request: .batchEncode(BatchEncodeRequest(items: [EncodeRequest()]))), in: [11], 1, len)
        expectField(TokenizeRequest(request: .decode(DecodeRequest(ids: [1]))), in: [12], 1, len)
        expectField(TokenizeRequest(request: .decode(DecodeRequest(skipSpecialTokens: true))), in: [12], 2, varint)
        expectField(TokenizeRequest(request: .count(CountRequest(texts: [""]))), in: [13], 1, len)
        expectField(TokenizeReply(reply: .error(ErrorReply())), 1, len)
        expectField(TokenizeReply(reply: .encode(EncodeReply(ids: [1]))), in: [10], 1, len)
        expectField(TokenizeReply(reply: .encode(EncodeReply(offsets: [Offsets(start: 1)]))), in: [10, 2], 1, varint)
        expectField(TokenizeReply(reply: .encode(EncodeReply(offsets: [Offsets(end: 1)]))), in: [10, 2], 2, varint)
        expectField(TokenizeReply(reply: .batchEncode(BatchEncodeReply(items: [EncodeReply()]))), in: [11], 1, len)
        expectField(TokenizeReply(reply: .decode(DecodeReply(text: "t"))), in: [12], 1, len)
        expectField(TokenizeReply(reply: .count(CountReply(counts: [1]))), in: [13], 1, len)
    }

    @Test func generationParameters() {
        let p = { (p: GenerationParameters) in GenerateRequest(parameters: p) }
        expectField(p(GenerationParameters(strategy: .sample)), in: [6], 1, varint)
        expectField(p(GenerationParameters(maxNewTokens: 1)), in: [6], 2, varint)
        expectField(p(GenerationParameters(minNewTokens: 1)), in: [6], 3, varint)
        expectField(p(GenerationParameters(temperature: 1)), in: [6], 4, i32)
        expectField(p(GenerationParameters(topK: 1)), in: [6], 5, varint)
        expectField(p(GenerationParameters(topP: 1)), in: [6], 6, i32)
        expectField(p(GenerationParameters(minP: 1)), in: [6], 7, i32)
        expectField(p(GenerationParameters(typicalP: 1)), in: [6], 8, i32)
        expectField(p(GenerationParameters(repetitionPenalty: 1)), in: [6], 9, i32)
        expectField(p(GenerationParameters(presencePenalty: 1)), in: [6], 10, i32)
        expectField(p(GenerationParameters(frequencyPenalty: 1)), in: [6], 11, i32)
        expectField(p(GenerationParameters(noRepeatNgramSize: 1)), in: [6], 12, varint)
        expectField(p(GenerationParameters(logitBias: [1: 1])), in: [6], 13, len)
        expectField(p(GenerationParameters(epsilon: 0)), in: [6], 14, i32)
        expectField(p(GenerationParameters(stop: [""])), in: [6], 15, len)
        expectField(p(GenerationParameters(n: 1)), in: [6], 16, varint)
        expectField(p(GenerationParameters(seed: 1)), in: [6], 17, varint)
        expectField(p(GenerationParameters(traceTop: 1)), in: [6], 18, varint)
        expectField(p(GenerationParameters(ignoreEos: true)), in: [6], 19, varint)
    }

    @Test func generation() {
        expectField(GenerateRequest(version: .v1), 1, varint)
        expectField(GenerateRequest(requestId: "r"), 2, len)
        expectField(GenerateRequest(model: "m"), 3, len)
        expectField(GenerateRequest(prompt: .text("")), 4, len)
        expectField(GenerateRequest(prompt: .tokens(TokenIds(ids: [1]))), in: [5], 1, len)
        expectField(GenerateRequest(parameters: GenerationParameters()), 6, len)
        expectField(GenerateRequest(queueDeadlineMs: 1), 7, varint)
        expectField(GenerateRequest(generationDeadlineMs: 1), 8, varint)
        expectField(GenerateRequest(stream: true), 9, varint)
        expectField(GeneratorCall(call: .generate(GenerateRequest())), 1, len)
        expectField(GeneratorCall(call: .cancel(CancelRequest(version: .v1))), in: [2], 1, varint)
        expectField(GeneratorCall(call: .cancel(CancelRequest(requestId: "r"))), in: [2], 2, len)
        expectField(GeneratorCall(call: .switchModel(SwitchModelRequest(version: .v1))), in: [3], 1, varint)
        expectField(GeneratorCall(call: .switchModel(SwitchModelRequest(model: "m"))), in: [3], 2, len)

        let token = { (t: TokenEvent) in GenerateEvent(event: .token(t)) }
        expectField(GenerateEvent(requestId: "r"), 2, len)
        expectField(GenerateEvent(event: .error(ErrorReply())), 1, len)
        expectField(token(TokenEvent(completion: 1)), in: [3], 1, varint)
        expectField(token(TokenEvent(token: 1)), in: [3], 2, varint)
        expectField(token(TokenEvent(tokenBytes: [0])), in: [3], 3, len)
        expectField(token(TokenEvent(text: "t")), in: [3], 4, len)
        expectField(token(TokenEvent(trace: TraceStep())), in: [3], 5, len)
        expectField(token(TokenEvent(textOnly: true)), in: [3], 6, varint)
        expectField(token(TokenEvent(trace: TraceStep(chosenText: "a"))), in: [3, 5], 7, len)
        expectField(token(TokenEvent(trace: TraceStep(candidates: [Candidate(text: "a")]))), in: [3, 5, 2], 4, len)
        expectField(token(TokenEvent(trace: TraceStep(step: 1))), in: [3, 5], 1, varint)
        expectField(token(TokenEvent(trace: TraceStep(candidates: [Candidate()]))), in: [3, 5], 2, len)
        expectField(token(TokenEvent(trace: TraceStep(candidates: [Candidate(token: 1)]))), in: [3, 5, 2], 1, varint)
        expectField(token(TokenEvent(trace: TraceStep(candidates: [Candidate(probability: 1)]))), in: [3, 5, 2], 2, i32)
        expectField(token(TokenEvent(trace: TraceStep(candidates: [Candidate(processedProbability: 1)]))), in: [3, 5, 2], 3, i32)
        expectField(token(TokenEvent(trace: TraceStep(chosen: 1))), in: [3, 5], 3, varint)
        expectField(token(TokenEvent(trace: TraceStep(chosenRank: 1))), in: [3, 5], 4, varint)
        expectField(token(TokenEvent(trace: TraceStep(chosenLogProbability: 1))), in: [3, 5], 5, i32)
        expectField(token(TokenEvent(trace: TraceStep(tookArgmax: true))), in: [3, 5], 6, varint)

        let final = { (f: GenerateFinal) in GenerateEvent(event: .final(f)) }
        expectField(final(GenerateFinal(completions: [Completion()])), in: [4], 1, len)
        expectField(final(GenerateFinal(completions: [Completion(index: 1)])), in: [4, 1], 1, varint)
        expectField(final(GenerateFinal(completions: [Completion(tokens: [1])])), in: [4, 1], 2, len)
        expectField(final(GenerateFinal(completions: [Completion(text: "t")])), in: [4, 1], 3, len)
        expectField(final(GenerateFinal(completions: [Completion(finishReason: .eos)])), in: [4, 1], 4, varint)
        expectField(final(GenerateFinal(completions: [Completion(trace: [TraceStep()])])), in: [4, 1], 5, len)
        expectField(final(GenerateFinal(promptTokens: 1)), in: [4], 2, varint)
        expectField(final(GenerateFinal(generatedTokens: 1)), in: [4], 3, varint)
        expectField(final(GenerateFinal(queueMs: 1)), in: [4], 4, varint)
        expectField(final(GenerateFinal(timeToFirstTokenMs: 1)), in: [4], 5, varint)
        expectField(final(GenerateFinal(totalMs: 1)), in: [4], 6, varint)
        expectField(final(GenerateFinal(model: "m")), in: [4], 7, len)

        let model = { (m: ModelInfo) in GenerateEvent(event: .model(m)) }
        expectField(model(ModelInfo(model: "m")), in: [5], 1, len)
        expectField(model(ModelInfo(parameters: 1)), in: [5], 2, varint)
        expectField(model(ModelInfo(context: 1)), in: [5], 3, varint)
        expectField(model(ModelInfo(vocabSize: 1)), in: [5], 4, varint)
    }

    /// Every field of PrepareSpec and TrainSpec set alone, written through the descriptor by its
    /// name: number and wire type as in jobs.proto, and no field left out of the table.
    static let prepareFields: [(String, FieldValue, UInt64, UInt8)] = [
            ("inputs", .strings([""]), 1, len),
            ("tokenizer", .string("t"), 2, len),
            ("out", .string("o"), 3, len),
            ("format", .string("f"), 4, len),
            ("field", .string("f"), 5, len),
            ("template", .string("t"), 6, len),
            ("max_length", .integer(1), 7, varint),
            ("layout", .string("l"), 8, len),
            ("val_fraction", .double(0), 9, i64),
            ("seed", .integer(1), 10, varint),
            ("dedupe", .bool(true), 11, varint),
            ("limit", .integer(1), 12, varint),
            ("fraction", .double(1), 13, i64),
            ("min_chars", .integer(1), 14, varint),
            ("max_chars", .integer(1), 15, varint),
            ("blocks", .bool(true), 16, varint),
            ("delimiter", .string("d"), 17, len),
            ("shuffle_window", .integer(1), 18, varint),
    ]

    static let trainFields: [(String, FieldValue, UInt64, UInt8)] = [
            ("model", .string("m"), 1, len),
            ("data", .string("d"), 2, len),
            ("out", .string("o"), 3, len),
            ("epochs", .integer(1), 4, varint),
            ("max_steps", .integer(1), 5, varint),
            ("batch_size", .integer(1), 6, varint),
            ("grad_accum", .integer(1), 7, varint),
            ("lr", .float(1), 8, i32),
            ("weight_decay", .float(1), 9, i32),
            ("max_grad_norm", .float(0), 10, i32),
            ("lr_schedule", .string("l"), 11, len),
            ("warmup_steps", .integer(1), 12, varint),
            ("dropout", .float(0), 13, i32),
            ("eval_every", .integer(1), 14, varint),
            ("save_total_limit", .integer(1), 15, varint),
            ("seed", .integer(1), 16, varint),
            ("no_shuffle", .bool(true), 17, varint),
            ("deploy", .bool(true), 18, varint),
            ("save_every", .integer(1), 19, varint),
            ("log_json", .string("l"), 20, len),
            ("adam_beta2", .float(0.98), 21, i32),
    ]

    @Test func prepareSpec() {
        for (name, value, number, wireType) in Self.prepareFields {
            expectField(JobSubmit(spec: .prepare(PrepareSpec(fields: [name: value]))), in: [2], number, wireType)
        }
        #expect(Set(Self.prepareFields.map(\.0)) == Set(PrepareSpec.fieldNames))
    }

    @Test func trainSpec() {
        for (name, value, number, wireType) in Self.trainFields {
            expectField(JobSubmit(spec: .train(TrainSpec(fields: [name: value]))), in: [3], number, wireType)
        }
        #expect(Set(Self.trainFields.map(\.0)) == Set(TrainSpec.fieldNames))
    }

    @Test func jobs() {
        expectField(JobSubmit(version: .v1), 1, varint)
        expectField(JobStatus(jobId: "j"), 1, len)
        expectField(JobStatus(state: .queued), 2, varint)
        expectField(JobStatus(kind: "k"), 3, len)
        expectField(JobStatus(attempts: 1), 4, varint)
        expectField(JobStatus(worker: "w"), 5, len)
        expectField(JobStatus(error: "e"), 6, len)
        expectField(JobStatus(result: "r"), 7, len)
        expectField(JobStatus(createdUnixMs: 1), 8, varint)
        expectField(JobStatus(updatedUnixMs: 1), 9, varint)
        expectField(JobStatus(retryable: true), 10, varint)
        expectField(JobProgress(jobId: "j"), 1, len)
        expectField(JobProgress(step: 1), 2, varint)
        expectField(JobProgress(totalSteps: 1), 3, varint)
        expectField(JobProgress(epoch: 1), 4, varint)
        expectField(JobProgress(loss: 1), 5, i32)
        expectField(JobProgress(tokensPerSecond: 1), 6, i64)
        expectField(JobProgress(etaSeconds: 1), 7, i64)
        expectField(JobProgress(eval: Evaluation(loss: 1)), in: [8], 1, i32)
        expectField(JobProgress(eval: Evaluation(perplexity: 1)), in: [8], 2, i32)
        expectField(JobProgress(checkpoint: "c"), 10, len)
        expectField(JobRequest(version: .v1), 1, varint)
        expectField(JobRequest(request: .submit(JobSubmit())), 2, len)
        expectField(JobRequest(request: .status("")), 3, len)
        expectField(JobRequest(request: .cancel("")), 4, len)
        expectField(JobRequest(request: .follow("")), 5, len)
        expectField(JobRequest(request: .list(false)), 6, varint)
        expectField(JobReply(reply: .error(ErrorReply())), 1, len)
        expectField(JobReply(reply: .status(JobStatus())), 2, len)
        expectField(JobReply(reply: .progress(JobProgress())), 3, len)
        expectField(JobReply(reply: .list(JobList(jobs: [JobStatus()]))), in: [4], 1, len)
        expectField(JobAssignment(version: .v1), 1, varint)
        expectField(JobAssignment(jobId: "j"), 2, len)
        expectField(JobAssignment(attempt: 1), 3, varint)
        expectField(JobAssignment(resume: true), 4, varint)
        expectField(JobAssignment(action: .run(JobSubmit())), 5, len)
        expectField(JobAssignment(action: .cancel(false)), 6, varint)
    }

    @Test func service() {
        expectField(WorkerHello(version: .v1), 1, varint)
        expectField(WorkerHello(service: "s"), 2, len)
        expectField(WorkerHello(workerId: "w"), 3, len)
        expectField(WorkerHello(host: "h"), 4, len)
        expectField(WorkerHello(capacity: 1), 5, varint)
        expectField(WorkerHello(model: "m"), 6, len)
        expectField(WorkerHello(currentJob: "j"), 7, len)
        expectField(Heartbeat(workerId: "w"), 1, len)
        expectField(Heartbeat(busy: 1), 2, varint)
        expectField(Heartbeat(jobId: "j"), 3, len)
        expectField(StatusRequest(version: .v1), 1, varint)
        expectField(StatusReply(error: ErrorReply()), 1, len)
        expectField(StatusReply(services: [WorkerStatus()]), 2, len)
        expectField(StatusReply(services: [WorkerStatus(service: "s")]), in: [2], 1, len)
        expectField(StatusReply(services: [WorkerStatus(workers: [WorkerHello()])]), in: [2], 2, len)
        expectField(StatusReply(jobs: [JobStatus()]), 3, len)
    }
}
