import Checkpoint
import Foundation
import GPT2
import Kernels
import Generation
import Testing
import TestSupport

@Suite("Generator")
struct GeneratorTests {
    static let model = try! ModelLoader.load(directory: Fixtures.model("tiny-safetensors")).model
    static let reference = try! SafeTensors.read(path: Fixtures.reference("generation.safetensors"))

    func generator() -> Generator { Generator(model: Self.model, eosToken: 0) }

    func greedy(_ maxNewTokens: Int = 48) -> GenerationParameters {
        var p = GenerationParameters()
        p.maxNewTokens = maxNewTokens
        p.ignoreEOS = true
        return p
    }

    @Test("greedy equals transformers' generate(do_sample=False) token for token, alone and batched")
    func greedyParity() throws {
        let prompts = (0..<3).map { Fixtures.ids(Self.reference["greedy.prompt.\($0)"]!) }
        let expected = (0..<3).map { Fixtures.ids(Self.reference["greedy.output.\($0)"]!) }
        for (prompt, want) in zip(prompts, expected) {
            let alone = try generator().run([GenerationRequest(prompt: prompt, parameters: greedy())])
            #expect(alone[0][0].tokens == want)
            #expect(alone[0][0].finishReason == .length)
        }
        let batched = try generator().run(prompts.map { GenerationRequest(prompt: $0, parameters: greedy()) })
        #expect(batched.map { $0[0].tokens } == expected)
    }

    @Test("epsilon-greedy with epsilon 1 is greedy; with epsilon 0.5 it mixes argmax and samples")
    func epsilonGreedy() throws {
        var p = greedy(24)
        p.strategy = .epsilonGreedy
        p.epsilon = 1
        p.seed = 3
        p.traceTop = 5
        let prompt: [Int32] = [5, 17, 300, 42]
        let eps = try generator().run([GenerationRequest(prompt: prompt, parameters: p)])[0][0]
        let plain = try generator().run([GenerationRequest(prompt: prompt, parameters: greedy(24))])[0][0]
        #expect(eps.tokens == plain.tokens)
        #expect(eps.trace.allSatisfy { $0.tookArgmax && $0.chosenRank == 1 })
        p.epsilon = 0.5
        p.maxNewTokens = 48
        let mixed = try generator().run([GenerationRequest(prompt: prompt, parameters: p)])[0][0]
        let argmaxSteps = mixed.trace.filter(\.tookArgmax).count
        #expect(argmaxSteps > 8 && argmaxSteps < 40, "\(argmaxSteps) of 48 steps took the argmax")
    }

    @Test("the same seed gives the same sample alone or in a batch; n completions differ")
    func reproducible() throws {
        var p = greedy(20)
        p.strategy = .sample
        p.temperature = 1.3
        p.topK = 50
        p.seed = 42
        let prompt: [Int32] = [1, 2, 3]
        let alone = try generator().run([GenerationRequest(prompt: prompt, parameters: p)])[0][0]
        var other = p
        other.seed = 7
        other.n = 2
        let batch = try generator().run([
            GenerationRequest(prompt: [9, 9, 9, 9, 9], parameters: other),
            GenerationRequest(prompt: prompt, parameters: p),
        ])
        #expect(batch[1][0].tokens == alone.tokens)
        #expect(batch[0][0].tokens != batch[0][1].tokens)
        var again = p
        again.seed = 43
        #expect(try generator().run([GenerationRequest(prompt: prompt, parameters: again)])[0][0].tokens != alone.tokens)
    }

    @Test("sampling frequencies match the processed distribution (chi-square)")
    func chiSquare() {
        let logits: [Float] = [2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -3.0]
        var processed = logits
        LogitsProcessors.temperature(&processed, 0.8)
        LogitsProcessors.topK(&processed, 6)
        let probabilities = LogitsProcessors.softmax(processed)
        var generator = SeededGenerator(seed: 2024)
        let draws = 200_000
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<draws { counts[Sampler.draw(probabilities, using: &generator)] += 1 }
        #expect(counts[6] == 0 && counts[7] == 0, "filtered tokens are never drawn")
        var chi2 = 0.0
        for i in 0..<6 {
            let expected = Double(draws) * Double(probabilities[i])
            chi2 += pow(Double(counts[i]) - expected, 2) / expected
        }
        // 5 degrees of freedom: P(chi2 > 20.5) = 0.001.
        #expect(chi2 < 20.5, "chi-square \(chi2)")
    }

