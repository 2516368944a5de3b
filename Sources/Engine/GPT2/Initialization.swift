import Foundation
import Kernels

extension GPT2 {
    /// A fresh model with GPT-2's initialisation (as `transformers`' `_init_weights`): weights
    /// normal(0, 0.02), the residual projections (attn.c_proj, mlp.c_proj) scaled by
    /// 1/sqrt(2 n_layer), biases 0, LayerNorm gains 1. Seeded, so reproducible.
    public static func randomlyInitialized(config: GPT2Config, seed: UInt64) -> GPT2 {
        let parameters = ParameterBuffer(layout: ParameterLayout(config: config))
        var generator = SeededGenerator(seed: seed)
        let residualScale = Float(1 / (2 * Double(config.nLayer)).squareRoot())
        for slot in parameters.layout.slots {
            let values = parameters.slice(slot)
            switch slot.kind {
            case .ln1w, .ln2w, .lnfw: values.update(repeating: 1)
            case .ln1b, .ln2b, .lnfb, .qkvb, .attprojb, .fcb, .fcprojb: values.update(repeating: 0)
            case .wte, .wpe, .qkvw, .attprojw, .fcw, .fcprojw:
                let std: Float = 0.02 * (slot.kind == .attprojw || slot.kind == .fcprojw ? residualScale : 1)
                var i = 0
                while i < values.count {
                    // Box-Muller: two normals per pair of uniforms.
                    let u1 = max(generator.unit(), 1e-300), u2 = generator.unit()
                    let radius = (-2 * log(u1)).squareRoot()
                    values[i] = std * Float(radius * cos(2 * .pi * u2))
                    if i + 1 < values.count { values[i + 1] = std * Float(radius * sin(2 * .pi * u2)) }
                    i += 2
                }
            }
        }
        return GPT2(config: config, parameters: parameters)
    }
}
