import ArgumentParser
import Foundation
import Messaging
import Services
import Wire

/// What one model shows: its next-token choices and a text per prompt and strategy.
struct GenerationViews {
    var next: [(text: String, probability: Float)] = []
    var greedyTrace: [Wire.TraceStep] = []
    /// texts[prompt][strategy]
    var texts: [String: [String: String]] = [:]
}

extension PipelineRun {
    static let prompts = ["Había una vez", "Este bolso"]
    static let strategies: [(name: String, parameters: Wire.GenerationParameters)] = [
        ("greedy", Wire.GenerationParameters(strategy: .greedy, maxNewTokens: 30, noRepeatNgramSize: 3)),
        ("epsilon-greedy 0.5", Wire.GenerationParameters(strategy: .epsilonGreedy, maxNewTokens: 30, epsilon: 0.5, seed: 1)),
        ("temperature 0.8, top-k 50", Wire.GenerationParameters(strategy: .sample, maxNewTokens: 30, temperature: 0.8, topK: 50, seed: 1)),
    ]

    func generate(_ prompt: String, _ parameters: Wire.GenerationParameters) throws -> GenerateFinal {
        let client = try MajordomoClient(context: context, endpoint: endpoint)
        let request = GenerateRequest(version: .v1, requestId: UUID().uuidString, prompt: .text(prompt), parameters: parameters)
        let event = try GenerateEvent(wire: client.request(service: "generate", body: GeneratorCall(call: .generate(request)).wire(), timeoutMilliseconds: 120_000))
        switch event.event {
        case let .final(final): return final
        case let .error(error): throw ValidationError("the generator refused the request: \(error.message)")
        default: throw ValidationError("the generator sent no final reply")
        }
    }

    static func shown(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
    }

    func generations(model: String, printTables: Bool) throws -> GenerationViews {
        var views = GenerationViews()
        var next = Wire.GenerationParameters(maxNewTokens: 1, traceTop: 10)
        next.ignoreEos = true
        let first = try generate(Self.prompts[0], next)
        views.next = first.completions[0].trace.first?.candidates.map { ($0.text, $0.probability) } ?? []
        var traced = Self.strategies[0].parameters
        traced.traceTop = 5
        let greedy = try generate(Self.prompts[0], traced)
        views.greedyTrace = Array(greedy.completions[0].trace.prefix(10))
        for prompt in Self.prompts {
            for strategy in Self.strategies {
                let final = strategy.name == "greedy" && prompt == Self.prompts[0] ? greedy : try generate(prompt, strategy.parameters)
                views.texts[prompt, default: [:]][strategy.name] = final.completions[0].text
            }
        }
        guard printTables else { return views }
        print("\n      Top 10 next tokens after \"\(Self.prompts[0])\" (\(model)):")
        for (i, candidate) in views.next.enumerated() {
            print(String(format: "      %2d. %-16@ %6.2f %%", i + 1, "\"\(Self.shown(candidate.text))\"" as NSString, candidate.probability * 100))
        }
        print("\n      Greedy decoding, the first 10 steps (top 5 candidates each; * = chosen):")
        for step in views.greedyTrace {
            let row = step.candidates.map { ($0.token == step.chosen ? "*" : " ") + String(format: "\"%@\" %.1f%%", Self.shown($0.text), $0.probability * 100) }
            print(String(format: "      step %2d: ", step.step + 1) + row.joined(separator: "  "))
        }
        for prompt in Self.prompts {
            print("\n      \"\(prompt)\"")
            for strategy in Self.strategies {
                print("        \(strategy.name): \(prompt)\(Self.shown(views.texts[prompt]![strategy.name]!))")
            }
        }
        return views
    }

    func printComparison() {
        guard let before = report.before, let after = report.after else { return }
        for prompt in Self.prompts {
            print("\n      \"\(prompt)\"")
            for strategy in Self.strategies {
                print("        \(strategy.name)")
                print("          before: \(prompt)\(Self.shown(before.texts[prompt]![strategy.name]!))")
                print("          after:  \(prompt)\(Self.shown(after.texts[prompt]![strategy.name]!))")
            }
        }
        print(String(format: "\n      validation perplexity on the product descriptions: %.2f before, %.2f after",
                     report.perplexityBefore ?? .nan, report.perplexityAfter ?? .nan))
    }
}