    @Test("the model's context ends a sequence with finish reason length, never a crash")
    func contextLimit() throws {
        var p = greedy(40)
        p.ignoreEOS = true
        let prompt = [Int32](repeating: 7, count: 120)
        let result = try generator().run([GenerationRequest(prompt: prompt, parameters: p)])[0][0]
        #expect(result.finishReason == .length)
        #expect(result.tokens.count == 8)  // 120 + 8 = n_positions (128)
    }

    @Test("EOS ends a sequence unless suppressed by min_new_tokens")
    func eos() throws {
        var p = GenerationParameters()
        p.maxNewTokens = 10
        p.logitBias = [0: 100]  // make EOS (token 0) the argmax
        let result = try generator().run([GenerationRequest(prompt: [1, 2], parameters: p)])[0][0]
        #expect(result.finishReason == .eos && result.tokens == [0])
        p.minNewTokens = 3
        let later = try generator().run([GenerationRequest(prompt: [1, 2], parameters: p)])[0][0]
        #expect(later.tokens.count == 4 && later.tokens.last == 0 && !later.tokens.dropLast().contains(0))
    }

    @Test("invalid values are refused naming the parameter")
    func validation() {
        func name(_ change: (inout GenerationParameters) -> Void, prompt: [Int32] = [1]) -> String? {
            var p = GenerationParameters()
            change(&p)
            do {
                _ = try generator().run([GenerationRequest(prompt: prompt, parameters: p)])
                return nil
            } catch {
                if case let .invalidParameter(name, _) = error { return name }
                return "\(error)"
            }
        }
        #expect(name { $0.temperature = -1 } == "temperature")
        #expect(name { $0.topP = 0 } == "top_p")
        #expect(name { $0.topP = 1.5 } == "top_p")
        #expect(name { $0.minP = 2 } == "min_p")
        #expect(name { $0.topK = -3 } == "top_k")
        #expect(name { $0.epsilon = 1.5 } == "epsilon")
        #expect(name { $0.maxNewTokens = 0 } == "max_new_tokens")
        #expect(name { $0.n = 0 } == "n")
        #expect(name({ _ in }, prompt: [Int32](repeating: 1, count: 128)) == "prompt")
        #expect(name({ _ in }, prompt: []) == "prompt")
        #expect(name({ _ in }, prompt: [600]) == "prompt")
        #expect(name { $0.logitBias = [9999: 1] } == "logit_bias")
    }
}

@Suite("bfloat16 decoding")
struct BFloat16DecodingTests {
    @Test("bf16 decode weights stay close to float32 logits and keep greedy parity on the fixture")
    func accuracy() throws {
        let model = GeneratorTests.model
        let prompt: [Int32] = [5, 17, 300, 42]
        var logits: [WeightPrecision: [Float]] = [:]
        for precision in WeightPrecision.allCases {
            let cache = KVCache(config: model.config, slots: 1)
            let weights = DecodeWeights(model: model, precision: precision)
            _ = try model.forward(items: prompt.map { CachedToken(slot: 0, token: $0, wantsLogits: false) }, cache: cache)
            logits[precision] = try model.forward(items: [CachedToken(slot: 0, token: 9, wantsLogits: true)], cache: cache, decodeWeights: weights)
        }
        let full = try model.logits(for: [prompt + [9]]).suffix(512)
        let fp32Error = zip(logits[.fp32]!, full).map { abs($0 - $1) }.max()!
        let bf16Error = zip(logits[.bf16]!, full).map { abs($0 - $1) }.max()!
        let scale = full.map { abs($0) }.max()!
        #expect(fp32Error < 1e-4)
        #expect(bf16Error < 0.02 * scale, "bf16 max error \(bf16Error) on logits up to \(scale)")
        #expect(Sampler.argmax(logits[.bf16]!) == Sampler.argmax(Array(full)))
    }
}
