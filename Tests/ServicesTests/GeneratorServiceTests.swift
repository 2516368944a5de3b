import Foundation
import JobSpecs
import GPT2
import Generation
import Messaging
import Services
import Synchronization
import Testing
import Tokenizer
import Wire

/// The generator service between real processes: concurrent streams, cancellation, deadlines,
/// overload, hot swap, bad input.
@Suite("Services: generator", .serialized)
struct GeneratorServiceTests {
    static func system(generatorArguments: [String] = [], coordinatorArguments: [String] = [], slow: Bool = false) throws -> LiveSystem {
        let system = try LiveSystem(coordinatorArguments: coordinatorArguments)
        try system.addModel("tiny-safetensors", as: "tiny")
        if slow { try system.addSlowModel(as: "slow") }
        try system.startCoordinator()
        try system.startWorker("generator", "cuentista-generator", ["--model", slow ? "models/slow" : "models/tiny"] + generatorArguments)
        try system.waitForWorkers("generate", count: 1)
        return system
    }

    static func parameters(_ configure: (inout Wire.GenerationParameters) -> Void) -> Wire.GenerationParameters {
        var p = Wire.GenerationParameters()
        configure(&p)
        return p
    }

    /// What the library gives for the same request in-process.
    static func local(_ directory: String, _ prompt: String, _ parameters: Wire.GenerationParameters) throws -> [Generation.Completion] {
        let model = try ModelLoader.load(directory: directory).model
        let tokenizer = try BPETokenizer(directory: directory)
        let generator = Generator(model: model, eosToken: tokenizer.eosTokenId) { tokenizer.decodeBytes([$0]) }
        return try generator.run([GenerationRequest(prompt: tokenizer.encode(prompt), parameters: Generation.GenerationParameters(wire: parameters))])[0]
    }

