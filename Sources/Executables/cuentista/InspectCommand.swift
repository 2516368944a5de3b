import ArgumentParser
import Foundation
import GPT2
import Kernels

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model directory's format, configuration, parameter count and module tree.",
        discussion: "Example: cuentista inspect --model Tests/Fixtures/models/tiny-safetensors")

    @Option(help: "A Hugging Face model directory (config.json + model.safetensors or pytorch_model.bin).")
    var model: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let loaded: LoadedModel
        do { loaded = try ModelLoader.load(directory: model) } catch { throw ValidationError(error.description) }
        let blas = OpenBLAS.shared
        let config = loaded.model.config
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let report = InspectReport(
                directory: loaded.directory, weightsFile: loaded.weightsFile, format: loaded.format.rawValue,
                config: config, parameterCount: loaded.model.parameterCount, ignoredTensors: loaded.ignoredTensors,
                loadSeconds: loaded.loadSeconds, openblasCore: blas.coreName, openblasThreads: Parallel.threads,
                moduleTree: ModuleTree.describe(config))
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("Model directory   \(loaded.directory)")
        print("Weights           \((loaded.weightsFile as NSString).lastPathComponent) (\(loaded.format.rawValue)), loaded in \(String(format: "%.3f", loaded.loadSeconds)) s")
        print("Parameters        \(loaded.model.parameterCount.formatted(.number.grouping(.automatic)))")
        print("Configuration     n_layer=\(config.nLayer) n_head=\(config.nHead) n_embd=\(config.nEmbd) n_positions=\(config.nPositions) vocab_size=\(config.vocabSize)")
        print("                  activation=\(config.activationFunction) layer_norm_epsilon=\(config.layerNormEpsilon) dropout(embd/attn/resid)=\(config.embdPdrop)/\(config.attnPdrop)/\(config.residPdrop)")
        print("                  bos_token_id=\(config.bosTokenId.map(String.init) ?? "none") eos_token_id=\(config.eosTokenId.map(String.init) ?? "none") tie_word_embeddings=\(config.tieWordEmbeddings)")
        for warning in config.warnings { print("warning           \(warning)") }
        if !loaded.ignoredTensors.isEmpty {
            print("Ignored tensors   \(loaded.ignoredTensors.count): \(loaded.ignoredTensors.prefix(6).joined(separator: ", "))\(loaded.ignoredTensors.count > 6 ? ", ..." : "")")
        }
        print("OpenBLAS core     \(blas.coreName), \(Parallel.threads) threads\(blas.requestedCoreType.map { _ in " (chosen by Cuentista for this CPU)" } ?? "")")
        print("")
        print(ModuleTree.describe(config))
    }
}

struct InspectReport: Encodable {
    let directory: String
    let weightsFile: String
    let format: String
    let config: GPT2Config
    let parameterCount: Int
    let ignoredTensors: [String]
    let loadSeconds: Double
    let openblasCore: String
    let openblasThreads: Int
    let moduleTree: String
}
