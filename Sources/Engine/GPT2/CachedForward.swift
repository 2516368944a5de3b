import Kernels

/// One new token of one sequence, for `GPT2.forward(items:cache:)`.
public struct CachedToken: Sendable, Equatable {
    public let slot: Int
    public let token: Int32
    /// Whether the caller needs this position's logits.
    public let wantsLogits: Bool

    public init(slot: Int, token: Int32, wantsLogits: Bool) {
        self.slot = slot
        self.token = token
        self.wantsLogits = wantsLogits
    }
}

extension GPT2 {
    /// Largest call that runs on `DecodeWeights` (beyond it sgemm's blocking wins).
    public static let decodeRowLimit = 16

    /// Runs new tokens of any number of sequences in one pass, using and extending the KV
    /// cache: a prompt's prefill is all its tokens in one slot, a decode step is one token per
    /// slot, and both can be mixed (a request joining a running batch). Each token attends to
    /// its own slot's cached positions up to and including its own. Returns the logits
    /// (rows, V) of the tokens that asked for them, in order.
    ///
    /// With `decodeWeights`, calls of up to `decodeRowLimit` tokens (decode steps) run on
    /// those weights; larger ones (prefills) use sgemm on the model's own weights.
    public func forward(items: [CachedToken], cache: KVCache, decodeWeights: DecodeWeights? = nil) throws(ModelError) -> [Float] {
        let N = items.count
        guard N > 0 else { return [] }
        let C = config.nEmbd, NH = config.nHead, H = config.mlpWidth, V = config.vocabSize
        let hs = C / NH
        let p = parameters
        let eps = config.layerNormEpsilon

        // Positions: each slot continues from its cached length.
        var positions = [Int](repeating: 0, count: N)
        var added = [Int](repeating: 0, count: cache.slots)
        for (i, item) in items.enumerated() {
            guard item.slot >= 0 && item.slot < cache.slots else { throw .invalidSlot(item.slot) }
            guard item.token >= 0 && Int(item.token) < V else { throw .tokenOutOfRange(token: Int(item.token), vocabularySize: V) }
            positions[i] = cache.lengths[item.slot] + added[item.slot]
            added[item.slot] += 1
            guard positions[i] < cache.maxLength else {
                throw .sequenceTooLong(length: positions[i] + 1, limit: cache.maxLength)
            }
        }

        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: N * (8 * C + 2 * H))
        defer { buffer.deallocate() }
        let x = buffer, ln = x + N * C, qkv = ln + N * C, atty = qkv + N * 3 * C, proj = atty + N * C
        let fch = proj + N * C, gelu = fch + N * H

        let wte = p.pointer(.wte), wpe = p.pointer(.wpe)
        Parallel.forEach(N, grain: 8) { i in
            let row = x + i * C, token = wte + Int(items[i].token) * C, position = wpe + positions[i] * C
            for c in 0..<C { row[c] = token[c] + position[c] }
        }
        let fast = N <= Self.decodeRowLimit ? decodeWeights : nil
        let linear: Linear = fast.map { weights in
            { weight, bias, layer, out, inp in weights.matmul(weight, layer: layer, out: out, x: inp, M: N, bias: p.pointer(bias, layer: layer)) }
        } ?? sgemmLinear(rows: N)
        // The residual stream x is updated in place; one scratch serves every layer.
        let buffers = BlockBuffers(ln1: ln, ln1Mean: nil, ln1Rstd: nil, qkv: qkv, atty: atty, attproj: proj, residual2: x,
                                   ln2: ln, ln2Mean: nil, ln2Rstd: nil, fch: fch, fchGelu: gelu, fcproj: proj, residual3: x)
        for l in 0..<config.nLayer {
            block(l, input: x, N: N, buffers: buffers, linear: linear, attention: { qkv, atty in
                // Each token's key and value join its slot's cache, then it attends to the
                // slot's positions up to and including its own.
                for i in 0..<N {
                    let at = cache.offset(layer: l, slot: items[i].slot, position: positions[i])
                    (cache.keys + at).update(from: qkv + i * 3 * C + C, count: C)
                    (cache.values + at).update(from: qkv + i * 3 * C + 2 * C, count: C)
                }
                let keys = cache.keys, values = cache.values
                let scale = config.attentionScale(layer: l)
                Parallel.forEach(N * NH) { task in
                    let i = task / NH, h = task % NH
                    let length = positions[i] + 1
                    let start = cache.offset(layer: l, slot: items[i].slot, position: 0) + h * hs
                    let q = qkv + i * 3 * C + h * hs
                    let scores = UnsafeMutablePointer<Float>.allocate(capacity: length)
                    defer { scores.deallocate() }
                    for t in 0..<length { scores[t] = dot(q, keys + start + t * C, hs) * scale }
                    Attention.causalSoftmaxRow(scores, valid: length, length: length)
                    Attention.weightedSum(scores, count: length, values: values + start, stride: C, out: atty + i * C + h * hs, hs: hs)
                }
            }, dropout: nil)
        }
        for (slot, count) in added.enumerated() where count > 0 { cache.advance(slot: slot, by: count) }

        // The head only for the rows asked for: it is the largest product of a decode step.
        let wanted = items.indices.filter { items[$0].wantsLogits }
        guard !wanted.isEmpty else { return [] }
        for (row, i) in wanted.enumerated() { (ln + row * C).update(from: x + i * C, count: C) }
        LayerNorm.forward(out: atty, mean: nil, rstd: nil, inp: ln, weight: p.pointer(.lnfw), bias: p.pointer(.lnfb), N: wanted.count, C: C, eps: eps)
        var logits = [Float](repeating: 0, count: wanted.count * V)
        logits.withUnsafeMutableBufferPointer { out in
            if let fast {
                fast.head(out: out.baseAddress!, x: atty, M: wanted.count)
            } else {
                Matmul.forwardTransposed(out: out.baseAddress!, inp: atty, weight: wte, N: wanted.count, C: C, V: V)
            }
        }
        return logits
    }
}
