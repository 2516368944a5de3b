import ArgumentParser
import Foundation
import GPT2
import Generation

struct NextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "next",
        abstract: "Show the most probable next tokens after a prompt, with their probabilities.",
        discussion: "Example: cuentista next --model ~/models/gpt2-small-spanish --prompt \"Había una vez\"")

    @Option(help: "A model directory with weights, config.json and tokenizer files.")
    var model: String

    @Option(help: "The text whose continuation to show (- reads it from standard input).")
    var prompt: String

    mutating func validate() throws { prompt = try PromptInput.resolve(prompt) }

    @Option(help: "How many candidates to show.")
    var top = 10

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Row: Codable {
        let rank: Int
        let token: Int32
        let text: String
        let probability: Double
    }

    func run() throws {
        guard top > 0 else { throw ValidationError("--top must be positive") }
        let directory = try LoadedModelDirectory(model)
        let ids = try directory.encodePrompt(prompt)
        guard ids.count <= directory.model.config.nPositions else {
            throw ValidationError("--prompt has \(ids.count) tokens; the model's context is \(directory.model.config.nPositions)")
        }
        let logits = try directory.model.logits(for: [ids]).suffix(directory.model.config.vocabSize)
        let probabilities = LogitsProcessors.softmax(Array(logits))
        let best = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }.prefix(top)
        let rows = best.enumerated().map { rank, index in
            Row(rank: rank + 1, token: Int32(index), text: directory.tokenizer.decode([Int32(index)]), probability: Double(probabilities[index]))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(Report(prompt: prompt, promptTokens: ids, next: rows)), as: UTF8.self))
            return
        }
        print("Next token after \"\(prompt)\" (\(ids.count) prompt tokens):\n")
        print("rank  token   probability  text")
        for row in rows {
            let percent = String(format: "%6.2f %%", row.probability * 100)
            print(String(format: "%4d  %6d  ", row.rank, row.token) + percent + "     " + "\"" + directory.display(row.token) + "\"")
        }
    }

    struct Report: Codable {
        let prompt: String
        let promptTokens: [Int32]
        let next: [Row]
    }
}
