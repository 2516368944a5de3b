import Foundation
import GPT2
import JobSpecs
import PreparedFormat
import Tokenizer
import Training

extension TrainJobSpec {
    /// Every check before the job runs: the values, then that the model (a directory with a
    /// config.json) and the data exist. The data may not exist yet when a queued prepare job
    /// will write it (`dataPending`).
    public func validate(in directory: DataDirectory, dataPending: Bool = false) throws(JobSpecError) {
        try checkValues(in: directory)
        if try initShape() == nil {
            let path = try directory.requireExisting(model, field: "model")
            guard FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("config.json")) else {
                throw JobSpecError(field: "model", "\(model) has no config.json: not a model directory")
            }
        }
        if !dataPending { _ = try directory.requireExisting(data, field: "data") }
    }

    /// Loads (or initialises) the model and the data, checks that they belong together, and
    /// returns the trainer that `run` drives.
    public func makeTrainer(in directory: DataDirectory) throws -> Trainer {
        try validate(in: directory)
        let options = try checkedOptions()
        let dataPath = try directory.requireExisting(data, field: "data")
        let prepared: PreparedData
        do { prepared = try PreparedData(directory: dataPath) } catch { throw JobSpecError(field: "data", "\(error)") }
        let gpt2: GPT2
        var tokenizerFiles: [String] = []
        if let name = try initShape() {
            guard var config = GPT2Config.named(name) else {
                throw JobSpecError(field: "model", "init:\(name): unknown shape (\(Self.initShapes.joined(separator: ", ")))")
            }
            config.vocabSize = max(prepared.manifest.vocabSize, 1)
            config.nPositions = max(config.nPositions, prepared.manifest.maxLength)
            config.bosTokenId = prepared.manifest.eosTokenId
            config.eosTokenId = prepared.manifest.eosTokenId
            gpt2 = GPT2.randomlyInitialized(config: config, seed: options.seed)
        } else {
            let modelPath = try directory.requireExisting(model, field: "model")
            do { gpt2 = try ModelLoader.load(directory: modelPath).model } catch { throw JobSpecError(field: "model", "\(error)") }
            if let tokenizer = try? BPETokenizer(directory: modelPath) {
                guard tokenizer.fingerprint == prepared.manifest.tokenizerFingerprint else {
                    throw JobSpecError(field: "data", PreparedDataError.tokenizerMismatch(
                        path: data, data: prepared.manifest.tokenizerFingerprint, model: tokenizer.fingerprint).description)
                }
                tokenizerFiles = ["tokenizer.json", "vocab.json", "merges.txt"].map { (modelPath as NSString).appendingPathComponent($0) }
            }
        }
        do {
            return try Trainer(model: gpt2, data: prepared, options: options, outputDirectory: try directory.writable(out, field: "out"),
                               tokenizerFiles: tokenizerFiles, jsonLog: try logJson.map { path throws(JobSpecError) in try directory.writable(path, field: "log-json") })
        } catch let error as TrainingError {
            throw JobSpecError(field: "data", error.description)
        }
    }
}
