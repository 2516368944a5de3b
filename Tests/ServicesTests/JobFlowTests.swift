import Foundation
import JobSpecs
import GPT2
import Services
import Testing
import Tokenizer
import Wire

/// The whole job flow between real processes on loopback.
@Suite("Services: tokenizer and jobs between real processes", .serialized)
struct JobFlowTests {
    static func prepareSpec(limit: Int = 150) -> PrepareJobSpec {
        var spec = PrepareJobSpec()
        spec.inputs = ["corpus/products.jsonl"]
        spec.tokenizer = "models/tiny"
        spec.out = "prepared/products"
        spec.template = "{product_title}\n{product_description}"
        spec.maxLength = 64
        spec.seed = 7
        spec.limit = limit
        spec.shuffleWindow = 1000
        return spec
    }

    static func trainSpec(out: String = "runs/ft", epochs: Int = 2, saveEvery: Int = 0) -> TrainJobSpec {
        var spec = TrainJobSpec()
        spec.model = "models/tiny"
        spec.data = "prepared/products"
        spec.out = out
        spec.epochs = epochs
        spec.batchSize = 4
        spec.lr = 1e-3
        spec.seed = 3
        spec.saveEvery = saveEvery
        return spec
    }

    @Test("tokenize through the coordinator equals the library: ids, offsets, batches, decode, counts")
    func tokenize() throws {
        let system = try LiveSystem()
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.startCoordinator()
        try system.startWorker("tokenizer", "cuentista-tokenizer", ["--tokenizer", "models/tiny"])
        try system.waitForWorkers("tokenize", count: 1)
        let local = try BPETokenizer(directory: "\(system.data)/models/tiny")
        let text = try String(contentsOfFile: LiveSystem.repository.appendingPathComponent("Tests/Fixtures/tokenizer/test_text.txt").path, encoding: .utf8)
        let client = try system.client()

        let encoded = try client.tokenize(TokenizeRequest(version: .v1, request: .encode(EncodeRequest(text: text, allowSpecial: true, withOffsets: true))))
        guard case let .encode(reply) = encoded.reply else { Issue.record("not an encode reply"); return }
        let expected = local.encodeWithOffsets(text, allowSpecial: true)
        #expect(reply.ids == expected.map { UInt32($0.id) })
        #expect(reply.offsets == expected.map { Offsets(start: UInt32($0.start), end: UInt32($0.end)) })

        let lines = text.split(separator: "\n").prefix(50).map(String.init)
        let batch = try client.tokenize(TokenizeRequest(version: .v1, tokenizer: "models/tiny",
                                                        request: .batchEncode(BatchEncodeRequest(items: lines.map { EncodeRequest(text: $0) }))))
        guard case let .batchEncode(items) = batch.reply else { Issue.record("not a batch reply"); return }
        #expect(items.items.map(\.ids) == lines.map { local.encode($0, allowSpecial: false).map { UInt32($0) } })

        let decoded = try client.tokenize(TokenizeRequest(version: .v1, request: .decode(DecodeRequest(ids: reply.ids))))
        #expect(decoded.reply == .decode(DecodeReply(text: local.decode(expected.map(\.id)))))

        let counted = try client.tokenize(TokenizeRequest(version: .v1, request: .count(CountRequest(texts: lines))))
        #expect(counted.reply == .count(CountReply(counts: lines.map { UInt32(local.encode($0).count) })))
        #expect(system.stop("tokenizer") == 0)
    }

    @Test("a prepare job and a train job on the embedded corpus, followed to completion; the checkpoint loads")
    func prepareAndTrain() throws {
        let system = try LiveSystem()
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.addCorpus()
        try system.startCoordinator()
        try system.startWorker("prep", "cuentista-prep")
        try system.startWorker("trainer", "cuentista-trainer")
        try system.waitForWorkers("prepare", count: 1)
        try system.waitForWorkers("train", count: 1)

        let prepare = try system.submit(.submit(JobSubmit(version: .v1, spec: .prepare(Self.prepareSpec().wire))))
        #expect(prepare.state == .queued)
        // Queued right away, before the data exists: it waits for the prepare job.
        let train = try system.submit(.submit(JobSubmit(version: .v1, spec: .train(Self.trainSpec().wire))))
        var progress: [JobProgress] = []
        let client = try system.client(timeoutMilliseconds: 60_000)
        let final = try client.jobs(JobRequest(version: .v1, request: .follow(train.jobId))) { partial in
            if case let .progress(p) = partial.reply { progress.append(p) }
        }
        guard case let .status(status) = final.reply else { Issue.record("no final status"); return }
        #expect(status.state == .succeeded, "\(status.error)\n\(system.log("trainer"))")
        #expect(status.result == "runs/ft/final")
        #expect(try system.jobStatus(prepare.jobId).state == .succeeded)
        let steps = progress.filter { $0.eval == nil && $0.checkpoint.isEmpty }.map(\.step)
        #expect(!steps.isEmpty && steps == steps.sorted())
        let evaluations = progress.compactMap(\.eval)
        #expect(evaluations.count == 2)
        #expect(evaluations.allSatisfy { $0.loss.isFinite && $0.loss > 0 })
        #expect(progress.contains { $0.checkpoint.hasPrefix("runs/ft/checkpoint-") })
        let model = try ModelLoader.load(directory: "\(system.data)/runs/ft/final").model
        #expect(model.config.nLayer == 2)
        #expect(FileManager.default.fileExists(atPath: "\(system.data)/runs/ft/final/tokenizer.json"))
        #expect(FileManager.default.fileExists(atPath: "\(system.data)/runs/ft/log.jsonl"))

        // The coordinator checks values only (it need not see the data volume): a job naming a
        // file that does not exist is queued, and its worker fails it at once, naming the
        // option and the path, without retrying.
        var missingInput = Self.prepareSpec()
        missingInput.inputs = ["corpus/none.jsonl"]
        var missingModel = Self.trainSpec(out: "runs/none")
        missingModel.model = "models/none"
        for (spec, message) in [(JobSubmit(version: .v1, spec: .prepare(missingInput.wire)), "invalid --input: corpus/none.jsonl does not exist"),
                                (JobSubmit(version: .v1, spec: .train(missingModel.wire)), "invalid --model: models/none does not exist")] {
            let queued = try system.submit(.submit(spec))
            let reply = try client.jobs(JobRequest(version: .v1, request: .follow(queued.jobId))) { _ in }
            guard case let .status(failed) = reply.reply else { Issue.record("no final status"); continue }
            #expect(failed.state == .failed && failed.error.hasPrefix(message) && failed.attempts == 1, "\(failed)")
        }
        #expect(system.stop("trainer") == 0)
        #expect(system.stop("prep") == 0)
        #expect(system.stop("coordinator") == 0)
    }
}
