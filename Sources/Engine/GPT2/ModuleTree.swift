import Foundation

/// The module tree as PyTorch prints a `GPT2LMHeadModel`, so a user can compare what
/// Cuentista loaded with what the notebook showed.
public enum ModuleTree {
    public static func describe(_ c: GPT2Config) -> String {
        let C = c.nEmbd, H = c.mlpWidth
        let eps = pythonFloat(c.layerNormEpsilon)
        let layerNorm = "LayerNorm((\(C),), eps=\(eps), elementwise_affine=True, bias=True)"
        func dropout(_ p: Float) -> String { "Dropout(p=\(pythonFloat(p)), inplace=False)" }
        // As transformers 5 prints ACT2FN's modules.
        let activation = [
            "gelu_new": "NewGELUActivation()", "gelu_pytorch_tanh": "GELUTanh()", "gelu_python_tanh": "GELUTanh()",
            "gelu_fast": "FastGELUActivation()", "gelu_accurate": "AccurateGELUActivation()", "gelu": "GELUActivation()",
            "gelu_python": "GELUActivation()", "quick_gelu": "QuickGELUActivation()", "relu": "ReLU()",
            "silu": "SiLUActivation()", "swish": "SiLU()", "tanh": "Tanh()", "sigmoid": "Sigmoid()", "linear": "LinearActivation()",
        ][c.activationFunction] ?? c.activationFunction
        let layers = c.nLayer == 1 ? "(0)" : "(0-\(c.nLayer - 1)): \(c.nLayer) x"
        return """
        GPT2LMHeadModel(
          (transformer): GPT2Model(
            (wte): Embedding(\(c.vocabSize), \(C))
            (wpe): Embedding(\(c.nPositions), \(C))
            (drop): \(dropout(c.embdPdrop))
            (h): ModuleList(
              \(layers) GPT2Block(
                (ln_1): \(layerNorm)
                (attn): GPT2Attention(
                  (c_attn): Conv1D(nf=\(3 * C), nx=\(C))
                  (c_proj): Conv1D(nf=\(C), nx=\(C))
                  (attn_dropout): \(dropout(c.attnPdrop))
                  (resid_dropout): \(dropout(c.residPdrop))
                )
                (ln_2): \(layerNorm)
                (mlp): GPT2MLP(
                  (c_fc): Conv1D(nf=\(H), nx=\(C))
                  (c_proj): Conv1D(nf=\(C), nx=\(H))
                  (act): \(activation)
                  (dropout): \(dropout(c.residPdrop))
                )
              )
            )
            (ln_f): \(layerNorm)
          )
          (lm_head): Linear(in_features=\(C), out_features=\(c.vocabSize), bias=False)
        )
        """
    }

    /// Python's repr of a float: shortest round-trip digits, exponent form below 1e-4.
    static func pythonFloat(_ value: Float) -> String {
        let double = Double("\(value)") ?? Double(value)
        if double != 0 && abs(double) < 1e-4 {
            let exponent = Int(floor(log10(abs(double))))
            let mantissa = double / pow(10, Double(exponent))
            var m = "\(mantissa)"
            if m.hasSuffix(".0") { m.removeLast(2) }
            return "\(m)e-\(String(format: "%02d", -exponent))"
        }
        return "\(double)"
    }
}
