import Foundation
import Kernels

/// The model shape, decoded from a Hugging Face `config.json` with its key names.
/// Missing keys take the defaults of `transformers.GPT2Config`.
public struct GPT2Config: Codable, Sendable, Equatable {
    public var vocabSize = 50257
    public var nPositions = 1024
    public var nEmbd = 768
    public var nLayer = 12
    public var nHead = 12
    /// MLP width; nil means 4 * nEmbd.
    public var nInner: Int?
    public var activationFunction = "gelu_new"
    public var residPdrop: Float = 0.1
    public var embdPdrop: Float = 0.1
    public var attnPdrop: Float = 0.1
    public var layerNormEpsilon: Float = 1e-5
    public var bosTokenId: Int? = 50256
    public var eosTokenId: Int? = 50256
    public var tieWordEmbeddings = true
    public var scaleAttnWeights = true
    public var scaleAttnByInverseLayerIdx = false
    public var reorderAndUpcastAttn = false
    /// Cross-attention blocks for encoder-decoder use; refused (see `validate`).
    public var addCrossAttention = false

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", nPositions = "n_positions", nEmbd = "n_embd", nLayer = "n_layer"
        case nHead = "n_head", nInner = "n_inner", activationFunction = "activation_function"
        case residPdrop = "resid_pdrop", embdPdrop = "embd_pdrop", attnPdrop = "attn_pdrop"
        case layerNormEpsilon = "layer_norm_epsilon", bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
        case tieWordEmbeddings = "tie_word_embeddings", scaleAttnWeights = "scale_attn_weights"
        case scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx"
        case reorderAndUpcastAttn = "reorder_and_upcast_attn"
        case addCrossAttention = "add_cross_attention"
        case modelType = "model_type", architectures, nCtx = "n_ctx"
    }

    public init(vocabSize: Int = 50257, nPositions: Int = 1024, nEmbd: Int = 768, nLayer: Int = 12, nHead: Int = 12) {
        self.vocabSize = vocabSize
        self.nPositions = nPositions
        self.nEmbd = nEmbd
        self.nLayer = nLayer
        self.nHead = nHead
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        vocabSize = try value(.vocabSize, vocabSize)
        // Configs from 2019 carry n_ctx; n_positions wins when both are present.
        nPositions = try c.decodeIfPresent(Int.self, forKey: .nPositions) ?? value(.nCtx, nPositions)
        nEmbd = try value(.nEmbd, nEmbd)
        nLayer = try value(.nLayer, nLayer)
        nHead = try value(.nHead, nHead)
        nInner = try c.decodeIfPresent(Int.self, forKey: .nInner)
        activationFunction = try value(.activationFunction, activationFunction)
        residPdrop = try value(.residPdrop, residPdrop)
        embdPdrop = try value(.embdPdrop, embdPdrop)
        attnPdrop = try value(.attnPdrop, attnPdrop)
        layerNormEpsilon = try value(.layerNormEpsilon, layerNormEpsilon)
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId) ?? (c.contains(.bosTokenId) ? nil : bosTokenId)
        eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId) ?? (c.contains(.eosTokenId) ? nil : eosTokenId)
        tieWordEmbeddings = try value(.tieWordEmbeddings, tieWordEmbeddings)
        scaleAttnWeights = try value(.scaleAttnWeights, scaleAttnWeights)
        scaleAttnByInverseLayerIdx = try value(.scaleAttnByInverseLayerIdx, scaleAttnByInverseLayerIdx)
        reorderAndUpcastAttn = try value(.reorderAndUpcastAttn, reorderAndUpcastAttn)
        addCrossAttention = try value(.addCrossAttention, addCrossAttention)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("gpt2", forKey: .modelType)
        try c.encode(["GPT2LMHeadModel"], forKey: .architectures)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(nPositions, forKey: .nPositions)
        try c.encode(nEmbd, forKey: .nEmbd)
        try c.encode(nLayer, forKey: .nLayer)
        try c.encode(nHead, forKey: .nHead)
        try c.encode(nInner, forKey: .nInner)
        try c.encode(activationFunction, forKey: .activationFunction)
        try c.encode(residPdrop, forKey: .residPdrop)
        try c.encode(embdPdrop, forKey: .embdPdrop)
        try c.encode(attnPdrop, forKey: .attnPdrop)
        try c.encode(layerNormEpsilon, forKey: .layerNormEpsilon)
        try c.encode(bosTokenId, forKey: .bosTokenId)
        try c.encode(eosTokenId, forKey: .eosTokenId)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(scaleAttnWeights, forKey: .scaleAttnWeights)
        try c.encode(scaleAttnByInverseLayerIdx, forKey: .scaleAttnByInverseLayerIdx)
        try c.encode(reorderAndUpcastAttn, forKey: .reorderAndUpcastAttn)
        if addCrossAttention { try c.encode(addCrossAttention, forKey: .addCrossAttention) }
    }

    public var headSize: Int { nEmbd / nHead }
    public var mlpWidth: Int { nInner ?? 4 * nEmbd }

    public var activation: Activation? { Activation(huggingFaceName: activationFunction) }

    /// The factor attention scores of layer `layer` (0-based) are multiplied by, as
    /// `transformers` computes it: 1/sqrt(head size) with `scale_attn_weights`, and
    /// 1/(layer + 1) more with `scale_attn_by_inverse_layer_idx`. `reorder_and_upcast_attn`
    /// only changes PyTorch's order and precision in half precision; Cuentista's attention
    /// is float32 throughout, so it computes the same.
    public func attentionScale(layer: Int) -> Float {
        // In double, then rounded once (transformers folds the factors into one Python float,
        // `self.scaling`; its eager path multiplies by it once).
        var scale = scaleAttnWeights ? 1 / Double(headSize).squareRoot() : 1
        if scaleAttnByInverseLayerIdx { scale /= Double(layer + 1) }
        return Float(scale)
    }

    /// Checks the shape and the options Cuentista implements; errors name the field and file.
    public func validate(file: String) throws(ConfigError) {
        func positive(_ value: Int, _ field: String) throws(ConfigError) {
            if value <= 0 { throw ConfigError(file: file, field: field, reason: "must be positive, got \(value)") }
        }
        try positive(vocabSize, "vocab_size")
        try positive(nPositions, "n_positions")
        try positive(nEmbd, "n_embd")
        try positive(nLayer, "n_layer")
        try positive(nHead, "n_head")
        if let nInner { try positive(nInner, "n_inner") }
        if nEmbd % nHead != 0 {
            throw ConfigError(file: file, field: "n_embd", reason: "\(nEmbd) is not divisible by n_head (\(nHead))")
        }
        if activation == nil {
            throw ConfigError(file: file, field: "activation_function",
                              reason: "unknown activation '\(activationFunction)' (known: \(Activation.names.keys.sorted().joined(separator: ", ")))")
        }
        if !(layerNormEpsilon > 0) {
            throw ConfigError(file: file, field: "layer_norm_epsilon", reason: "must be positive, got \(layerNormEpsilon)")
        }
        for (name, p) in [("resid_pdrop", residPdrop), ("embd_pdrop", embdPdrop), ("attn_pdrop", attnPdrop)] where !(p >= 0 && p < 1) {
            throw ConfigError(file: file, field: name, reason: "must be in [0, 1), got \(p)")
        }
        if !tieWordEmbeddings {
            throw ConfigError(file: file, field: "tie_word_embeddings",
                              reason: "false (a separate lm_head matrix) is not supported: Cuentista's head is the token embedding, as in GPT-2")
        }
        if addCrossAttention {
            throw ConfigError(file: file, field: "add_cross_attention",
                              reason: "true (cross-attention blocks for encoder-decoder use) is not supported: Cuentista runs GPT-2 as a language model")
        }
    }

    /// What `transformers` accepts but a user should know: ids that can never be produced.
    public var warnings: [String] {
        [("bos_token_id", bosTokenId), ("eos_token_id", eosTokenId)].compactMap { name, id in
            guard let id, id < 0 || id >= vocabSize else { return nil }
            return "\(name) \(id) is outside the vocabulary (size \(vocabSize)); the model can never produce it"
                + (name == "eos_token_id" ? ", so generation ends only at the length limit or a stop string" : "")
        }
    }

    /// Reads and validates `config.json`.
    public static func load(file: String) throws(ConfigError) -> GPT2Config {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(file: file, field: nil, reason: "cannot read the file")
        }
        let config: GPT2Config
        do {
            config = try JSONDecoder().decode(GPT2Config.self, from: data)
        } catch let DecodingError.typeMismatch(type, context) {
            throw ConfigError(file: file, field: context.codingPath.last?.stringValue, reason: "expected a value of type \(type)")
        } catch let DecodingError.valueNotFound(type, context) {
            throw ConfigError(file: file, field: context.codingPath.last?.stringValue, reason: "expected a value of type \(type), found null")
        } catch {
            throw ConfigError(file: file, field: nil, reason: "not valid JSON")
        }
        try config.validate(file: file)
        return config
    }

    /// Named shapes for models created from scratch (`init:tiny` and friends).
    public static func named(_ name: String) -> GPT2Config? {
        switch name {
        case "tiny": return GPT2Config(vocabSize: 512, nPositions: 128, nEmbd: 64, nLayer: 2, nHead: 4)
        case "mini": return GPT2Config(vocabSize: 8192, nPositions: 256, nEmbd: 256, nLayer: 4, nHead: 4)
        case "small", "gpt2": return GPT2Config()
        case "medium": return GPT2Config(nEmbd: 1024, nLayer: 24, nHead: 16)
        default: return nil
        }
    }
}

public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public let file: String
    public let field: String?
    public let reason: String

    public var description: String {
        if let field { return "\(file): field '\(field)': \(reason)" }
        return "\(file): \(reason)"
    }
}
