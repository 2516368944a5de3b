import Coordinator
import Foundation
import GPT2
import Generation
import Jobs
import Kernels
import Tokenizer
import Training

/// Cuentista side of `scripts/bench`: each subcommand prints one JSON object.
/// Usage: cuentista-bench forward MODEL_DIR BATCH SEQ ITERS [fp32|bf16]
///        cuentista-bench sgemm M N K ITERS
///        cuentista-bench decode MODEL_DIR BATCH PROMPT NEW
///        cuentista-bench bandwidth
///        cuentista-bench encode TOKENIZER_DIR TEXT_FILE ROUNDS
///        cuentista-bench train MODEL_DIR BATCH SEQ STEPS
///        cuentista-bench jobstore DIR COUNT
///        cuentista-bench roundtrip ENDPOINT DATA_DIR TOKENIZER CLIENTS REQUESTS
///        cuentista-bench serve ENDPOINT CLIENTS REQUESTS PROMPT NEW VOCAB
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
              "openblas_core": OpenBLAS.shared.coreName, "threads": Parallel.threads])
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
    json(["gflops": 2.0 * Double(M * N * K) / best / 1e9, "openblas_core": OpenBLAS.shared.coreName, "threads": Parallel.threads])
case "decode":
    // Greedy decoding with the KV cache, EOS ignored: every sequence makes NEW tokens.
    guard arguments.count >= 6, let B = Int(arguments[3]), let P = Int(arguments[4]), let N = Int(arguments[5]) else {
        fatalError("usage: cuentista-bench decode MODEL_DIR BATCH PROMPT NEW [fp32|bf16]")
    }
    let precision = arguments.count > 6 ? WeightPrecision(rawValue: arguments[6]) ?? .fp32 : .fp32
    let model = try ModelLoader.load(directory: arguments[2]).model
    let generator = Generator(model: model, eosToken: nil, precision: precision)
    var parameters = GenerationParameters()
    parameters.maxNewTokens = N
    parameters.ignoreEOS = true
    var random = SeededGenerator(seed: 1)
    let requests = (0..<B).map { _ in
        GenerationRequest(prompt: (0..<P).map { _ in Int32(random.next() % UInt64(model.config.vocabSize)) }, parameters: parameters)
    }
    _ = try generator.run([GenerationRequest(prompt: [1, 2, 3], parameters: parameters)])  // warm-up
    let start = DispatchTime.now().uptimeNanoseconds
    var firstToken: UInt64 = 0
    _ = try generator.run(requests) { event in
        if firstToken == 0, case .token = event { firstToken = DispatchTime.now().uptimeNanoseconds }
    }
    let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let ttft = Double(firstToken - start) / 1e9
    json(["tokens_per_s": Double(B * N) / total, "ttft_s": ttft, "decode_tokens_per_s": Double(B * (N - 1)) / (total - ttft),
          "batch": B, "precision": precision.rawValue,
          "weight_bytes": generator.decodeWeights.byteCount + (precision == .fp32 ? model.config.vocabSize * model.config.nEmbd * 4 : 0)])
