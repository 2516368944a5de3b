import Kernels

/// Training-time dropout: probabilities from config.json and a seed per micro-batch.
public struct DropoutSettings: Sendable, Equatable {
    public var embedding: Float
    public var attention: Float
    public var residual: Float
    public var seed: UInt64

    public init(embedding: Float, attention: Float, residual: Float, seed: UInt64) {
        self.embedding = embedding
        self.attention = attention
        self.residual = residual
        self.seed = seed
    }

    public init(config: GPT2Config, seed: UInt64) {
        self.init(embedding: config.embdPdrop, attention: config.attnPdrop, residual: config.residPdrop, seed: seed)
    }

    // One mask stream per place dropout is applied.
    func embeddingSite() -> Dropout { Dropout(probability: embedding, seed: seed).site(0) }
    func attentionSite(_ layer: Int) -> Dropout { Dropout(probability: attention, seed: seed).site(1 + 3 * layer) }
    func attentionOutputSite(_ layer: Int) -> Dropout { Dropout(probability: residual, seed: seed).site(2 + 3 * layer) }
    func mlpOutputSite(_ layer: Int) -> Dropout { Dropout(probability: residual, seed: seed).site(3 + 3 * layer) }
}

/// Buffers for one forward pass of shape (B, T). Training keeps every layer's activations
/// for the backward pass; inference (`keepsAllLayers == false`) reuses one layer's buffers,
/// which is safe because each layer only reads the residual stream it was given.
public final class Activations: @unchecked Sendable {
    public let B: Int
    public let T: Int
    public let keepsAllLayers: Bool
    /// Dropout for the next forward (and its backward); nil in inference.
    public var dropout: DropoutSettings?
    let config: GPT2Config
    private var buffers: [UnsafeMutableBufferPointer<Float>] = []

    public let encoded: UnsafeMutablePointer<Float>     // (B,T,C)
    let ln1: UnsafeMutablePointer<Float>                // (L,B,T,C)
    let ln1Mean: UnsafeMutablePointer<Float>            // (L,B,T)
    let ln1Rstd: UnsafeMutablePointer<Float>            // (L,B,T)
    let qkv: UnsafeMutablePointer<Float>                // (L,B,T,3C)
    let atty: UnsafeMutablePointer<Float>               // (L,B,T,C)
    let att: UnsafeMutablePointer<Float>                // (L,B,NH,T,T)
    let attproj: UnsafeMutablePointer<Float>            // (L,B,T,C)
    let residual2: UnsafeMutablePointer<Float>          // (L,B,T,C)
    let ln2: UnsafeMutablePointer<Float>                // (L,B,T,C)
    let ln2Mean: UnsafeMutablePointer<Float>            // (L,B,T)
    let ln2Rstd: UnsafeMutablePointer<Float>            // (L,B,T)
    let fch: UnsafeMutablePointer<Float>                // (L,B,T,H)
    let fchGelu: UnsafeMutablePointer<Float>            // (L,B,T,H)
    let fcproj: UnsafeMutablePointer<Float>             // (L,B,T,C)
    let residual3: UnsafeMutablePointer<Float>          // (L,B,T,C)
    let lnf: UnsafeMutablePointer<Float>                // (B,T,C)
    let lnfMean: UnsafeMutablePointer<Float>            // (B,T)
    let lnfRstd: UnsafeMutablePointer<Float>            // (B,T)
    public let logits: UnsafeMutablePointer<Float>      // (B,T,V)

    public init(config: GPT2Config, B: Int, T: Int, keepsAllLayers: Bool = false) {
        self.config = config
        self.B = B
        self.T = T
        self.keepsAllLayers = keepsAllLayers
        let L = keepsAllLayers ? config.nLayer : 1
        let BT = B * T, C = config.nEmbd, H = config.mlpWidth, NH = config.nHead
        var buffers: [UnsafeMutableBufferPointer<Float>] = []
        func make(_ count: Int) -> UnsafeMutablePointer<Float> {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64)
            let buffer = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Float.self, capacity: count), count: count)
            buffer.initialize(repeating: 0)
            buffers.append(buffer)
            return buffer.baseAddress!
        }
        encoded = make(BT * C)
        ln1 = make(L * BT * C); ln1Mean = make(L * BT); ln1Rstd = make(L * BT)
        qkv = make(L * BT * 3 * C); atty = make(L * BT * C); att = make(L * B * NH * T * T)
        attproj = make(L * BT * C); residual2 = make(L * BT * C)
        ln2 = make(L * BT * C); ln2Mean = make(L * BT); ln2Rstd = make(L * BT)
        fch = make(L * BT * H); fchGelu = make(L * BT * H); fcproj = make(L * BT * C); residual3 = make(L * BT * C)
        lnf = make(BT * C); lnfMean = make(BT); lnfRstd = make(BT)
        logits = make(BT * config.vocabSize)
        self.buffers = buffers
    }

    deinit {
        for buffer in buffers { UnsafeMutableRawPointer(buffer.baseAddress!).deallocate() }
        backwardScratch?.deallocate()
    }

    /// Gradient buffers of the backward pass, allocated on first use and kept: fresh pages
    /// every step cost page faults.
    private var backwardScratch: UnsafeMutablePointer<Float>?
    func scratchForBackward(count: Int) -> UnsafeMutablePointer<Float> {
        if let backwardScratch { return backwardScratch }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: count)
        backwardScratch = scratch
        return scratch
    }

    /// Index of layer `l`'s buffers.
    @inline(__always) func slot(_ l: Int) -> Int { keepsAllLayers ? l : 0 }

    /// Bytes held by these buffers.
    public var byteCount: Int { buffers.reduce(0) { $0 + $1.count * 4 } }
}
