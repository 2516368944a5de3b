import Kernels

extension GPT2 {
    /// Loss of next-token prediction and its gradients, after `forward` ran on the same
    /// tokens with `acts.keepsAllLayers`. targets (B,T) holds the token each position should
    /// predict, or -100 where nothing is to be learned (padding, the last position). Gradients
    /// are accumulated into `grads` (same layout as the parameters). The logits in `acts` are
    /// replaced by their gradient.
    public func backward(tokens: UnsafePointer<Int32>, targets: UnsafePointer<Int32>, acts: Activations,
                         grads: ParameterBuffer) -> (loss: Float, count: Int) {
        precondition(acts.keepsAllLayers, "backward needs the activations of every layer")
        let B = acts.B, T = acts.T
        let C = config.nEmbd, NH = config.nHead, H = config.mlpWidth, V = config.vocabSize, L = config.nLayer
        let BT = B * T
        let p = parameters, g = grads

        let (loss, count) = CrossEntropy.forwardBackward(logits: acts.logits, targets: targets, N: BT, V: V)

        let scratch = acts.scratchForBackward(count: BT * (3 * C + 3 * C + 2 * H) + B * NH * T * T)
        let dresidual = scratch, dbuffer = dresidual + BT * C, dqkv = dbuffer + BT * C
        let dh1 = dqkv + BT * 3 * C, dh2 = dh1 + BT * H, dscores = dh2 + BT * H, dmasked = dscores + B * NH * T * T
        let dropout = acts.dropout
        /// The gradient reaching a dropped-out branch: dresidual through that site's mask.
        func throughDropout(_ site: Dropout?) -> UnsafePointer<Float> {
            guard let site, site.isActive else { return UnsafePointer(dresidual) }
            dmasked.update(from: dresidual, count: BT * C)
            site.apply(dmasked, count: BT * C)
            return UnsafePointer(dmasked)
        }

        // Head and final LayerNorm.
        Matmul.backwardTransposed(dinp: dbuffer, dweight: g.pointer(.wte), dout: acts.logits, inp: acts.lnf,
                                  weight: p.pointer(.wte), N: BT, C: C, V: V)
        dresidual.update(repeating: 0, count: BT * C)
        let last = acts.residual3 + (L - 1) * BT * C
        LayerNorm.backward(dinp: dresidual, dweight: g.pointer(.lnfw), dbias: g.pointer(.lnfb), dout: dbuffer, inp: last,
                           weight: p.pointer(.lnfw), mean: acts.lnfMean, rstd: acts.lnfRstd, N: BT, C: C)

        for l in stride(from: L - 1, through: 0, by: -1) {
            let residual = l == 0 ? UnsafePointer(acts.encoded) : UnsafePointer(acts.residual3 + (l - 1) * BT * C)
            let ln1 = acts.ln1 + l * BT * C, qkv = acts.qkv + l * BT * 3 * C, atty = acts.atty + l * BT * C
            let att = acts.att + l * B * NH * T * T, residual2 = acts.residual2 + l * BT * C
            let ln2 = acts.ln2 + l * BT * C, fch = acts.fch + l * BT * H, fchGelu = acts.fchGelu + l * BT * H

            // residual3 = residual2 + mlp(ln2(residual2)): dresidual reaches both.
            Matmul.backward(dinp: dh1, dweight: g.pointer(.fcprojw, layer: l), dbias: g.pointer(.fcprojb, layer: l),
                            dout: throughDropout(dropout?.mlpOutputSite(l)), inp: fchGelu, weight: p.pointer(.fcprojw, layer: l), N: BT, C: H, OC: C)
            activation.backward(dinp: dh2, inp: fch, dout: dh1, N: BT * H)
            Matmul.backward(dinp: dbuffer, dweight: g.pointer(.fcw, layer: l), dbias: g.pointer(.fcb, layer: l),
                            dout: dh2, inp: ln2, weight: p.pointer(.fcw, layer: l), N: BT, C: C, OC: H)
            LayerNorm.backward(dinp: dresidual, dweight: g.pointer(.ln2w, layer: l), dbias: g.pointer(.ln2b, layer: l),
                               dout: dbuffer, inp: residual2, weight: p.pointer(.ln2w, layer: l),
                               mean: acts.ln2Mean + l * BT, rstd: acts.ln2Rstd + l * BT, N: BT, C: C)
            // residual2 = residual + attn(ln1(residual)).
            Matmul.backward(dinp: dbuffer, dweight: g.pointer(.attprojw, layer: l), dbias: g.pointer(.attprojb, layer: l),
                            dout: throughDropout(dropout?.attentionOutputSite(l)), inp: atty, weight: p.pointer(.attprojw, layer: l), N: BT, C: C, OC: C)
            Attention.backward(dqkv: dqkv, dout: dbuffer, qkv: qkv, att: att, scratch: dscores, B: B, T: T, C: C, NH: NH,
                               scale: config.attentionScale(layer: l), dropout: dropout?.attentionSite(l))
            Matmul.backward(dinp: dbuffer, dweight: g.pointer(.qkvw, layer: l), dbias: g.pointer(.qkvb, layer: l),
                            dout: dqkv, inp: ln1, weight: p.pointer(.qkvw, layer: l), N: BT, C: C, OC: 3 * C)
            LayerNorm.backward(dinp: dresidual, dweight: g.pointer(.ln1w, layer: l), dbias: g.pointer(.ln1b, layer: l),
                               dout: dbuffer, inp: residual, weight: p.pointer(.ln1w, layer: l),
                               mean: acts.ln1Mean + l * BT, rstd: acts.ln1Rstd + l * BT, N: BT, C: C)
        }
        dropout?.embeddingSite().apply(dresidual, count: BT * C)
        Elementwise.encoderBackward(dwte: g.pointer(.wte), dwpe: g.pointer(.wpe), dout: dresidual, tokens: tokens, B: B, T: T, C: C)
        return (loss, count)
    }
}
