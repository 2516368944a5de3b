import Kernels

/// Where one transformer block reads and writes, for N rows. The full forward pass gives each
/// layer its own slice of `Activations` (the backward pass reads them); the cached pass gives
/// every layer the same scratch and lets the residual stream be updated in place
/// (`residual2` and `residual3` may be the input, `ln2` may be `ln1`, `fcproj` may be
/// `attproj`): each step reads only what the step before it wrote.
struct BlockBuffers {
    let ln1: UnsafeMutablePointer<Float>, ln1Mean: UnsafeMutablePointer<Float>?, ln1Rstd: UnsafeMutablePointer<Float>?
    let qkv: UnsafeMutablePointer<Float>, atty: UnsafeMutablePointer<Float>
    let attproj: UnsafeMutablePointer<Float>, residual2: UnsafeMutablePointer<Float>
    let ln2: UnsafeMutablePointer<Float>, ln2Mean: UnsafeMutablePointer<Float>?, ln2Rstd: UnsafeMutablePointer<Float>?
    let fch: UnsafeMutablePointer<Float>, fchGelu: UnsafeMutablePointer<Float>
    let fcproj: UnsafeMutablePointer<Float>, residual3: UnsafeMutablePointer<Float>
}

extension GPT2 {
    /// out (N, OC) = inp (N, C) @ weight + bias for one of a layer's four matrices.
    typealias Linear = (_ weight: ParameterKind, _ bias: ParameterKind, _ layer: Int,
                        _ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>) -> Void

    /// The one transformer block of GPT-2, for training and inference alike (nanoGPT's
    /// `Block`): x + attn(ln_1(x)), then + mlp(ln_2(.)). The caller chooses how the matrix
    /// products run (`linear`: sgemm or the decode weights) and how attention sees the past
    /// (`attention`: the causal mask over the rows given, or the KV cache); dropout applies
    /// in training only. Leaves the block's output in `buffers.residual3`.
    func block(
        _ l: Int, input: UnsafePointer<Float>, N: Int, buffers b: BlockBuffers, linear: Linear,
        attention: (_ qkv: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) -> Void,
        dropout: DropoutSettings?
    ) {
        let C = config.nEmbd, H = config.mlpWidth, eps = config.layerNormEpsilon, p = parameters
        LayerNorm.forward(out: b.ln1, mean: b.ln1Mean, rstd: b.ln1Rstd, inp: input,
                          weight: p.pointer(.ln1w, layer: l), bias: p.pointer(.ln1b, layer: l), N: N, C: C, eps: eps)
        linear(.qkvw, .qkvb, l, b.qkv, b.ln1)
        attention(b.qkv, b.atty)
        linear(.attprojw, .attprojb, l, b.attproj, b.atty)
        dropout?.attentionOutputSite(l).apply(b.attproj, count: N * C)
        Elementwise.residualForward(out: b.residual2, a: input, b: b.attproj, N: N * C)
        LayerNorm.forward(out: b.ln2, mean: b.ln2Mean, rstd: b.ln2Rstd, inp: b.residual2,
                          weight: p.pointer(.ln2w, layer: l), bias: p.pointer(.ln2b, layer: l), N: N, C: C, eps: eps)
        linear(.fcw, .fcb, l, b.fch, b.ln2)
        activation.forward(out: b.fchGelu, inp: b.fch, N: N * H)
        linear(.fcprojw, .fcprojb, l, b.fcproj, b.fchGelu)
        dropout?.mlpOutputSite(l).apply(b.fcproj, count: N * C)
        Elementwise.residualForward(out: b.residual3, a: b.residual2, b: b.fcproj, N: N * C)
    }

    /// `linear` for sgemm on the model's own (in, out) weights.
    func sgemmLinear(rows N: Int) -> Linear {
        { [config, parameters] weight, bias, layer, out, inp in
            let shape = weight.shape(config)
            Matmul.forward(out: out, inp: inp, weight: parameters.pointer(weight, layer: layer),
                           bias: parameters.pointer(bias, layer: layer), N: N, C: shape[0], OC: shape[1])
        }
    }
}