case "train":
    // Full training steps: forward, backward, clipping, AdamW (weight decay 0.01), fp32.
    guard arguments.count == 6, let B = Int(arguments[3]), let T = Int(arguments[4]), let steps = Int(arguments[5]) else {
        fatalError("usage: cuentista-bench train MODEL_DIR BATCH SEQ STEPS")
    }
    let model = try ModelLoader.load(directory: arguments[2]).model
    let acts = Activations(config: model.config, B: B, T: T, keepsAllLayers: true)
    let grads = ParameterBuffer(layout: model.parameters.layout)
    let optimizer = AdamW(layout: model.parameters.layout, settings: .init(weightDecay: 0.01))
    var random = SeededGenerator(seed: 3)
    let tokens = (0..<(B * T)).map { _ in Int32(random.next() % UInt64(model.config.vocabSize)) }
    let batch = Batch(B: B, T: T, tokens: tokens, labels: tokens)
    var best = Double.infinity
    for step in 0...steps {
        let time = try seconds {
            grads.storage.update(repeating: 0)
            _ = try model.lossAndGradients(batch, acts: acts, grads: grads)
            GradientClipping.clip(grads, maxNorm: 1)
            optimizer.update(parameters: model.parameters, grads: grads, learningRate: 1e-5)
        }
        if step > 0 { best = min(best, time) }  // step 0 warms up
    }
    var peak = 0
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) {
        peak = (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }
    json(["tokens_per_s": Double(B * T) / best, "step_s": best, "peak_rss_bytes": peak,
          "flops_per_step": 6.0 * Double(model.parameterCount) * Double(B * T)])
case "encode":
    // Single-threaded encode and decode of a whole file in one call each.
    guard arguments.count == 5, let rounds = Int(arguments[4]) else {
        fatalError("usage: cuentista-bench encode TOKENIZER_DIR TEXT_FILE ROUNDS")
    }
    let tokenizer = try BPETokenizer(directory: arguments[2])
    let text = String(decoding: FileManager.default.contents(atPath: arguments[3])!, as: UTF8.self)
    let bytes = Double(text.utf8.count)
    var ids: [Int32] = []
    var encodeBest = Double.infinity, decodeBest = Double.infinity
    for _ in 0..<rounds {
        // A fresh tokenizer each round: the word cache must not carry over between rounds.
        let fresh = try BPETokenizer(directory: arguments[2])
        encodeBest = min(encodeBest, seconds { ids = fresh.encode(text) })
        decodeBest = min(decodeBest, seconds { _ = tokenizer.decode(ids) })
    }
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for id in ids { for byte in withUnsafeBytes(of: UInt16(truncatingIfNeeded: id).littleEndian, Array.init) { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 } }
    json(["encode_mb_per_s": bytes / encodeBest / 1e6, "decode_mb_per_s": bytes / decodeBest / 1e6, "tokens": ids.count,
          "ids_fnv1a": String(hash, radix: 16)])
case "bandwidth":
    // Read bandwidth over 1 GiB with all threads: the bound of a decode step, which reads
    // every weight once.
    let count = 1 << 28
    let data = UnsafeMutablePointer<Float>.allocate(capacity: count)
    data.initialize(repeating: 1, count: count)
    var best = Double.infinity
    let parts = Parallel.threads
    for _ in 0..<5 {
        best = min(best, seconds {
            Parallel.forEach(parts) { part in
                var acc = SIMD16<Float>.zero
                let lo = count * part / parts, hi = count * (part + 1) / parts
                var i = lo
                while i + 16 <= hi {
                    acc += UnsafeRawPointer(data + i).loadUnaligned(as: SIMD16<Float>.self)
                    i += 16
                }
                if acc.sum() == -1 { print("") }
            }
        })
    }
    json(["read_gb_per_s": Double(count * 4) / best / 1e9, "threads": parts])
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
    time("attention_ms") { Attention.forward(out: x, att: att, qkv: qkv, B: B, T: T, C: C, NH: NH, scale: 1 / Float(C / NH).squareRoot()) }
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
case "serve":
    guard arguments.count == 8, let clients = Int(arguments[3]), let requests = Int(arguments[4]), let prompt = Int(arguments[5]),
          let new = Int(arguments[6]), let vocabulary = Int(arguments[7]) else {
        fatalError("usage: cuentista-bench serve ENDPOINT CLIENTS REQUESTS PROMPT NEW VOCAB")
    }
    json(try Serve.run(endpoint: arguments[2], clients: clients, requests: requests, prompt: prompt, new: new, vocabulary: vocabulary))
case "roundtrip":
    guard arguments.count == 7, let clients = Int(arguments[5]), let requests = Int(arguments[6]) else {
        fatalError("usage: cuentista-bench roundtrip ENDPOINT DATA_DIR TOKENIZER CLIENTS REQUESTS")
    }
    json(try Roundtrip.run(endpoint: arguments[2], dataDirectory: arguments[3], tokenizer: arguments[4], clients: clients, requests: requests))
case "jobstore":
    // Durable submissions: each put returns after the record is on disk (fsync / WAL commit).
    guard arguments.count == 4, let count = Int(arguments[3]) else { fatalError("usage: cuentista-bench jobstore DIR COUNT") }
    let store = try JobStore(path: arguments[2])
    var spec = TrainJobSpec()
    spec.model = "models/base"
    spec.data = "prepared"
    spec.out = "runs/bench"
    var latencies: [Double] = []
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<count {
        let record = JobRecord(id: store.newId(), spec: .train(spec))
        latencies.append(try seconds { try store.put(record) })
    }
    let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    latencies.sort()
    json(["jobs_per_s": Double(count) / total, "submit_median_ms": latencies[count / 2] * 1000,
          "submit_p99_ms": latencies[count * 99 / 100] * 1000, "jobs": count])
default:
    fatalError("usage: cuentista-bench forward|sgemm|kernels ...")
}
