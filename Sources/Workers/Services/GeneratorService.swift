import Foundation
import GPT2
import Generation
import Jobs
import Kernels
import Logging
import Messaging
import Tokenizer
import Wire

public struct GeneratorOptions: Sendable {
    /// Sequences decoded together (KV-cache slots).
    public var slots = 8
    /// Requests waiting for a slot before new ones are refused with OVERLOADED.
    public var maxQueue = 32
    public var precision: WeightPrecision = .fp32
    /// Positions per slot (default: the model's context).
    public var maxLength: Int?

    public init() {}
}

/// One model in service. After a switch the old one keeps decoding its requests to the end.
final class ServedModel {
    let name: String
    /// The directory's files as loaded (names, sizes, modification times): a switch to the same
    /// name with the same files is a no-op, one rewritten in place (a job that saved into the
    /// same folder) loads it again.
    let files: [String: [Int]]
    let tokenizer: BPETokenizer
    let scheduler: BatchScheduler
    var live: [Int: LiveRequest] = [:]

    init(name: String, data: DataDirectory, options: GeneratorOptions) throws {
        let path = try data.requireExisting(name, field: "model")
        files = Self.files(in: path)
        let model = try ModelLoader.load(directory: path).model
        let tokenizer = try BPETokenizer(directory: path)
        let eos = tokenizer.eosTokenId ?? model.config.eosTokenId.flatMap { Int32(exactly: $0) }
        let generator = Generator(model: model, eosToken: eos, precision: options.precision) { tokenizer.decodeBytes([$0]) }
        self.name = name
        self.tokenizer = tokenizer
        scheduler = BatchScheduler(generator: generator, slots: options.slots, maxLength: options.maxLength)
    }

    static func files(in directory: String) -> [String: [Int]] {
        var files: [String: [Int]] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            var info = stat()
            guard stat((directory as NSString).appendingPathComponent(name), &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            files[name] = [Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
        }
        return files
    }

    func display(_ token: Int32) -> String { tokenizer.decode([token]) }

    func wireTrace(_ step: Generation.TraceStep) -> Wire.TraceStep {
        var wire = Wire.TraceStep(step)
        wire.chosenText = display(step.chosen)
        for i in wire.candidates.indices { wire.candidates[i].text = display(step.candidates[i].token) }
        return wire
    }

    func wireCompletion(_ completion: Generation.Completion) -> Wire.Completion {
        var wire = Wire.Completion(completion)
        wire.trace = completion.trace.map(wireTrace)
        return wire
    }

    var vocabularySize: Int { scheduler.generator.model.config.vocabSize }

    var info: ModelInfo {
        let config = scheduler.generator.model.config
        return ModelInfo(model: name, parameters: UInt64(scheduler.generator.model.parameters.layout.totalCount),
                         context: UInt32(config.nPositions), vocabSize: UInt32(config.vocabSize))
    }
}

final class LiveRequest {
    let client: [UInt8]
    let requestId: String
    let stream: Bool
    let n: Int
    let promptTokens: Int
    let received = DispatchTime.now()
    let queueDeadline: DispatchTime?
    let generationLimit: UInt64?
    /// When the step that admitted it began (its queueing ends there).
    var started: DispatchTime?
    var firstToken: DispatchTime?
    var completions: [Generation.Completion] = []

    init(client: [UInt8], request: GenerateRequest, n: Int, promptTokens: Int) {
        self.client = client
        requestId = request.requestId
        stream = request.stream
        self.n = n
        self.promptTokens = promptTokens
        queueDeadline = request.queueDeadlineMs > 0 ? .now() + .milliseconds(Int(request.queueDeadlineMs)) : nil
        generationLimit = request.generationDeadlineMs > 0 ? UInt64(request.generationDeadlineMs) * 1_000_000 : nil
    }
}

/// Service "generate": requests join the running batch at the next step (continuous batching),
/// stream their tokens, can be cancelled or time out, and the model can be switched without
/// dropping anything in flight. Single-threaded: the owner's loop calls `handle` for each
/// incoming message and `step` while `hasWork`.
public final class GeneratorService {
    public struct Reply {
        public let client: [UInt8]
        public let body: [UInt8]
        public let final: Bool
    }

    let data: DataDirectory
    let options: GeneratorOptions
    let logger: Logger
    var current: ServedModel
    var retiring: [ServedModel] = []
    var stepStarted = DispatchTime.now()
    /// Stopping: requests in flight finish, new ones are refused.
    public var draining = false

    public init(data: DataDirectory, model: String, options: GeneratorOptions, logger: Logger) throws {
        self.data = data
        self.options = options
        self.logger = logger
        current = try ServedModel(name: model, data: data, options: options)
    }

    public var modelName: String { current.name }
    public var capacity: Int { options.slots + options.maxQueue }
    var models: [ServedModel] { [current] + retiring }
    /// Models that may still be finishing their requests after switches (each holds its weights).
    static let maxRetiringModels = 2
    public var inFlight: Int { models.reduce(0) { $0 + $1.live.count } }
    public var hasWork: Bool { models.contains { !$0.scheduler.isIdle } }

