import Foundation
import GPT2
import Kernels

/// Cuentista side of `scripts/bench`: each subcommand prints one JSON object.
/// Usage: cuentista-bench forward MODEL_DIR BATCH SEQ ITERS
///        cuentista-bench sgemm M N K ITERS
let arguments = CommandLine.arguments
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func json(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

switch arguments.dropFirst().first {
case "forward":
    guard arguments.count == 6, let B = Int(arguments[3]), let T = Int(arguments[4]), let iters = Int(arguments[5]) else {
        fatalError("usage: cuentista-bench forward MODEL_DIR BATCH SEQ ITERS")
    }
    var loaded: LoadedModel!
    let load = try seconds { loaded = try ModelLoader.load(directory: arguments[2]) }
    let model = loaded.model
    var generator = SystemRandomNumberGenerator()
    let tokens = (0..<(B * T)).map { _ in Int32.random(in: 0..<Int32(model.config.vocabSize), using: &generator) }
    let acts = Activations(config: model.config, B: B, T: T)
    try tokens.withUnsafeBufferPointer { buffer in
        try model.forward(tokens: buffer.baseAddress!, acts: acts)  // warm-up
        var best = Double.infinity
        for _ in 0..<iters {
            best = min(best, try seconds { try model.forward(tokens: buffer.baseAddress!, acts: acts) })
        }
        json(["load_s": load, "forward_s": best, "tokens_per_s": Double(B * T) / best,
              "openblas_core": OpenBLAS.shared.coreName, "threads": Parallel.cores])
    }
case "sgemm":
    guard arguments.count == 6, let M = Int(arguments[2]), let N = Int(arguments[3]), let K = Int(arguments[4]),
          let iters = Int(arguments[5]) else { fatalError("usage: cuentista-bench sgemm M N K ITERS") }
    let a = [Float](repeating: 0.5, count: M * K), b = [Float](repeating: 0.25, count: K * N)
    var c = [Float](repeating: 0, count: M * N)
    var best = Double.infinity
    for _ in 0...iters {
        // Through Matmul, i.e. split over Cuentista's threads as the model runs it.
        best = min(best, seconds { Matmul.forward(out: &c, inp: a, weight: b, bias: nil, N: M, C: K, OC: N) })
    }
    json(["gflops": 2.0 * Double(M * N * K) / best / 1e9, "openblas_core": OpenBLAS.shared.coreName, "threads": Parallel.cores])
case "kernels":
    // Each layer kernel alone at GPT-2 small's shapes (B=4, T=256): where the forward time goes.
    let (B, T, C, NH, V) = (4, 256, 768, 12, 50257)
    let BT = B * T
    func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
        for i in 0..<n { p[i] = Float(i % 97) * 0.01 - 0.4 }
        return p
    }
    let x = buffer(BT * C), y = buffer(BT * 4 * C), qkv = buffer(BT * 3 * C), att = buffer(B * NH * T * T)
    let w = buffer(C * 4 * C), bias = buffer(4 * C), wte = buffer(V * C), logits = buffer(BT * V)
    let mean = buffer(BT), rstd = buffer(BT)
    var report: [String: Double] = [:]
    func time(_ name: String, _ body: () -> Void) {
        body()
        var best = Double.infinity
        for _ in 0..<3 { best = min(best, seconds(body)) }
        report[name] = best * 1000
    }
    time("layernorm_ms") { LayerNorm.forward(out: y, mean: mean, rstd: rstd, inp: x, weight: bias, bias: bias, N: BT, C: C, eps: 1e-5) }
    time("matmul_qkv_ms") { Matmul.forward(out: qkv, inp: x, weight: w, bias: bias, N: BT, C: C, OC: 3 * C) }
    time("matmul_fc_ms") { Matmul.forward(out: y, inp: x, weight: w, bias: bias, N: BT, C: C, OC: 4 * C) }
    time("matmul_fcproj_ms") { Matmul.forward(out: x, inp: y, weight: w, bias: bias, N: BT, C: 4 * C, OC: C) }
    time("attention_ms") { Attention.forward(out: x, att: att, qkv: qkv, B: B, T: T, C: C, NH: NH) }
    time("gelu_ms") { Activation.geluTanh.forward(out: y, inp: y, N: BT * 4 * C) }
    time("residual_ms") { Elementwise.residualForward(out: x, a: x, b: x, N: BT * C) }
    time("lm_head_ms") { Matmul.forwardTransposed(out: logits, inp: x, weight: wte, N: BT, C: C, V: V) }
    for chunk in [2048, 4096, 8192] {
        time("lm_head_chunk\(chunk)_ms") {
            var v0 = 0
            while v0 < V {
                let n = min(chunk, V - v0)
                Matmul.sgemm(transB: true, M: BT, N: n, K: C, A: x, lda: C, B: wte + v0 * C, ldb: C, C: logits + v0, ldc: V)
                v0 += n
            }
        }
    }
    json(report)
default:
    fatalError("usage: cuentista-bench forward|sgemm|kernels ...")
}
