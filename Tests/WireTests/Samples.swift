import Wire

/// Fully populated values: every field away from its default, every oneof case at least once,
/// so a field the Swift side forgets to copy shows up as an inequality after a round trip.
enum Samples {
    static let unicode = "¿Qué tal? 你好 👋🏽 <|endoftext|>"
    static let error = ErrorReply(code: .invalidArgument, message: "temperature must be ≥ 0", field: "parameters.temperature")

    static let encode = EncodeRequest(text: unicode, allowSpecial: true, withOffsets: true)
    static let encodeReply = EncodeReply(ids: [0, 1, 50_256, UInt32.max], offsets: [Offsets(start: 0, end: 3), Offsets(start: 3, end: UInt32.max)])

    static let tokenizeRequests: [TokenizeRequest] = [
        TokenizeRequest(version: .v1, tokenizer: "models/gpt2-ñ", request: .encode(encode)),
        TokenizeRequest(version: .v1, tokenizer: "m", request: .batchEncode(BatchEncodeRequest(items: [encode, EncodeRequest(), EncodeRequest(text: "b")]))),
        TokenizeRequest(version: .v1, tokenizer: "m", request: .batchEncode(BatchEncodeRequest(items: []))),
        TokenizeRequest(version: .v1, tokenizer: "m", request: .decode(DecodeRequest(ids: [15_496, 995, 0], skipSpecialTokens: true))),
        TokenizeRequest(version: .v1, tokenizer: "m", request: .count(CountRequest(texts: [unicode, "", "x"]))),
        TokenizeRequest(version: .v1, tokenizer: "m", request: nil),
    ]

    static let tokenizeReplies: [TokenizeReply] = [
        TokenizeReply(reply: .error(error)),
        TokenizeReply(reply: .encode(encodeReply)),
        TokenizeReply(reply: .batchEncode(BatchEncodeReply(items: [encodeReply, EncodeReply(), EncodeReply(ids: [7])]))),
        TokenizeReply(reply: .decode(DecodeReply(text: unicode))),
        TokenizeReply(reply: .count(CountReply(counts: [3, 0, UInt32.max]))),
        TokenizeReply(reply: nil),
    ]

    static let parameters = GenerationParameters(
        strategy: .epsilonGreedy, maxNewTokens: 64, minNewTokens: 2, temperature: 0.7, topK: 40, topP: 0.9, minP: 0.05,
        typicalP: 0.95, repetitionPenalty: 1.3, presencePenalty: -0.5, frequencyPenalty: 0.25, noRepeatNgramSize: 3,
        logitBias: [50_256: -100, 0: 0, 198: 2.5, UInt32.max: 1], epsilon: 0, stop: ["\n\n", unicode, ""], n: 4,
        seed: UInt64.max, traceTop: 5, ignoreEos: true)

    static let generateRequests: [GenerateRequest] = [
        GenerateRequest(
            version: .v1, requestId: "req-1", model: "models/ñ", prompt: .text(unicode), parameters: parameters,
            queueDeadlineMs: 1_000, generationDeadlineMs: 30_000, stream: true),
        GenerateRequest(
            version: .v1, requestId: "req-2", model: "m", prompt: .tokens(TokenIds(ids: [1, 2, UInt32.max])),
            parameters: GenerationParameters(strategy: .sample, epsilon: 0.25), stream: false),
        GenerateRequest(version: .v1, requestId: "req-3", prompt: .tokens(TokenIds(ids: [])), parameters: nil),
        GenerateRequest(version: .v1, requestId: "req-4", prompt: .text(""), parameters: GenerationParameters()),
    ]

    static let trace = TraceStep(
        step: 3, candidates: [Candidate(token: 11, probability: 0.5, processedProbability: 0.75, text: " había"), Candidate(token: 12, probability: 0.25, processedProbability: 0.125)],
        chosen: 12, chosenRank: 1, chosenLogProbability: -2.0794415, tookArgmax: true, chosenText: "¿")

    static let final = GenerateFinal(
        completions: [
            Completion(index: 0, tokens: [1, 2, 3], text: unicode, finishReason: .stop, trace: [trace, TraceStep()]),
            Completion(index: 1, tokens: [], text: "", finishReason: .deadline, trace: []),
        ],
        promptTokens: 12, generatedTokens: 34, queueMs: 5, timeToFirstTokenMs: 40, totalMs: 900, model: "models/gpt2")

    static let generateEvents: [GenerateEvent] = [
        GenerateEvent(event: .error(error), requestId: "req-1"),
        GenerateEvent(event: .token(TokenEvent(completion: 1, token: 50_255, tokenBytes: [0xE2, 0x82, 0x00, 0xFF], text: unicode, trace: trace)), requestId: "req-1"),
        GenerateEvent(event: .token(TokenEvent(completion: 0, token: 7, tokenBytes: [], text: "", trace: nil)), requestId: "r"),
        GenerateEvent(event: .token(TokenEvent(completion: 2, text: "¡fin", textOnly: true)), requestId: "r"),
        GenerateEvent(event: .final(final), requestId: "req-1"),
        GenerateEvent(event: .model(ModelInfo(model: "job:abc", parameters: 124_439_808, context: 1_024, vocabSize: 50_257)), requestId: "sw"),
        GenerateEvent(event: nil, requestId: "req-9"),
    ]