    static func event(_ requestId: String, _ event: GenerateEvent.Event?) -> [UInt8] {
        GenerateEvent(event: event, requestId: requestId).wire()
    }

    static func error(_ client: [UInt8], _ requestId: String, _ code: ErrorCode, _ message: String, field: String = "") -> Reply {
        Reply(client: client, body: event(requestId, .error(ErrorReply(code: code, message: message, field: field))), final: true)
    }

    /// One incoming message; returns what to send at once. `direct`: from a client of the
    /// generator's own endpoint, where this service (not the coordinator) answers cancels.
    public func handle(client: [UInt8], body: [UInt8], direct: Bool = false) -> [Reply] {
        guard body.count <= GenerateRequest.maxBodyBytes else {
            return [Self.error(client, "", .tooLarge, "the request has \(body.count) bytes; a generate request has at most \(GenerateRequest.maxBodyBytes)")]
        }
        let call: GeneratorCall
        do { call = try GeneratorCall(wire: body) } catch {
            return [Self.error(client, "", .malformed, "the request is not a GeneratorCall: \(error)")]
        }
        switch call.call {
        case let .generate(request): return [submit(client: client, request)].compactMap { $0 }
        case let .cancel(cancel) where direct:
            guard !cancel.requestId.isEmpty else {
                return [Self.error(client, "", .invalidArgument, "name the request to cancel", field: "request_id")]
            }
            // Only requests of this endpoint's own clients: those that came through the
            // coordinator are the coordinator's to cancel.
            let replies = self.cancel(client: nil, requestId: cancel.requestId, directOnly: true)
            guard !replies.isEmpty else {
                return [Self.error(client, cancel.requestId, .notFound, "no request '\(cancel.requestId)' is queued or decoding", field: "request_id")]
            }
            return replies + [Reply(client: client, body: Self.event(cancel.requestId, nil), final: true)]
        case let .cancel(cancel): return self.cancel(client: client, requestId: cancel.requestId)
        case .switchModel where direct:
            return [Self.error(client, "", .permissionDenied, "the direct endpoint cannot switch models; an admin does it through the coordinator")]
        case let .switchModel(request): return [switchModel(client: client, request)]
        case nil: return [Self.error(client, "", .invalidArgument, "the call names no request (generate, cancel or switch_model)", field: "call")]
        }
    }

    func submit(client: [UInt8], _ request: GenerateRequest) -> Reply? {
        let id = request.requestId
        guard request.version == .v1 else {
            return Self.error(client, id, .badVersion, "protocol version \(request.version.rawValue) is not supported (this service speaks 1)")
        }
        if !request.model.isEmpty && request.model != current.name {
            return Self.error(client, id, .notFound, "this generator serves '\(current.name)', not '\(request.model)'", field: "model")
        }
        if draining {
            return Self.error(client, id, .overloaded, "this generator is stopping; retry (another generator will take it)")
        }
        guard inFlight < capacity else {
            return Self.error(client, id, .overloaded, "\(inFlight) requests in flight (\(options.slots) decoding, \(options.maxQueue) waiting at most); retry later")
        }
        let prompt: [Int32]
        switch request.prompt {
        case let .text(text): prompt = current.tokenizer.encode(text)
        case let .tokens(tokens):
            // Checked here, unsigned as sent: a truncated id would be reported as another number.
            if let bad = tokens.ids.first(where: { Int($0) >= current.vocabularySize }) {
                return Self.error(client, id, .invalidArgument, "token id \(bad) is outside the vocabulary (size \(current.vocabularySize))", field: "prompt")
            }
            prompt = tokens.ids.map { Int32($0) }
        case nil: return Self.error(client, id, .invalidArgument, "the request has no prompt", field: "prompt")
        }
        if let bad = request.parameters?.logitBias.keys.first(where: { Int($0) >= current.vocabularySize }) {
            return Self.error(client, id, .invalidArgument, "token id \(bad) is outside the vocabulary (size \(current.vocabularySize))", field: "logit_bias")
        }
        let parameters = Generation.GenerationParameters(wire: request.parameters)
        let schedulerId: Int
        do {
            schedulerId = try current.scheduler.submit(GenerationRequest(prompt: prompt, parameters: parameters))
        } catch {
            if case let .invalidParameter(name, reason) = error {
                return Self.error(client, id, .invalidArgument, "invalid \(name): \(reason)", field: name)
            }
            return Self.error(client, id, .internal, error.description)
        }
        current.live[schedulerId] = LiveRequest(client: client, request: request, n: parameters.n, promptTokens: prompt.count)
        return nil
    }

    /// Cancels a client's request (all of its requests when `requestId` is empty; with no
    /// client, the request with that id whoever sent it, or, `directOnly`, whichever direct
    /// client sent it).
    public func cancel(client: [UInt8]?, requestId: String, directOnly: Bool = false) -> [Reply] {
        var replies: [Reply] = []
        for served in models {
            for (id, live) in served.live where (client == nil || live.client == client) && (requestId.isEmpty || live.requestId == requestId)
                && (!directOnly || live.client.first == GeneratorMain.fromDirect) {
                served.scheduler.cancel(id) { replies += self.handleEvent($0, served) }
                if served.live[id] != nil {
                    // It was still waiting: it never started.
                    served.live[id] = nil
                    replies.append(Self.error(live.client, live.requestId, .cancelled, "cancelled before it started"))
                }
                logger.info("cancelled request '\(live.requestId)'")
            }
        }
        return replies
    }

