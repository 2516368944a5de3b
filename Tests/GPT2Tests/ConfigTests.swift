import Foundation
import GPT2
import Kernels
import Testing
import TestSupport

@Suite("config.json")
struct ConfigTests {
    func write(_ json: String) -> String {
        let dir = Fixtures.temporaryDirectory()
        let path = dir + "/config.json"
        _ = FileManager.default.createFile(atPath: path, contents: Data(json.utf8))
        return path
    }

    @Test("decodes the Hugging Face keys")
    func decodes() throws {
        let config = try GPT2Config.load(file: Fixtures.model("tiny-safetensors") + "/config.json")
        #expect(config.nLayer == 2 && config.nHead == 4 && config.nEmbd == 64)
        #expect(config.nPositions == 128 && config.vocabSize == 512)
        #expect(config.activationFunction == "gelu_new" && config.layerNormEpsilon == 1e-5)
        #expect(config.embdPdrop == 0.1 && config.eosTokenId == 0 && config.tieWordEmbeddings)
    }

    @Test("missing keys take transformers' defaults; n_ctx of old configs is understood")
    func defaults() throws {
        let config = try GPT2Config.load(file: write(#"{"n_ctx": 512}"#))
        #expect(config.nLayer == 12 && config.nEmbd == 768 && config.vocabSize == 50257)
        #expect(config.nPositions == 512)
        #expect(ParameterLayout(config: GPT2Config()).totalCount == 124_439_808)
    }

    @Test("invalid values are refused with the field and the file named")
    func refuses() throws {
        let cases: [(String, String)] = [
            (#"{"n_embd": 100, "n_head": 12}"#, "n_embd"),
            (#"{"activation_function": "swish2"}"#, "activation_function"),
            (#"{"n_layer": -1}"#, "n_layer"),
            (#"{"n_layer": "twelve"}"#, "n_layer"),
            (#"{"tie_word_embeddings": false}"#, "tie_word_embeddings"),
            (#"{"add_cross_attention": true}"#, "add_cross_attention"),
            (#"{"layer_norm_epsilon": 0}"#, "layer_norm_epsilon"),
            (#"{"n_inner": 0}"#, "n_inner"),
        ]
        for (json, field) in cases {
            let path = write(json)
            do {
                _ = try GPT2Config.load(file: path)
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.field == field, "\(json): \(error)")
                #expect(error.description.contains(path) && error.description.contains(field))
            }
        }
        let notJSON = write("{nope")
        #expect(throws: ConfigError.self) { try GPT2Config.load(file: notJSON) }
    }

    @Test("what transformers accepts with a warning loads with one: end-of-text ids outside the vocabulary")
    func warnsOutsideVocabulary() throws {
        let config = try GPT2Config.load(file: write(#"{"vocab_size": 64, "n_embd": 32, "n_head": 2}"#))
        #expect(config.eosTokenId == 50256)
        #expect(config.warnings.count == 2)
        #expect(config.warnings.allSatisfy { $0.contains("outside the vocabulary (size 64)") })
        #expect(try GPT2Config.load(file: write(#"{"vocab_size": 64, "eos_token_id": 3, "bos_token_id": null}"#)).warnings.isEmpty)
    }

    @Test("every activation transformers' GPT-2 checkpoints use is accepted, and the attention options",
          arguments: Activation.names.keys.sorted())
    func acceptsActivations(name: String) throws {
        let json = #"{"activation_function": "\#(name)", "scale_attn_weights": false, "scale_attn_by_inverse_layer_idx": true, "reorder_and_upcast_attn": true}"#
        let config = try GPT2Config.load(file: write(json))
        #expect(config.activation == Activation.names[name])
        // The module tree names the module transformers prints for it, not a fallback.
        #expect(!ModuleTree.describe(config).contains("(act): \(name)\n"))
    }

    @Test("attention scale: 1/sqrt(head size), divided by layer + 1 on request, or 1")
    func attentionScale() throws {
        var config = GPT2Config(nEmbd: 64, nLayer: 3, nHead: 4)
        #expect(config.attentionScale(layer: 2) == 0.25)
        config.scaleAttnByInverseLayerIdx = true
        #expect(config.attentionScale(layer: 2) == Float(0.25 / 3.0))
        config.scaleAttnWeights = false
        #expect(config.attentionScale(layer: 0) == 1 && config.attentionScale(layer: 3) == 0.25)
    }
}
