import ArgumentParser
import Coordinator
import Foundation
import GPT2
import Jobs
import Messaging
import Prep
import PreparedFormat
import Services
import Tokenizer
import Training
import Wire

/// One pipeline run: its folder, its services, and what the report will show.
final class PipelineRun {
    let options: PipelineCommand
    let root: String
    let endpoint: String
    let stop = SignalFlag()
    var group: ProcessGroup?
    var report = PipelineReport()
    let context = ZMQContext()
    var stepNumber = 0
    /// With a base model given, tokenizer training and pre-training are one step: using it.
    var steps: Int { options.model == nil ? 8 : 7 }
    let quick: Bool

    init(options: PipelineCommand) throws {
        self.options = options
        quick = options.quick
        root = (options.dataDir as NSString).standardizingPath
        // With services of its own, the run is their operator: it talks to them on the operator
        // endpoint (it follows and lists the jobs it submitted over several connections).
        endpoint = options.coordinator ?? CoordinatorEndpoint.admin(in: root)
        try Self.claim(root, overwrite: options.overwrite, ownServices: options.coordinator == nil)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        report.quick = quick
    }

    func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }

    /// What a pipeline run writes in its folder. With services of its own the folder is the run's
    /// alone (their logs and job store too); in the data directory of running services only
    /// these paths are the pipeline's.
    static let outputs = ["report.md", "loss.svg", "pretrain-loss.svg", "corpus/general.txt", "corpus/products.jsonl",
                          "models/base", "models/tokenizer", "prepared/general", "prepared/products",
                          "runs/pretrain", "runs/finetune", "runs/unused"]
    static let ownServicesOutputs = ["logs", "coordinator"]

    /// A folder holding an earlier run is refused (its models, report and job store would be
    /// mixed with this run's), or with `overwrite` cleared of that run first.
    static func claim(_ root: String, overwrite: Bool, ownServices: Bool) throws {
        let candidates = outputs + (ownServices ? ownServicesOutputs : [])
        let found = candidates.filter { FileManager.default.fileExists(atPath: (root as NSString).appendingPathComponent($0)) }
        guard !found.isEmpty else { return }
        guard overwrite else {
            throw PipelineRefused("\(root) already holds a pipeline run (\(found.prefix(4).joined(separator: ", "))\(found.count > 4 ? ", …" : "")): --overwrite replaces it, or choose another --data-dir")
        }
        if ownServices, let running = CoordinatorLock.holder(dataDirectory: root) {
            throw PipelineRefused(CoordinatorLock.runningMessage(pid: running, dataDirectory: root))
        }
        for relative in found { try FileManager.default.removeItem(atPath: (root as NSString).appendingPathComponent(relative)) }
    }

    /// Runs one step: says what it does, times it, and names the step (and a log) on failure.
    func step<T>(_ title: String, log: String? = nil, _ body: () throws -> T) throws -> T {
        stepNumber += 1
        print("\n[\(stepNumber)/\(steps)] \(title)")
        fflush(nil)
        let start = Date()
        do {
            if stop.isRaised { throw ValidationError("interrupted") }
            let value = try body()
            let seconds = Date().timeIntervalSince(start)
            report.timings.append((title, seconds))
            print(String(format: "      done in %.1f s", seconds))
            return value
        } catch let failure as PipelineFailure {
            throw failure
        } catch {
            throw PipelineFailure(step: title, reason: "\(error)", log: log.map(path))
        }
    }

    func run() throws {
        let started = Date()
        try step("Writing the embedded Spanish corpus (the project's own text)") { try writeCorpus() }
        try step("Starting the services (coordinator, tokenizer, prep and trainer workers; logs in \(path("logs")))", log: "logs/coordinator.log") {
            try startServices()
        }
        if let model = options.model {
            try step("Using the base model \(model)") { try useBaseModel(model) }
        } else {
            try step("Training a tokenizer on corpus/general.txt") { try trainTokenizer() }
            try step("Pre-training a GPT-2 on the general corpus (prepare job + train job)", log: "logs/trainer-1.log") { try pretrain() }
        }
        try step("Looking inside the model: next tokens and three decoding strategies (through the generator service)", log: "logs/generator-1.log") {
            try startGenerator()
            report.before = try generations(model: "models/base", printTables: true)
        }
        let fineTune = try step("Fine-tuning on the product descriptions (prepare job + train job, evaluated every epoch, best kept)", log: "logs/trainer-1.log") {
            try fineTuneOnProducts()
        }
        try step("Deploying the best checkpoint and generating again", log: "logs/generator-1.log") {
            try waitForDeployment(fineTune)
            report.after = try generations(model: fineTune, printTables: false)
            printComparison()
        }
        try step("Writing the report") {
            report.totalSeconds = Date().timeIntervalSince(started)
            try report.write(to: root)
            print("      \(path("report.md"))\n      \(path("loss.svg"))")
        }
        print(String(format: "\nFinished in %.0f s. Report: %@", Date().timeIntervalSince(started), path("report.md")))
    }

    // MARK: steps

    func writeCorpus() throws {
        var generator = CorpusGenerator(seed: 2024)
        let products = generator.products(count: quick ? 300 : 700)
        let general = generator.general(documents: quick ? 300 : 600)
        try FileManager.default.createDirectory(atPath: path("corpus"), withIntermediateDirectories: true)
        try (products.joined(separator: "\n") + "\n").write(toFile: path("corpus/products.jsonl"), atomically: true, encoding: .utf8)
        try (general.joined(separator: "\n\n") + "\n").write(toFile: path("corpus/general.txt"), atomically: true, encoding: .utf8)
        report.corpus = (products.count, general.count)
        print("      corpus/general.txt: \(general.count) stories, jokes and notes; corpus/products.jsonl: \(products.count) products")
    }

    func startServices() throws {
        if options.coordinator != nil {
            let status = try ServiceClient(context: context, endpoint: endpoint, timeoutMilliseconds: 5000).status()
            print("      using the services at \(endpoint): " + status.services.map { "\($0.service) \($0.workers.count)" }.joined(separator: ", "))
            return
        }
        var group = try ProcessGroup(logDirectory: path("logs"))
        let common = ["--data-dir", root, "--log-level", "info"]
        try group.start("coordinator", executable: "cuentista", ["coordinator", "--bind", options.bind] + common)
        for (name, executable) in [("tokenizer-1", "cuentista-tokenizer"), ("prep-1", "cuentista-prep"), ("trainer-1", "cuentista-trainer")] {
            // Workers find the worker endpoint in the data directory.
            try group.start(name, executable: executable, common)
        }
        self.group = group
        try waitForWorkers(["tokenize", "prepare", "train"])
    }

    func waitForWorkers(_ services: [String], timeout: TimeInterval = 30) throws {
        let client = try ServiceClient(context: context, endpoint: endpoint, timeoutMilliseconds: 1000)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = try? client.status(),
               services.allSatisfy({ name in (status.services.first { $0.service == name }?.workers.count ?? 0) > 0 }) { return }
            if let exited = group?.exited() {
                throw PipelineFailure(step: "services", reason: "\(exited.name) exited with status \(exited.status)", log: path("logs/\(exited.name).log"))
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw ValidationError("the \(services.joined(separator: ", ")) service(s) did not register within \(Int(timeout)) s")
    }

    func stopServices() {
        group?.stopAll(quiet: true)
        group = nil
    }

    func useBaseModel(_ model: String) throws {
        let source = (model as NSString).standardizingPath
        _ = try ModelLoader.load(directory: source)
        _ = try BPETokenizer(directory: source)
        let target = path("models/base")
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: source) {
            try FileManager.default.createSymbolicLink(atPath: (target as NSString).appendingPathComponent(file),
                                                       withDestinationPath: (source as NSString).appendingPathComponent(file))
        }
        report.baseDescription = "the user's model \(model)"
        print("      models/base -> \(source)")
    }

    func trainTokenizer() throws {
        let vocabulary = quick ? 1000 : 2000
        let tokenizer = try BPETrainer.train(files: [path("corpus/general.txt")], vocabSize: vocabulary)
        try tokenizer.save(to: path("models/tokenizer"))
        report.tokenizer = (tokenizer.vocabularySize, tokenizer.mergeCount)
        let sample = "Había una vez un bolso de cuero."
        let ids = tokenizer.encode(sample)
        print("      \(tokenizer.vocabularySize) tokens; \"\(sample)\" -> \(ids.count) tokens: " + ids.map { "'\(tokenizer.decode([$0]))'" }.joined(separator: " "))
    }

    func pretrain() throws {
        let client = try ServiceClient(context: context, endpoint: endpoint)
        var prepare = PrepareJobSpec()
        prepare.inputs = ["corpus/general.txt"]
        prepare.tokenizer = "models/tokenizer"
        prepare.out = "prepared/general"
        prepare.blocks = true
        prepare.maxLength = quick ? 64 : 128
        prepare.valFraction = 0.1
        let prepared = try runJob(.prepare(prepare), client: client, title: "preparing the general corpus")
        var train = TrainJobSpec()
        train.model = quick ? "init:tiny" : "init:mini"
        train.data = "prepared/general"
        train.out = "runs/pretrain"
        train.epochs = quick ? 6 : 12
        train.batchSize = 16
        train.lr = quick ? 3e-3 : 1e-3
        train.weightDecay = 0.01
        train.lrSchedule = .cosine
        train.warmupSteps = quick ? 5 : 20
        train.dropout = 0
        train.saveTotalLimit = 1
        let result = try runJob(.train(train), client: client, title: "pre-training \(train.model)")
        _ = prepared
        // The base model: the best weights, with the tokenizer beside them.
        let base = path("models/base")
        try? FileManager.default.removeItem(atPath: base)
        try FileManager.default.copyItem(atPath: path(result.status.result), toPath: base)
        for file in ["tokenizer.json", "vocab.json", "merges.txt"] {
            try? FileManager.default.removeItem(atPath: "\(base)/\(file)")
            try FileManager.default.copyItem(atPath: path("models/tokenizer/\(file)"), toPath: "\(base)/\(file)")
        }
        let model = try ModelLoader.load(directory: base).model
        report.pretrainEpochs = result.epochs
        report.baseDescription = String(format: "a GPT-2 of %@ parameters (%d layers, %d heads, %d wide, %d positions) pre-trained here on corpus/general.txt",
                                        model.parameters.layout.totalCount.formatted(), model.config.nLayer, model.config.nHead,
                                        model.config.nEmbd, model.config.nPositions)
        report.pretrainLog = "runs/pretrain/log.jsonl"
        JobsCommand.printEpochs(result.epochs)
    }

    /// Submits a job, follows it with the progress bar, and fails the step unless it succeeds.
    @discardableResult
    func runJob(_ spec: JobSpec, client: ServiceClient, title: String) throws -> (status: JobStatus, epochs: [JobsCommand.EpochRow]) {
        let reply = try client.jobs(JobRequest(version: .v1, request: .submit(spec.wire)))
        guard case let .status(queued) = reply.reply else { throw ValidationError("the coordinator did not queue the job") }
        print("      \(title): \(queued.jobId) queued")
        let result = try JobsCommand.follow(queued.jobId, client: try ServiceClient(context: context, endpoint: endpoint))
        guard result.status.state == .succeeded else {
            throw PipelineFailure(step: title, reason: "\(queued.jobId) \(JobsCommand.name(result.status.state)): \(result.status.error)",
                                  log: path("logs/\(spec.kind == "train" ? "trainer-1" : "prep-1").log"))
        }
        return result
    }

    func startGenerator() throws {
        if options.coordinator != nil {
            // Running services: point their generators at this run's base model.
            let client = try MajordomoClient(context: context, endpoint: endpoint)
            _ = try client.request(service: "generate", body: GeneratorCall(call: .switchModel(SwitchModelRequest(version: .v1, model: "models/base"))).wire())
            return
        }
        try group!.start("generator-1", executable: "cuentista-generator",
                         ["--data-dir", root, "--model", "models/base", "--max-batch", "8", "--log-level", "info"])
        try waitForWorkers(["generate"])
    }

    func fineTuneOnProducts() throws -> String {
        let client = try ServiceClient(context: context, endpoint: endpoint)
        var prepare = PrepareJobSpec()
        prepare.inputs = ["corpus/products.jsonl"]
        prepare.tokenizer = "models/base"
        prepare.out = "prepared/products"
        prepare.template = "{product_title}\\n{product_description}"
        prepare.layout = "pad"
        prepare.maxLength = 128
        prepare.valFraction = 0.1
        try runJob(.prepare(prepare), client: client, title: "preparing the product descriptions")

        // Validation perplexity of the base model on the same validation split, before.
        let base = try ModelLoader.load(directory: path("models/base")).model
        let data = try PreparedData(directory: path("prepared/products"))
        let trainer = try Trainer(model: base, data: data, options: TrainingOptions(), outputDirectory: path("runs/unused"))
        if let loss = trainer.validationLoss() { report.perplexityBefore = exp(loss) }

        var train = TrainJobSpec()
        train.model = "models/base"
        train.data = "prepared/products"
        train.out = "runs/finetune"
        train.epochs = options.epochs ?? (quick ? 3 : 8)
        train.batchSize = 8
        train.lr = options.lr ?? (options.model == nil ? 5e-4 : 2e-5)
        train.warmupSteps = options.model == nil ? 30 : 0
        train.weightDecay = 0.01
        train.saveTotalLimit = 2
        train.deploy = true
        let result = try runJob(.train(train), client: client, title: "fine-tuning models/base")
        report.finetuneEpochs = result.epochs
        report.finetune = train
        if let best = result.epochs.min(by: { $0.validation < $1.validation }) { report.perplexityAfter = best.perplexity }
        JobsCommand.printEpochs(result.epochs)
        print(String(format: "      validation perplexity: %.2f before, %.2f after", report.perplexityBefore ?? .nan, report.perplexityAfter ?? .nan))
        return result.status.result
    }

    /// The job's --deploy switches the generator; wait until it reports the new model.
    func waitForDeployment(_ model: String) throws {
        let client = try ServiceClient(context: context, endpoint: endpoint, timeoutMilliseconds: 2000)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if try client.status().services.first(where: { $0.service == "generate" })?.workers.allSatisfy({ $0.model == model }) == true {
                print("      the generator now serves \(model)")
                return
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw ValidationError("the generator did not switch to \(model) within 30 s")
    }
}
