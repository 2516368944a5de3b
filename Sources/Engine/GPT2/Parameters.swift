/// The model's parameters in one flat float buffer, grouped by kind across layers as llm.c
/// does (all layers' qkv weights together, ...). Gradients and optimizer moments use the same
/// layout, so a whole-model update is one loop over one buffer.
public enum ParameterKind: Int, CaseIterable, Sendable {
    case wte, wpe, ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb, lnfw, lnfb

    /// Shape of one layer's tensor (or of the whole tensor for non-layer kinds), as Hugging
    /// Face stores it: Conv1D weights are (in, out).
    public func shape(_ c: GPT2Config) -> [Int] {
        let C = c.nEmbd, H = c.mlpWidth
        switch self {
        case .wte: return [c.vocabSize, C]
        case .wpe: return [c.nPositions, C]
        case .ln1w, .ln1b, .ln2w, .ln2b, .attprojb, .fcprojb, .lnfw, .lnfb: return [C]
        case .qkvw: return [C, 3 * C]
        case .qkvb: return [3 * C]
        case .attprojw: return [C, C]
        case .fcw: return [C, H]
        case .fcb: return [H]
        case .fcprojw: return [H, C]
        }
    }

    public var isPerLayer: Bool { !(self == .wte || self == .wpe || self == .lnfw || self == .lnfb) }

    /// Hugging Face name without the `transformer.` prefix.
    public func huggingFaceName(layer: Int) -> String {
        switch self {
        case .wte: return "wte.weight"
        case .wpe: return "wpe.weight"
        case .lnfw: return "ln_f.weight"
        case .lnfb: return "ln_f.bias"
        case .ln1w: return "h.\(layer).ln_1.weight"
        case .ln1b: return "h.\(layer).ln_1.bias"
        case .qkvw: return "h.\(layer).attn.c_attn.weight"
        case .qkvb: return "h.\(layer).attn.c_attn.bias"
        case .attprojw: return "h.\(layer).attn.c_proj.weight"
        case .attprojb: return "h.\(layer).attn.c_proj.bias"
        case .ln2w: return "h.\(layer).ln_2.weight"
        case .ln2b: return "h.\(layer).ln_2.bias"
        case .fcw: return "h.\(layer).mlp.c_fc.weight"
        case .fcb: return "h.\(layer).mlp.c_fc.bias"
        case .fcprojw: return "h.\(layer).mlp.c_proj.weight"
        case .fcprojb: return "h.\(layer).mlp.c_proj.bias"
        }
    }

    /// AdamW decays matrices and embeddings, not biases or LayerNorm gains (Trainer default).
    public var takesWeightDecay: Bool {
        switch self {
        case .wte, .wpe, .qkvw, .attprojw, .fcw, .fcprojw: return true
        default: return false
        }
    }
}

/// One tensor of the checkpoint: where it lives in the flat buffer.
public struct ParameterSlot: Sendable {
    public let kind: ParameterKind
    public let layer: Int
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    public var huggingFaceName: String { kind.huggingFaceName(layer: layer) }
}

public struct ParameterLayout: Sendable {
    public let config: GPT2Config
    public let slots: [ParameterSlot]
    public let totalCount: Int
    private let kindOffsets: [Int]

    public init(config: GPT2Config) {
        self.config = config
        var slots: [ParameterSlot] = []
        var kindOffsets: [Int] = []
        var offset = 0
        for kind in ParameterKind.allCases {
            kindOffsets.append(offset)
            let shape = kind.shape(config)
            for layer in 0..<(kind.isPerLayer ? config.nLayer : 1) {
                slots.append(ParameterSlot(kind: kind, layer: layer, shape: shape, offset: offset))
                offset += shape.reduce(1, *)
            }
        }
        self.slots = slots
        self.kindOffsets = kindOffsets
        totalCount = offset
    }

    public func offset(_ kind: ParameterKind, layer: Int = 0) -> Int {
        kindOffsets[kind.rawValue] + layer * kind.shape(config).reduce(1, *)
    }

    /// Checkpoint order: the order `transformers` writes a GPT-2 state dict in.
    public var checkpointOrder: [ParameterSlot] {
        let byName = Dictionary(uniqueKeysWithValues: slots.map { ($0.huggingFaceName, $0) })
        var order: [ParameterSlot] = [byName["wte.weight"]!, byName["wpe.weight"]!]
        let perLayer: [ParameterKind] = [.ln1w, .ln1b, .qkvw, .qkvb, .attprojw, .attprojb, .ln2w, .ln2b, .fcw, .fcb, .fcprojw, .fcprojb]
        for layer in 0..<config.nLayer {
            for kind in perLayer { order.append(byName[kind.huggingFaceName(layer: layer)]!) }
        }
        order.append(byName["ln_f.weight"]!)
        order.append(byName["ln_f.bias"]!)
        return order
    }
}

/// An owned, 64-byte aligned float buffer laid out by `ParameterLayout`.
public final class ParameterBuffer: @unchecked Sendable {
    public let layout: ParameterLayout
    public let storage: UnsafeMutableBufferPointer<Float>

    public init(layout: ParameterLayout, zeroed: Bool = true) {
        self.layout = layout
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, layout.totalCount) * 4, alignment: 64)
        storage = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Float.self, capacity: layout.totalCount), count: layout.totalCount)
        if zeroed { storage.initialize(repeating: 0) }
    }

    deinit { storage.baseAddress.map { UnsafeMutableRawPointer($0).deallocate() } }

    public func pointer(_ kind: ParameterKind, layer: Int = 0) -> UnsafeMutablePointer<Float> {
        storage.baseAddress! + layout.offset(kind, layer: layer)
    }

    public func slice(_ slot: ParameterSlot) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: storage[slot.offset..<(slot.offset + slot.count)])
    }
}
