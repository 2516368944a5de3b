import Checkpoint
import Foundation
import GPT2
import Testing
import TestSupport

@Suite("Forward pass equals transformers")
struct ForwardParityTests {
    static let formats = ["tiny-safetensors", "tiny-zip", "tiny-legacy"]

    func reference() throws -> (tokens: [[Int32]], logits: [Float]) {
        let archive = try SafeTensors.read(path: Fixtures.reference("forward.safetensors"))
        let tokenView = try #require(archive["tokens"])
        #expect(tokenView.dtype == .i64)
        let ids = Fixtures.ids(tokenView)
        let (B, T) = (tokenView.shape[0], tokenView.shape[1])
        let tokens = (0..<B).map { Array(ids[($0 * T)..<(($0 + 1) * T)]) }
        return (tokens, try #require(archive["logits"]).floats())
    }

    @Test("logits within 1e-4 of PyTorch", arguments: formats)
    func logitsMatch(format: String) throws {
        let loaded = try ModelLoader.load(directory: Fixtures.model(format))
        let (tokens, expected) = try reference()
        let logits = try loaded.model.logits(for: tokens)
        #expect(logits.count == expected.count)
        let maxDiff = zip(logits, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(maxDiff < 1e-4, "max |diff| = \(maxDiff)")
    }

    @Test("every format loads identical weights")
    func formatsAgree() throws {
        let models = try Self.formats.map { try ModelLoader.load(directory: Fixtures.model($0)) }
        #expect(models.map(\.format) == [.safetensors, .pytorchZip, .pytorchLegacy])
        let first = Array(models[0].model.parameters.storage)
        for other in models.dropFirst() {
            #expect(Array(other.model.parameters.storage) == first, "\(other.directory)")
        }
        // The legacy file carries attention-mask buffers that must be ignored, not loaded.
        #expect(models[2].ignoredTensors.contains("h.0.attn.bias"))
        #expect(models[2].ignoredTensors.contains("h.1.attn.masked_bias"))
        #expect(models[1].ignoredTensors == ["lm_head.weight"])
        // The parameter count transformers reports for the same model.
        let versions = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.reference("versions.json")))) as? [String: Any]
        #expect(models[0].model.parameterCount == versions?["parameters"] as? Int)
    }

    @Test("a batch gives the same logits as each row alone")
    func batchRowsIndependent() throws {
        let model = try ModelLoader.load(directory: Fixtures.model("tiny-safetensors")).model
        let (tokens, _) = try reference()
        let batch = try model.logits(for: tokens)
        let single = try model.logits(for: [tokens[1]])
        let half = batch.count / 2
        // sgemm computes each row's dot products whole, but OpenBLAS's Haswell and Zen kernels
        // round a row differently depending on how many rows share the call (SkylakeX's do not;
        // measured on both): within a few float32 ulps of the largest logit, not bit for bit.
        // Decode steps, which run on Cuentista's own kernel, are exact (KVCacheTests).
        let scale = single.map { abs($0) }.max()!
        let worst = zip(batch[half...], single).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-6 * scale, "largest difference \(worst) against logits up to \(scale)")
    }

    @Test("sequences longer than n_positions and unknown tokens are refused")
    func refusesBadInput() throws {
        let model = try ModelLoader.load(directory: Fixtures.model("tiny-safetensors")).model
        #expect(throws: ModelError.sequenceTooLong(length: 129, limit: 128)) {
            try model.logits(for: [[Int32](repeating: 1, count: 129)])
        }
        #expect(throws: ModelError.tokenOutOfRange(token: 512, vocabularySize: 512)) {
            try model.logits(for: [[1, 512]])
        }
    }
}