    @Test("concurrent clients get the streams and finals they would get alone (greedy, seeded sampling, epsilon, n, stop, trace)")
    func concurrentStreams() throws {
        let system = try Self.system(generatorArguments: ["--max-batch", "6"])
        let cases: [(String, Wire.GenerationParameters)] = [
            ("Había una vez", Self.parameters { $0.maxNewTokens = 40 }),
            ("El producto", Self.parameters { $0.strategy = .sample; $0.seed = 7; $0.maxNewTokens = 50; $0.temperature = 0.8 }),
            ("Había una vez", Self.parameters { $0.strategy = .epsilonGreedy; $0.epsilon = 0.5; $0.seed = 3; $0.maxNewTokens = 30; $0.traceTop = 3 }),
            ("Un cuento", Self.parameters { $0.strategy = .sample; $0.seed = 9; $0.n = 2; $0.maxNewTokens = 25; $0.topK = 20 }),
            ("La casa", Self.parameters { $0.strategy = .sample; $0.seed = 1; $0.maxNewTokens = 60; $0.stop = ["a"] }),
            ("Dos", Self.parameters { $0.maxNewTokens = 70; $0.ignoreEos = true; $0.repetitionPenalty = 1.3 }),
        ]
        let results = Mutex<[Int: (tokens: [Wire.TokenEvent], final: GenerateEvent)]>([:])
        let group = DispatchGroup()
        let (context, endpoint) = (system.context, system.endpoint)
        for (i, (prompt, parameters)) in cases.enumerated() {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                let request = GenerateRequest(version: .v1, requestId: "r\(i)", prompt: .text(prompt), parameters: parameters, stream: true)
                if let result = try? LiveSystem.generate(request, context: context, endpoint: endpoint) { results.withLock { $0[i] = result } }
            }
        }
        group.wait()
        let collected = results.withLock { $0 }
        for (i, (prompt, parameters)) in cases.enumerated() {
            let result = try #require(collected[i], "request \(i) got no reply")
            guard case let .final(final) = result.final.event else { Issue.record("request \(i): \(result.final)"); continue }
            #expect(result.final.requestId == "r\(i)")
            let expected = try Self.local("\(system.data)/models/tiny", prompt, parameters)
            #expect(final.completions.map { $0.tokens.map { Int32(bitPattern: $0) } } == expected.map(\.tokens), "request \(i)")
            #expect(final.completions.map(\.text) == expected.map(\.text))
            #expect(final.completions.map { Generation.FinishReason(wire: $0.finishReason) } == expected.map(\.finishReason))
            #expect(final.model == "models/tiny")
            for completion in final.completions {
                // The streamed deltas add up to the completion's text: nothing leaked, nothing lost.
                let streamed = result.tokens.filter { $0.completion == completion.index }.map(\.text).joined()
                #expect(streamed == completion.text, "request \(i) completion \(completion.index)")
            }
            if parameters.traceTop > 0 {
                let traced = result.tokens.compactMap(\.trace)
                #expect(traced.count == expected[0].trace.count)
                #expect(traced.map { $0.candidates.count } .allSatisfy { $0 == 3 })
                #expect(traced.map(Generation.TraceStep.init) == expected[0].trace)
                #expect(traced.allSatisfy { !$0.chosenText.isEmpty })
            }
        }
        #expect(system.stop("generator") == 0)
    }

    @Test("cancel by id ends the stream within a step; an unknown id is NOT_FOUND; a vanished client's request is cancelled")
    func cancelAndVanish() throws {
        let direct = "tcp://127.0.0.1:\(LiveSystem.freePort())"
        let system = try Self.system(generatorArguments: ["--bind", direct], slow: true)
        let long = Self.parameters { $0.maxNewTokens = 1000; $0.ignoreEos = true }
        let streaming = try MajordomoClient(context: system.context, endpoint: system.endpoint)
        try streaming.send(service: "generate", body: GeneratorCall(call: .generate(GenerateRequest(version: .v1, requestId: "long", prompt: .text("Había"), parameters: long, stream: true))).wire())
        for _ in 0..<3 { _ = try #require(try streaming.receive(timeoutMilliseconds: 10_000)) }
        // Another ordinary client cannot cancel it (not its request): as if it did not exist.
        let stranger = try MajordomoClient(context: system.context, endpoint: system.endpoint)
        let denied = try GenerateEvent(wire: stranger.request(service: "generate", body: GeneratorCall(call: .cancel(CancelRequest(version: .v1, requestId: "long"))).wire()))
        guard case let .error(notYours) = denied.event else { Issue.record("\(denied)"); return }
        #expect(notYours.code == .notFound)
        // The operator can.
        let canceller = try MajordomoClient(context: system.context, endpoint: system.adminEndpoint)
        let sent = Date()
        let ack = try canceller.request(service: "generate", body: GeneratorCall(call: .cancel(CancelRequest(version: .v1, requestId: "long"))).wire())
        #expect(try GenerateEvent(wire: ack) == GenerateEvent(requestId: "long"))
        var final: GenerateFinal?
        while final == nil, let reply = try streaming.receive(timeoutMilliseconds: 5000) {
            if case let .final(f) = try GenerateEvent(wire: reply.body).event { final = f }
        }
        #expect(Date().timeIntervalSince(sent) < 2)
        let completion = try #require(final?.completions.first)
        #expect(completion.finishReason == .cancelled)
        #expect(completion.tokens.count > 2 && completion.tokens.count < 1000)

        let unknown = try GenerateEvent(wire: canceller.request(service: "generate", body: GeneratorCall(call: .cancel(CancelRequest(version: .v1, requestId: "nope"))).wire()))
        guard case let .error(error) = unknown.event else { Issue.record("no error for an unknown id"); return }
        #expect(error.code == .notFound)

        // A client that disappears mid-stream: its request stops (the coordinator sees the
        // client gone when it forwards the next token).
        let vanishing = try MajordomoClient(context: system.context, endpoint: system.endpoint)
        try vanishing.send(service: "generate", body: GeneratorCall(call: .generate(GenerateRequest(version: .v1, requestId: "gone", prompt: .text("Había"), parameters: long, stream: true))).wire())
        _ = try #require(try vanishing.receive(timeoutMilliseconds: 10_000))
        try vanishing.reconnect()  // the old connection closes
        let deadline = Date().addingTimeInterval(10)
        while !system.log("generator").contains("cancelled request 'gone'") && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(system.log("generator").contains("cancelled request 'gone'"))
        let after = try system.generate(GenerateRequest(version: .v1, requestId: "after", prompt: .text("Había"), parameters: Self.parameters { $0.maxNewTokens = 5 }))
        guard case .final = after.final.event else { Issue.record("the service stopped serving: \(after.final)"); return }

        // On the generator's own endpoint the generator answers cancels itself.
        let directStream = try MajordomoClient(context: system.context, endpoint: direct)
        try directStream.send(service: "generate", body: GeneratorCall(call: .generate(GenerateRequest(version: .v1, requestId: "d-long", prompt: .text("Había"), parameters: long, stream: true))).wire())
        _ = try #require(try directStream.receive(timeoutMilliseconds: 10_000))
        let directCanceller = try MajordomoClient(context: system.context, endpoint: direct)
        let directAck = try GenerateEvent(wire: directCanceller.request(service: "generate", body: GeneratorCall(call: .cancel(CancelRequest(version: .v1, requestId: "d-long"))).wire(), timeoutMilliseconds: 5000))
        #expect(directAck == GenerateEvent(requestId: "d-long"))
        var directFinal: GenerateFinal?
        while directFinal == nil, let reply = try directStream.receive(timeoutMilliseconds: 5000) {
            if case let .final(f) = try GenerateEvent(wire: reply.body).event { directFinal = f }
        }
        #expect(directFinal?.completions.first?.finishReason == .cancelled)
        let directUnknown = try GenerateEvent(wire: directCanceller.request(service: "generate", body: GeneratorCall(call: .cancel(CancelRequest(version: .v1, requestId: "none"))).wire(), timeoutMilliseconds: 5000))
        guard case let .error(missing) = directUnknown.event else { Issue.record("\(directUnknown)"); return }
        #expect(missing.code == .notFound)
    }

    @Test("deadlines: generation ends with DEADLINE; a request that cannot start in time gets DEADLINE_EXCEEDED")
    func deadlines() throws {
        let system = try Self.system(generatorArguments: ["--max-batch", "1"], slow: true)
        let long = Self.parameters { $0.maxNewTokens = 1000; $0.ignoreEos = true }
        let first = try MajordomoClient(context: system.context, endpoint: system.endpoint)
        try first.send(service: "generate", body: GeneratorCall(call: .generate(GenerateRequest(version: .v1, requestId: "a", prompt: .text("Había"),
                                                                                                  parameters: long, generationDeadlineMs: 1500))).wire())
        Thread.sleep(forTimeInterval: 0.2)
        let waiting = try system.generate(GenerateRequest(version: .v1, requestId: "b", prompt: .text("Había"), parameters: long, queueDeadlineMs: 300))
        guard case let .error(error) = waiting.final.event else { Issue.record("expected DEADLINE_EXCEEDED: \(waiting.final)"); return }
        #expect(error.code == .deadlineExceeded)
        let reply = try #require(try first.receive(timeoutMilliseconds: 10_000))
        guard case let .final(final) = try GenerateEvent(wire: reply.body).event else { Issue.record("no final"); return }
        #expect(final.completions[0].finishReason == .deadline)
        #expect(final.totalMs >= 1400 && final.totalMs < 4000, "\(final.totalMs) ms")
    }

    @Test("100 clients at once against a full service: OVERLOADED at once for the excess, answers for all, memory bounded, still serving")
    func overload() throws {
        let system = try Self.system(generatorArguments: ["--max-batch", "2", "--max-queue", "2"], coordinatorArguments: ["--max-queued-requests", "4"], slow: true)
        // Eight long requests fill everything: 2 decoding, 2 queued in the generator, 4 in the coordinator.
        let long = Self.parameters { $0.maxNewTokens = 1000; $0.ignoreEos = true }
        let holders = try (0..<8).map { i -> MajordomoClient in
            let client = try MajordomoClient(context: system.context, endpoint: system.endpoint)
            try client.send(service: "generate", body: GeneratorCall(call: .generate(GenerateRequest(version: .v1, requestId: "long\(i)", prompt: .text("Había"), parameters: long))).wire())
            return client
        }
        Thread.sleep(forTimeInterval: 1)
        let rssBefore = system.residentBytes("generator")
        let outcomes = Mutex<[String]>([])
        let refusalTimes = Mutex<[Double]>([])
        let group = DispatchGroup()
        // Connected first, then released together.
        let clients = try (0..<92).map { _ in ClientBox(try MajordomoClient(context: system.context, endpoint: system.endpoint)) }
        Thread.sleep(forTimeInterval: 0.5)
        let go = DispatchSemaphore(value: 0)
        for (i, box) in clients.enumerated() {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                let request = GenerateRequest(version: .v1, requestId: "c\(i)", prompt: .text("Había una vez"), parameters: Self.parameters { $0.maxNewTokens = 5 })
                go.wait()
                let sent = Date()
                var outcome = "no reply"
                if (try? box.client.send(service: "generate", body: GeneratorCall(call: .generate(request)).wire())) != nil,
                   let reply = try? box.client.receive(timeoutMilliseconds: 60_000), let event = try? GenerateEvent(wire: reply.body) {
                    switch event.event {
                    case .final: outcome = "ok"
                    case let .error(error):
                        outcome = "\(error.code)"
                        refusalTimes.withLock { $0.append(Date().timeIntervalSince(sent)) }
                    default: outcome = "other"
                    }
                }
                outcomes.withLock { $0.append(outcome) }
            }
        }
        for _ in clients { go.signal() }
        group.wait()
        let counts = Dictionary(grouping: outcomes.withLock { $0 }, by: { $0 }).mapValues(\.count)
        #expect(counts == ["overloaded": 92], "\(counts)")
        // Refused requests cost the generator nothing that stays: memory bounded.
        let growth = system.residentBytes("generator") - rssBefore
        #expect(growth < 32 << 20, "the generator grew by \(growth >> 20) MB during the burst")
        let refusals = refusalTimes.withLock { $0 }.sorted()
        #expect(!refusals.isEmpty && refusals[refusals.count / 2] < 1.0, "median refusal after \(refusals.isEmpty ? -1 : refusals[refusals.count / 2]) s")
        // The long requests end on cancel; each gets its answer.
        let canceller = try MajordomoClient(context: system.context, endpoint: system.adminEndpoint)
        for i in 0..<8 {
            _ = try canceller.request(service: "generate", body: GeneratorCall(call: .cancel(CancelRequest(version: .v1, requestId: "long\(i)"))).wire())
        }
        for (i, holder) in holders.enumerated() {
            let reply = try #require(try holder.receive(timeoutMilliseconds: 30_000), "long\(i) got no answer")
            let event = try GenerateEvent(wire: reply.body)
            switch event.event {
            case let .final(final): #expect(final.completions[0].finishReason == .cancelled)
            case let .error(error): #expect(error.code == .cancelled)
            default: Issue.record("long\(i): \(event)")
            }
        }
        let after = try system.generate(GenerateRequest(version: .v1, requestId: "after", prompt: .text("Había"), parameters: Self.parameters { $0.maxNewTokens = 3 }))
        guard case .final = after.final.event else { Issue.record("not serving after the burst: \(after.final)"); return }
    }

    @Test("bad input: invalid parameters, unknown model, prompt beyond the context, no prompt, garbage, wrong version")
    func badInput() throws {
        let system = try Self.system()
        func error(_ call: GeneratorCall, endpoint: String? = nil) throws -> ErrorReply? {
            let client = try MajordomoClient(context: system.context, endpoint: endpoint ?? system.endpoint)
            let event = try GenerateEvent(wire: client.request(service: "generate", body: call.wire(), timeoutMilliseconds: 10_000))
            if case let .error(e) = event.event { return e }
            return nil
        }
        func generate(_ configure: (inout GenerateRequest) -> Void) -> GeneratorCall {
            var request = GenerateRequest(version: .v1, requestId: "x", prompt: .text("Había"))
            configure(&request)
            return GeneratorCall(call: .generate(request))
        }
        let temperature = try #require(try error(generate { $0.parameters = Self.parameters { $0.temperature = -1 } }))
        #expect(temperature.code == .invalidArgument && temperature.field == "temperature")
        let topP = try #require(try error(generate { $0.parameters = Self.parameters { $0.topP = 2 } }))
        #expect(topP.code == .invalidArgument && topP.field == "top_p")
        let model = try #require(try error(generate { $0.model = "models/other" }))
        #expect(model.code == .notFound && model.field == "model")
        let long = try #require(try error(generate { $0.prompt = .tokens(TokenIds(ids: Array(repeating: 5, count: 200))) }))
        #expect(long.code == .invalidArgument && long.field == "prompt")
        let vocabulary = try #require(try error(generate { $0.prompt = .tokens(TokenIds(ids: [1, 99_999])) }))
        #expect(vocabulary.code == .invalidArgument && vocabulary.field == "prompt")
        let none = try #require(try error(generate { $0.prompt = nil }))
        #expect(none.code == .invalidArgument && none.field == "prompt")
        let version = try #require(try error(generate { $0.version = .unspecified }))
        #expect(version.code == .badVersion)
        let client = try MajordomoClient(context: system.context, endpoint: system.endpoint)
        let garbage = try GenerateEvent(wire: client.request(service: "generate", body: [0xFF, 0xFF]))
        guard case let .error(g) = garbage.event else { Issue.record("garbage accepted"); return }
        #expect(g.code == .malformed)
        // Switching is an admin's: refused to an ordinary client; the operator's bad names are NOT_FOUND.
        let switchDenied = try #require(try error(GeneratorCall(call: .switchModel(SwitchModelRequest(version: .v1, model: "models/tiny")))))
        #expect(switchDenied.code == .permissionDenied)
        let switchMissing = try #require(try error(GeneratorCall(call: .switchModel(SwitchModelRequest(version: .v1, model: "models/none"))), endpoint: system.adminEndpoint))
        #expect(switchMissing.code == .notFound)
        let switchJob = try #require(try error(GeneratorCall(call: .switchModel(SwitchModelRequest(version: .v1, model: "job:job-000404"))), endpoint: system.adminEndpoint))
        #expect(switchJob.code == .notFound)
        // Still serving the same model.
        let ok = try system.generate(GenerateRequest(version: .v1, requestId: "ok", prompt: .text("Había"), parameters: Self.parameters { $0.maxNewTokens = 4 }))
        guard case let .final(final) = ok.final.event else { Issue.record("\(ok.final)"); return }
        #expect(final.model == "models/tiny")
    }

    @Test("hot swap: a finished train job --deploy switches the generator; the request in flight finishes on the old model")
    func hotSwap() throws {
        let system = try Self.system(slow: true)
        try system.addCorpus()
        try FileManager.default.removeItem(atPath: "\(system.data)/models/tiny")
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.startWorker("prep", "cuentista-prep")
        try system.startWorker("trainer", "cuentista-trainer")
        try system.waitForWorkers("train", count: 1)
        // A long request on the slow model, in flight during the switch.
        let long = Self.parameters { $0.maxNewTokens = 400; $0.ignoreEos = true }
        let inFlight = try MajordomoClient(context: system.context, endpoint: system.endpoint)
        try inFlight.send(service: "generate", body: GeneratorCall(call: .generate(GenerateRequest(version: .v1, requestId: "old", prompt: .text("Había"), parameters: long, stream: true))).wire())
        _ = try #require(try inFlight.receive(timeoutMilliseconds: 10_000))

        let prepared = try system.submit(.submit(JobSubmit(version: .v1, spec: .prepare(JobFlowTests.prepareSpec(limit: 60).wire))))
        var spec = JobFlowTests.trainSpec(epochs: 1)
        spec.deploy = true
        let train = try system.submit(.submit(JobSubmit(version: .v1, spec: .train(spec.wire))))
        #expect(try system.waitForJob(train.jobId).state == .succeeded)
        #expect(try system.jobStatus(prepared.jobId).state == .succeeded)
        let deadline = Date().addingTimeInterval(20)
        while try system.client().status().services.first(where: { $0.service == "generate" })?.workers.first?.model != "runs/ft/final" && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(try system.client().status().services.first { $0.service == "generate" }?.workers.first?.model == "runs/ft/final")

        var oldFinal: GenerateFinal?
        while oldFinal == nil, let reply = try inFlight.receive(timeoutMilliseconds: 30_000) {
            if case let .final(f) = try GenerateEvent(wire: reply.body).event { oldFinal = f }
        }
        let old = try #require(oldFinal)
        #expect(old.model == "models/slow")
        #expect(old.completions[0].tokens.count == 400)
        #expect(old.completions[0].tokens.map { Int32(bitPattern: $0) } == (try Self.local("\(system.data)/models/slow", "Había", long))[0].tokens)

        let greedy = Self.parameters { $0.maxNewTokens = 20 }
        let new = try system.generate(GenerateRequest(version: .v1, requestId: "new", prompt: .text("Había"), parameters: greedy))
        guard case let .final(final) = new.final.event else { Issue.record("\(new.final)"); return }
        #expect(final.model == "runs/ft/final")
        #expect(final.completions[0].tokens.map { Int32(bitPattern: $0) } == (try Self.local("\(system.data)/runs/ft/final", "Había", greedy))[0].tokens)

        // Back to the first model by name, then by job id (the operator's calls).
        let client = try MajordomoClient(context: system.context, endpoint: system.adminEndpoint)
        let back = try GenerateEvent(wire: client.request(service: "generate", body: GeneratorCall(call: .switchModel(SwitchModelRequest(version: .v1, model: "models/tiny"))).wire()))
        #expect(back.event == .model(ModelInfo(model: "models/tiny", parameters: 141_056, context: 128, vocabSize: 512)))
        let byJob = try GenerateEvent(wire: client.request(service: "generate", body: GeneratorCall(call: .switchModel(SwitchModelRequest(version: .v1, model: "job:\(train.jobId)"))).wire()))
        guard case let .model(info) = byJob.event else { Issue.record("\(byJob)"); return }
        #expect(info.model == "runs/ft/final")
    }

    @Test("cuentista generate --remote prints what the local command prints (trace table, streaming, JSON, n)")
    func remoteCommand() throws {
        let system = try Self.system()
        let model = "\(system.data)/models/tiny"
        for flags in [["--trace-top", "3", "--max-new-tokens", "12"],
                      ["--strategy", "sample", "--seed", "4", "--temperature", "0.7", "--stream", "--max-new-tokens", "30"],
                      ["--strategy", "epsilon-greedy", "--seed", "2", "--n", "2", "--json", "--trace-top", "2", "--max-new-tokens", "10"],
                      ["--stop", "a", "--strategy", "sample", "--seed", "8", "--max-new-tokens", "40"]] {
            let local = try CommandLineTests.run(["generate", "--model", model, "--prompt", "Había una vez"] + flags)
            let remote = try CommandLineTests.run(["generate", "--prompt", "Había una vez", "--remote", system.endpoint] + flags)
            #expect(local.status == 0 && remote.status == 0, "\(remote.output)")
            #expect(remote.output == local.output, "flags \(flags)")
        }
        let invalid = try CommandLineTests.run(["generate", "--prompt", "Había", "--temperature=-1", "--remote", system.endpoint])
        #expect(invalid.status != 0 && invalid.output.contains("temperature"), "\(invalid.output)")
    }

    @Test("--bind serves clients directly, without the coordinator; other services are refused there")
    func directEndpoint() throws {
        let direct = "tcp://127.0.0.1:\(LiveSystem.freePort())"
        let system = try Self.system(generatorArguments: ["--bind", direct])
        let greedy = Self.parameters { $0.maxNewTokens = 12 }
        let result = try LiveSystem.generate(GenerateRequest(version: .v1, requestId: "direct", prompt: .text("Había una vez"), parameters: greedy, stream: true),
                                             context: system.context, endpoint: direct)
        guard case let .final(final) = result.final.event else { Issue.record("\(result.final)"); return }
        #expect(final.completions[0].tokens.map { Int32(bitPattern: $0) } == (try Self.local("\(system.data)/models/tiny", "Había una vez", greedy))[0].tokens)
        #expect(result.tokens.map(\.text).joined() == final.completions[0].text)
        let client = try MajordomoClient(context: system.context, endpoint: direct)
        let other = try GenerateEvent(wire: client.request(service: "tokenize", body: [], timeoutMilliseconds: 5000))
        guard case let .error(error) = other.event else { Issue.record("\(other)"); return }
        #expect(error.code == .unknownService)

        // The direct endpoint is for development: it cannot switch the model, nor cancel a
        // request that came through the coordinator, and it takes no non-loopback address.
        let switched = try GenerateEvent(wire: client.request(service: "generate", body: GeneratorCall(call: .switchModel(
            SwitchModelRequest(version: .v1, model: "models/other"))).wire(), timeoutMilliseconds: 5000))
        guard case let .error(denied) = switched.event else { Issue.record("\(switched)"); return }
        #expect(denied.code == .permissionDenied)
        let viaCoordinator = try MajordomoClient(context: system.context, endpoint: system.endpoint)
        try viaCoordinator.send(service: "generate", body: GeneratorCall(call: .generate(GenerateRequest(version: .v1, requestId: "mine", prompt: .text("Había"),
            parameters: Self.parameters { $0.maxNewTokens = 40; $0.ignoreEos = true }, stream: true))).wire())
        _ = try #require(try viaCoordinator.receive(timeoutMilliseconds: 10_000))
        let foreign = try GenerateEvent(wire: client.request(service: "generate", body: GeneratorCall(call: .cancel(CancelRequest(version: .v1, requestId: "mine"))).wire(), timeoutMilliseconds: 5000))
        guard case let .error(notFound) = foreign.event else { Issue.record("\(foreign)"); return }
        #expect(notFound.code == .notFound)
        var finished: GenerateFinal?
        while finished == nil, let reply = try viaCoordinator.receive(timeoutMilliseconds: 10_000) {
            if case let .final(f) = try GenerateEvent(wire: reply.body).event { finished = f }
        }
        #expect(finished?.completions.first?.finishReason == .length, "\(String(describing: finished))")
        let open = try system.start("open-generator", "cuentista-generator", ["--coordinator", system.endpoint, "--data-dir", system.data,
                                                                            "--model", "models/tiny", "--bind", "tcp://0.0.0.0:\(LiveSystem.freePort())"])
        open.waitUntilExit()
        #expect(open.terminationStatus != 0 && system.log("open-generator").contains("the direct endpoint is for development"))
    }

    @Test("SIGTERM: the request in flight completes, new ones are refused, the process exits 0")
    func drain() throws {
        let system = try Self.system(slow: true)
        let client = try MajordomoClient(context: system.context, endpoint: system.endpoint)
        try client.send(service: "generate", body: GeneratorCall(call: .generate(GenerateRequest(version: .v1, requestId: "d", prompt: .text("Había"),
            parameters: Self.parameters { $0.maxNewTokens = 150; $0.ignoreEos = true }, stream: true))).wire())
        _ = try #require(try client.receive(timeoutMilliseconds: 10_000))
        system.signal("generator", SIGTERM)
        Thread.sleep(forTimeInterval: 0.2)
        let refused = try system.generate(GenerateRequest(version: .v1, requestId: "late", prompt: .text("Había"), parameters: Self.parameters { $0.maxNewTokens = 3 }))
        if case let .error(error) = refused.final.event { #expect(error.code == .overloaded || error.code == .unknownService) }
        var final: GenerateFinal?
        while final == nil, let reply = try client.receive(timeoutMilliseconds: 30_000) {
            if case let .final(f) = try GenerateEvent(wire: reply.body).event { final = f }
        }
        #expect(final?.completions[0].tokens.count == 150)
        #expect(system.waitForExit("generator") == 0)
        #expect(system.log("generator").contains("stopping: finishing 1 request(s) in flight"))
    }
}

/// A client handed to the one thread that uses it (a ZeroMQ socket may move between threads).
final class ClientBox: @unchecked Sendable {
    let client: MajordomoClient
    init(_ client: MajordomoClient) { self.client = client }
}

extension Generation.FinishReason {
    init(wire: Wire.FinishReason) {
        self = switch wire {
        case .eos: .eos
        case .stop: .stop
        case .cancelled: .cancelled
        case .deadline: .deadline
        case .length, .unspecified: .length
        }
    }
}