    func switchModel(client: [UInt8], _ request: SwitchModelRequest) -> Reply {
        guard request.version == .v1 else {
            return Self.error(client, "", .badVersion, "protocol version \(request.version.rawValue) is not supported (this service speaks 1)")
        }
        // The model already served, unchanged: nothing to load (ten such switches used to keep
        // ten copies).
        if request.model == current.name, let path = try? data.requireExisting(request.model, field: "model"),
           ServedModel.files(in: path) == current.files {
            logger.info("already serving '\(LogLimits.quote(current.name))'; nothing to switch")
            return Reply(client: client, body: Self.event("", .model(current.info)), final: true)
        }
        // Each model finishing its requests holds its weights: a bounded number may.
        if !current.live.isEmpty && retiring.count >= Self.maxRetiringModels {
            return Self.error(client, "", .overloaded, "\(retiring.count) earlier models are still finishing their requests; switch again when they are done")
        }
        let loaded: ServedModel
        do { loaded = try ServedModel(name: request.model, data: data, options: options) } catch let error as JobSpecError {
            return Self.error(client, "", .notFound, error.message, field: "model")
        } catch {
            return Self.error(client, "", .invalidArgument, "\(request.model): \(error)", field: "model")
        }
        if !current.live.isEmpty { retiring.append(current) }
        logger.info("now serving '\(loaded.name)' (\(current.live.count) request(s) finish on '\(current.name)')")
        current = loaded
        return Reply(client: client, body: Self.event("", .model(loaded.info)), final: true)
    }

    /// Deadlines, then one decoding step of every model with work; returns the events.
    public func step() -> [Reply] {
        var replies: [Reply] = []
        let now = DispatchTime.now()
        for served in models {
            let active = served.scheduler.activeRequests
            for (id, live) in served.live {
                if !active.contains(id), live.firstToken == nil, let deadline = live.queueDeadline, now > deadline {
                    served.scheduler.cancel(id)
                    served.live[id] = nil
                    replies.append(Self.error(live.client, live.requestId, .deadlineExceeded, "not started within the queue deadline"))
                } else if let first = live.firstToken, let limit = live.generationLimit, now.uptimeNanoseconds - first.uptimeNanoseconds > limit {
                    served.scheduler.cancel(id, reason: .deadline) { replies += self.handleEvent($0, served) }
                }
            }
            guard !served.scheduler.isIdle else { continue }
            stepStarted = .now()
            do {
                try served.scheduler.step { replies += self.handleEvent($0, served) }
            } catch {
                logger.error("decoding failed: \(error)")
                for (id, live) in served.live {
                    served.scheduler.cancel(id)
                    replies.append(Self.error(live.client, live.requestId, .internal, "decoding failed: \(error)"))
                }
                served.live = [:]
            }
        }
        retiring.removeAll { $0.live.isEmpty && $0.scheduler.isIdle }
        return replies
    }

    func handleEvent(_ event: GenerationEvent, _ served: ServedModel) -> [Reply] {
        switch event {
        case let .token(token):
            guard let live = served.live[token.request] else { return [] }
            if live.firstToken == nil { (live.started, live.firstToken) = (stepStarted, .now()) }
            guard live.stream, token.token >= 0 || !token.text.isEmpty else { return [] }
            let wire = Wire.TokenEvent(completion: UInt32(token.index), token: token.token >= 0 ? UInt32(token.token) : 0,
                                       tokenBytes: token.bytes, text: token.text, trace: token.trace.map { served.wireTrace($0) },
                                       textOnly: token.token < 0)
            return [Reply(client: live.client, body: Self.event(live.requestId, .token(wire)), final: false)]
        case let .finished(completion):
            guard let live = served.live[completion.request] else { return [] }
            live.completions.append(completion)
            guard live.completions.count == live.n else { return [] }
            served.live[completion.request] = nil
            let end = DispatchTime.now()
            func ms(_ a: DispatchTime, _ b: DispatchTime) -> UInt32 { UInt32(clamping: (b.uptimeNanoseconds - a.uptimeNanoseconds) / 1_000_000) }
            let completions = live.completions.sorted { $0.index < $1.index }
            let final = GenerateFinal(completions: completions.map { served.wireCompletion($0) }, promptTokens: UInt32(live.promptTokens),
                                      generatedTokens: UInt32(completions.reduce(0) { $0 + $1.tokens.count }),
                                      queueMs: live.started.map { ms(live.received, $0) } ?? 0, timeToFirstTokenMs: live.firstToken.map { ms(live.received, $0) } ?? 0,
                                      totalMs: ms(live.received, end), model: served.name)
            return [Reply(client: live.client, body: Self.event(live.requestId, .final(final)), final: true)]
        }
    }
}
