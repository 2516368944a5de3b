import ArgumentParser
import Foundation
import Generation
import GPT2
import Kernels
import Messaging
import Tokenizer

extension Strategy: ExpressibleByArgument {}
extension WeightPrecision: ExpressibleByArgument {}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with greedy, sampling or epsilon-greedy decoding.",
        discussion: """
        Examples (the notebook's three views):
          cuentista generate --model DIR --prompt "Había una vez" --trace-top 5
          cuentista generate --model DIR --prompt "Había una vez" --strategy epsilon-greedy --epsilon 0.5 --seed 1 --trace-top 5
          cuentista generate --model DIR --prompt "Había una vez" --strategy sample --temperature 0.8 --top-k 50 --seed 1
        """)

    @Option(help: "A model directory with weights, config.json and tokenizer files (with --remote: the served model's name, optional).")
    var model: String?
    @Option(help: "The text to continue (- reads it from standard input).")
    var prompt: String

    mutating func validate() throws { prompt = try PromptInput.resolve(prompt) }
    @Option(help: "Tokens to generate at most.")
    var maxNewTokens = 40
    @Option(help: "Tokens to generate at least (EOS is suppressed until then).")
    var minNewTokens = 0
    @Option(help: "greedy | sample | epsilon-greedy (default: greedy, or sample when a sampling option is given).")
    var strategy: Strategy?
    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Float = 1
    @Option(help: "Keep the k most probable tokens (0: all).")
    var topK = 0
    @Option(help: "Nucleus sampling mass (1: off).")
    var topP: Float = 1
    @Option(help: "Drop tokens below min-p times the top token's probability (0: off).")
    var minP: Float = 0
    @Option(help: "Locally typical sampling mass (1: off).")
    var typicalP: Float = 1
    @Option(help: "Probability of taking the argmax in epsilon-greedy.")
    var epsilon: Float = 0.5
    @Option(help: "transformers' repetition penalty (1: off).")
    var repetitionPenalty: Float = 1
    @Option(help: "OpenAI presence penalty.")
    var presencePenalty: Float = 0
    @Option(help: "OpenAI frequency penalty.")
    var frequencyPenalty: Float = 0
    @Option(help: "Never repeat an n-gram of this size (0: off).")
    var noRepeatNgramSize = 0
    @Option(help: "Add BIAS to token ID's logit, as ID=BIAS (repeatable; -inf bans the token).")
    var logitBias: [String] = []
    @Option(help: "Stop before this string (repeatable); it is never printed.")
    var stop: [String] = []
    @Option(help: "Completions to generate.")
    var n = 1
    @Option(help: "Seed of the sampler.")
    var seed: UInt64 = 0
    @Option(help: "Show the top-N candidates of every step (the notebook's table).")
    var traceTop = 0
    @Option(help: "Precision of the weights decode steps read: fp32 | bf16.")
    var precision: WeightPrecision = .fp32
    @Flag(help: "Print tokens as they are generated.")
    var stream = false
    @Flag(help: "Print ids, text, finish reason and trace as JSON.")
    var json = false
    @Option(help: ArgumentHelp("Send the request to the generator service through the coordinator at this endpoint (bare --remote: \(CoordinatorEndpoint.local)).", valueName: "endpoint"))
    var remote: String?
    @Option(help: "With --remote and CurveZMQ: the coordinator's public key file.") var serverKey: String?
    @Option(help: "With --remote and CurveZMQ: this client's key file.") var keys: String?

    /// The sampling options given (not at their defaults), by flag name.
    var samplingOptions: [String] {
        [("--temperature", temperature != 1 && temperature != 0), ("--top-k", topK != 0), ("--top-p", topP != 1),
         ("--min-p", minP != 0), ("--typical-p", typicalP != 1)].filter(\.1).map(\.0)
    }

    /// A sampling option means sampling: without --strategy it switches to `sample`; with an
    /// explicit `greedy` it would do nothing, which `warnings` says (as transformers warns when
    /// do_sample=False). --temperature 0 is greedy whatever else is given.
    var effectiveStrategy: Strategy {
        if temperature == 0 { return .greedy }
        return strategy ?? (samplingOptions.isEmpty ? .greedy : .sample)
    }

    var warnings: [String] {
        var warnings: [String] = []
        if strategy == .greedy && !samplingOptions.isEmpty {
            warnings.append("\(samplingOptions.joined(separator: ", ")) \(samplingOptions.count == 1 ? "has" : "have") no effect with --strategy greedy; use --strategy sample (or leave --strategy out)")
        }
        if temperature == 0 && strategy != nil && strategy != .greedy {
            warnings.append("--temperature 0 means greedy decoding: --strategy \(strategy!.rawValue) is not used")
        }
        return warnings
    }

    func parameters() throws -> GenerationParameters {
        for warning in warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        var p = GenerationParameters()
        for entry in logitBias {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let token = Int32(parts[0]), let bias = Float(parts[1]) else {
                throw ValidationError("--logit-bias expects ID=BIAS, got '\(entry)'")
            }
            p.logitBias[token] = bias
        }
        p.strategy = effectiveStrategy
        p.maxNewTokens = maxNewTokens
        p.minNewTokens = minNewTokens
        // OpenAI's convention: temperature 0 is greedy decoding (the sampler needs a positive one).
        p.temperature = temperature == 0 ? 1 : temperature
        p.topK = topK
        p.topP = topP
        p.minP = minP
        p.typicalP = typicalP
        p.epsilon = epsilon
        p.repetitionPenalty = repetitionPenalty
        p.presencePenalty = presencePenalty
        p.frequencyPenalty = frequencyPenalty
        p.noRepeatNgramSize = noRepeatNgramSize
        p.stop = stop
        p.n = n
        p.seed = seed
        p.traceTop = traceTop
        return p
    }

    func run() throws {
        if let remote { return try runRemote(endpoint: remote) }
        guard let model else { throw ValidationError("--model is required (a model directory), unless --remote") }
        let directory = try LoadedModelDirectory(model)
        let tokenizer = directory.tokenizer
        let ids = try directory.encodePrompt(prompt)
        let generator = Generator(model: directory.model, eosToken: tokenizer.eosTokenId ?? directory.model.config.eosTokenId.flatMap { Int32(exactly: $0) },
                                  precision: precision) { token in tokenizer.decodeBytes([token]) }
        let request = GenerationRequest(prompt: ids, parameters: try parameters())
        let completions: [Completion]
        do {
            completions = try generator.run([request]) { event in
                guard stream, !json, case let .token(token) = event, !token.text.isEmpty else { return }
                if n > 1 { print("[\(token.index)] ", terminator: "") }
                print(token.text, terminator: n > 1 ? "\n" : "")
                fflush(nil)  // all streams: `stdout` is a C global, not concurrency-safe in Swift 6
            }[0]
        } catch {
            throw ValidationError(error.description)
        }
        if stream && !json { print("") }
        if json { return try printJSON(completions) }
        show(completions, display: directory.display)
    }

    /// The output of a run, local or remote alike.
    func show(_ completions: [Completion], display: (Int32) -> String) {
        for completion in completions {
            if traceTop > 0 { printTrace(completion, display: display) }
            if !stream {
                if n > 1 { print("--- completion \(completion.index + 1)") }
                print(prompt + completion.text)
            }
            print("[\(completion.tokens.count) tokens, finish reason: \(completion.finishReason.rawValue)]")
        }
    }

    func printJSON(_ completions: [Completion]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(completions), as: UTF8.self))
    }

    /// The notebook's per-step table: candidates with their probabilities and the choice.
    func printTrace(_ completion: Completion, display: (Int32) -> String) {
        for step in completion.trace {
            let how = effectiveStrategy == .greedy ? "argmax" : step.tookArgmax ? "argmax (epsilon)" : "sampled"
            print("step \(step.step + 1): chose \"\(display(step.chosen))\" (rank \(step.chosenRank), \(how), log p = \(String(format: "%.3f", step.chosenLogProbability)))")
            for candidate in step.candidates {
                let mark = candidate.token == step.chosen ? "*" : " "
                print(" \(mark) " + String(format: "%7.2f %%  %7.2f %%  ", candidate.probability * 100, candidate.processedProbability * 100)
                      + "\"\(display(candidate.token))\"")
            }
        }
        print("(columns: model probability, probability after penalties/filters/temperature)\n")
    }
}
