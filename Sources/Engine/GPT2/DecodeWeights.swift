import Kernels

/// The weights of a model laid out for decoding: every matrix as (out, in) rows in float32 or
/// bfloat16 (see `DecodeMatmul`). The tied head uses wte, already (vocab, in).
public final class DecodeWeights: @unchecked Sendable {
    public let precision: WeightPrecision
    let config: GPT2Config
    private let storage: UnsafeMutableRawPointer
    private let offsets: [ParameterKind: [Int]]
    private let headOffset: Int?
    private let parameters: ParameterBuffer
    public let byteCount: Int

    static let matrices: [ParameterKind] = [.qkvw, .attprojw, .fcw, .fcprojw]

    public init(model: GPT2, precision: WeightPrecision) {
        self.precision = precision
        config = model.config
        parameters = model.parameters
        let size = precision == .fp32 ? 4 : 2
        var offsets: [ParameterKind: [Int]] = [:]
        var total = 0
        for kind in Self.matrices {
            let count = kind.shape(config).reduce(1, *)
            offsets[kind] = (0..<config.nLayer).map { total + $0 * count * size }
            total += config.nLayer * count * size
        }
        // bf16 needs its own copy of the head; fp32 reads wte in place.
        headOffset = precision == .bf16 ? total : nil
        if precision == .bf16 { total += config.vocabSize * config.nEmbd * size }
        self.offsets = offsets
        byteCount = total
        storage = .allocate(byteCount: max(total, 1), alignment: 64)

        // Sized from the largest matrix it receives, whichever that is for this shape (c_attn
        // is 3C x C, the MLP's are H x C, and H may be anything from 1 up).
        let scratchCount = Self.matrices.map { $0.shape(config).reduce(1, *) }.max() ?? 0
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratchCount))
        defer { scratch.deallocate() }
        for kind in Self.matrices {
            let shape = kind.shape(config)  // (in, out) as stored
            let (rows, columns) = (shape[0], shape[1])
            precondition(rows * columns <= scratchCount)
            for layer in 0..<config.nLayer {
                let source = UnsafePointer(model.parameters.pointer(kind, layer: layer))
                // (in, out) -> (out, in), in 32 x 32 tiles so both sides stay in cache.
                let tile = 32
                Parallel.forEach((columns + tile - 1) / tile) { block in
                    let o0 = block * tile, o1 = min(o0 + tile, columns)
                    var i0 = 0
                    while i0 < rows {
                        let i1 = min(i0 + tile, rows)
                        for i in i0..<i1 {
                            for o in o0..<o1 { scratch[o * rows + i] = source[i * columns + o] }
                        }
                        i0 = i1
                    }
                }
                store(scratch, count: rows * columns, at: offsets[kind]![layer])
            }
        }
        if let headOffset { store(model.parameters.pointer(.wte), count: config.vocabSize * config.nEmbd, at: headOffset) }
    }

    deinit { storage.deallocate() }

    private func store(_ values: UnsafePointer<Float>, count: Int, at offset: Int) {
        switch precision {
        case .fp32: (storage + offset).bindMemory(to: Float.self, capacity: count).update(from: values, count: count)
        case .bf16: BFloat16Rows.convert(values, to: (storage + offset).bindMemory(to: UInt16.self, capacity: count), count: count)
        }
    }

    /// out (M, O) = x (M, K) @ W + bias for one of the model's matrices.
    func matmul(_ kind: ParameterKind, layer: Int, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, M: Int,
                bias: UnsafePointer<Float>) {
        let shape = kind.shape(config)
        let weights = UnsafeRawPointer(storage + offsets[kind]![layer])
        switch precision {
        case .fp32: DecodeMatmul.forward(Float32Rows.self, out: out, x: x, M: M, K: shape[0], weights: weights, O: shape[1], bias: bias)
        case .bf16: DecodeMatmul.forward(BFloat16Rows.self, out: out, x: x, M: M, K: shape[0], weights: weights, O: shape[1], bias: bias)
        }
    }

    /// logits (M, V) = x (M, C) @ wte^T.
    func head(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, M: Int) {
        let C = config.nEmbd, V = config.vocabSize
        if let headOffset {
            DecodeMatmul.forward(BFloat16Rows.self, out: out, x: x, M: M, K: C, weights: UnsafeRawPointer(storage + headOffset), O: V, bias: nil)
        } else {
            DecodeMatmul.forward(Float32Rows.self, out: out, x: x, M: M, K: C, weights: UnsafeRawPointer(parameters.pointer(.wte)), O: V, bias: nil)
        }
    }
}
