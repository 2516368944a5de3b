import Foundation
import GPT2
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
            (#"{"eos_token_id": 99999}"#, "eos_token_id"),
            (#"{"tie_word_embeddings": false}"#, "tie_word_embeddings"),
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
}