    static let cancel = CancelRequest(version: .v1, requestId: "req-1 ✂︎")
    static let switchModel = SwitchModelRequest(version: .v1, model: "job:4f2a")

    static let generatorCalls: [GeneratorCall] = generateRequests.map { GeneratorCall(call: .generate($0)) } + [
        GeneratorCall(call: .cancel(cancel)),
        GeneratorCall(call: .switchModel(switchModel)),
        GeneratorCall(call: nil),
    ]

    static let prepare = PrepareSpec(fields: ["inputs": .strings(["corpus/a.jsonl", "corpus/b ñ.csv"]), "tokenizer": .string("models/gpt2"), "out": .string("data/out"), "format": .string("jsonl"), "field": .string("text"), "template": .string("{{title}}: {{body}}"), "max_length": .integer(256), "layout": .string("pad"), "val_fraction": .double(0), "seed": .integer(UInt64.max - 1), "dedupe": .bool(true), "limit": .integer(1_000), "fraction": .double(0.5), "min_chars": .integer(10), "max_chars": .integer(10_000), "blocks": .bool(true), "delimiter": .string("\n---\n"), "shuffle_window": .integer(4_096)])

    static let train = TrainSpec(fields: ["model": .string("init:tiny"), "data": .string("data/out"), "out": .string("runs/1"), "epochs": .integer(3), "max_steps": .integer(1_000), "batch_size": .integer(8), "grad_accum": .integer(4), "lr": .float(3e-4), "weight_decay": .float(0.01), "max_grad_norm": .float(0), "lr_schedule": .string("cosine"), "warmup_steps": .integer(100), "dropout": .float(0.1), "eval_every": .integer(50), "save_total_limit": .integer(2), "seed": .integer(1 << 63), "no_shuffle": .bool(true), "deploy": .bool(true), "save_every": .integer(200)])

    static let submits: [JobSubmit] = [
        JobSubmit(version: .v1, spec: .prepare(prepare)),
        JobSubmit(version: .v1, spec: .train(train)),
        JobSubmit(version: .v1, spec: .prepare(PrepareSpec())),
        JobSubmit(version: .v1, spec: .train(TrainSpec(fields: ["max_grad_norm": .float(1.5)]))),
        JobSubmit(version: .v1, spec: nil),
    ]

    static let status = JobStatus(
        jobId: "job-1", state: .running, kind: "train", attempts: 2, worker: "w-ñ", error: "none yet", result: "runs/1/best",
        createdUnixMs: UInt64.max, updatedUnixMs: 1_700_000_000_000, retryable: true)

    static let statuses: [JobStatus] = JobState.allCases.map { state in
        var copy = status
        copy.state = state
        return copy
    }

    static let progresses: [JobProgress] = [
        JobProgress(jobId: "job-1", step: 10, totalSteps: 100, epoch: 1, loss: 2.5, tokensPerSecond: 12_345.5, etaSeconds: 61.25, eval: Evaluation(loss: 2.4, perplexity: 11.02), checkpoint: "runs/1/step-10"),
        JobProgress(jobId: "job-1", step: 11, totalSteps: 100, epoch: 1, loss: 2.4, tokensPerSecond: 1, etaSeconds: 2, eval: nil, checkpoint: ""),
        JobProgress(jobId: "job-1", eval: Evaluation()),
    ]

    static let jobRequests: [JobRequest] = submits.map { JobRequest(version: .v1, request: .submit($0)) } + [
        JobRequest(version: .v1, request: .status("job-1")),
        JobRequest(version: .v1, request: .cancel("job-ñ")),
        JobRequest(version: .v1, request: .follow("")),
        JobRequest(version: .v1, request: .list(true)),
        JobRequest(version: .v1, request: .list(false)),
        JobRequest(version: .v1, request: nil),
    ]

    static let jobReplies: [JobReply] = [
        JobReply(reply: .error(error)),
        JobReply(reply: .status(status)),
        JobReply(reply: .progress(progresses[0])),
        JobReply(reply: .list(JobList(jobs: statuses))),
        JobReply(reply: .list(JobList(jobs: []))),
        JobReply(reply: nil),
    ]

    static let assignments: [JobAssignment] = [
        JobAssignment(version: .v1, jobId: "job-1", attempt: 3, resume: true, action: .run(submits[1])),
        JobAssignment(version: .v1, jobId: "job-2", attempt: 1, resume: false, action: .run(submits[0])),
        JobAssignment(version: .v1, jobId: "job-1", attempt: 3, resume: true, action: .cancel(true)),
        JobAssignment(version: .v1, jobId: "job-1", attempt: 3, resume: true, action: .cancel(false)),
        JobAssignment(version: .v1, jobId: "job-1", action: nil),
    ]

    static let hello = WorkerHello(version: .v1, service: "generate", workerId: "w-1", host: "hôte-1", capacity: 8, model: "models/gpt2", currentJob: "job-7")
    static let heartbeat = Heartbeat(workerId: "w-1", busy: 3, jobId: "job-7")

    static let statusReplies: [StatusReply] = [
        StatusReply(
            error: error,
            services: [WorkerStatus(service: "generate", workers: [hello, WorkerHello(service: "generate")]), WorkerStatus(service: "train", workers: [])],
            jobs: statuses),
        StatusReply(error: nil, services: [WorkerStatus(service: "tokenize", workers: [hello])], jobs: []),
        StatusReply(error: ErrorReply(), services: [], jobs: [status]),
    ]
}
