import Foundation
import Kernels
import Testing

/// Each kernel against a plain double-precision loop written the obvious way.
@Suite("Kernels")
struct KernelsTests {
    struct LCG {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        }
        mutating func array(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in next() * scale } }
    }

    func maxDiff(_ a: [Float], _ b: [Double]) -> Double {
        zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0
    }

    @Test("OpenBLAS runs a real kernel for this CPU, not the Prescott fallback")
    func openBLASCore() {
        let blas = OpenBLAS.shared
        #if arch(x86_64)
        if CPUFeatures.current.flags.contains("avx2") {
            #expect(blas.coreName.lowercased() != "prescott", "core \(blas.coreName)")
            if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil || blas.requestedCoreType != nil {
                #expect(blas.coreName.lowercased() == CPUFeatures.current.openBLASCoreType?.lowercased())
            }
        }
        #endif
        #expect(blas.threads >= 1)
    }

    @Test("CPU features choose SkylakeX on AVX-512 and Haswell on AVX2")
    func coreChoice() {
        #if arch(x86_64)
        #expect(CPUFeatures(flags: ["avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"], modelName: "").openBLASCoreType == "SkylakeX")
        #expect(CPUFeatures(flags: ["avx2", "fma"], modelName: "").openBLASCoreType == "Haswell")
        #expect(CPUFeatures(flags: ["sse4_2"], modelName: "").openBLASCoreType == nil)
        #endif
    }

    @Test("SIMD exp and tanh are accurate over the range the model uses")
    func transcendental() {
        var worstExp = 0.0, worstTanh = 0.0
        var x: Float = -80
        while x < 80 {
            let e = Double(sexp(x)), reference = Foundation.exp(Double(x))
            worstExp = max(worstExp, abs(e - reference) / reference)
            if abs(x) < 20 { worstTanh = max(worstTanh, abs(Double(stanh(x)) - Foundation.tanh(Double(x)))) }
            x += 0.0137
        }
        #expect(worstExp < 2e-7, "relative exp error \(worstExp)")
        #expect(worstTanh < 3e-7, "absolute tanh error \(worstTanh)")
        #expect(sexp(-200) < 2e-35)
        #expect(stanh(50) == 1 && stanh(-50) == -1)
    }

    @Test("matmul with bias, and the transposed head product")
    func matmul() {
        var rng = LCG(state: 1)
        let (N, C, OC) = (7, 19, 13)
        let inp = rng.array(N * C), weight = rng.array(C * OC), bias = rng.array(OC)
        var out = [Float](repeating: 0, count: N * OC)
        Matmul.forward(out: &out, inp: inp, weight: weight, bias: bias, N: N, C: C, OC: OC)
        var expected = [Double](repeating: 0, count: N * OC)
        for n in 0..<N { for o in 0..<OC {
            var s = Double(bias[o])
            for c in 0..<C { s += Double(inp[n * C + c]) * Double(weight[c * OC + o]) }
            expected[n * OC + o] = s
        } }
        #expect(maxDiff(out, expected) < 1e-5)

        // (N,C) @ (V,C)^T
        let wte = rng.array(OC * C)
        Matmul.forwardTransposed(out: &out, inp: inp, weight: wte, N: N, C: C, V: OC)
        for n in 0..<N { for v in 0..<OC {
            expected[n * OC + v] = (0..<C).reduce(0.0) { $0 + Double(inp[n * C + $1]) * Double(wte[v * C + $1]) }
        } }
        #expect(maxDiff(out, expected) < 1e-5)
    }

    @Test("layernorm keeps mean and rstd and matches the definition", arguments: [7, 64, 100])
    func layerNorm(C: Int) {
        var rng = LCG(state: 2)
        let N = 5
        let inp = rng.array(N * C, scale: 3).enumerated().map { $1 + Float($0 % 3) }
        let weight = rng.array(C), bias = rng.array(C)
        var out = [Float](repeating: 0, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
        LayerNorm.forward(out: &out, mean: &mean, rstd: &rstd, inp: inp, weight: weight, bias: bias, N: N, C: C, eps: 1e-5)
        var expected = [Double]()
        for n in 0..<N {
            let row = inp[(n * C)..<((n + 1) * C)].map(Double.init)
            let m = row.reduce(0, +) / Double(C)
            let v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(C)
            let s = 1 / (v + 1e-5).squareRoot()
            #expect(abs(Double(mean[n]) - m) < 1e-5 && abs(Double(rstd[n]) - s) < 1e-4 * s)
            for c in 0..<C { expected.append((row[c] - m) * s * Double(weight[c]) + Double(bias[c])) }
        }
        #expect(maxDiff(out, expected) < 2e-5)
    }

    @Test("gelu (tanh form) matches its formula; exact gelu and relu too")
    func gelu() {
        var rng = LCG(state: 3)
        let inp = rng.array(1000, scale: 6)
        var out = [Float](repeating: 0, count: inp.count)
        Activation.geluTanh.forward(out: &out, inp: inp, N: inp.count)
        let expected = inp.map { x -> Double in
            let x = Double(x)
            return 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
        }
        #expect(maxDiff(out, expected) < 2e-6)
        Activation.geluErf.forward(out: &out, inp: inp, N: inp.count)
        #expect(maxDiff(out, inp.map { 0.5 * Double($0) * (1 + Foundation.erf(Double($0) / 2.0.squareRoot())) }) < 2e-6)
        Activation.relu.forward(out: &out, inp: inp, N: inp.count)
        #expect(out == inp.map { max(0, $0) })
    }

    @Test("causal attention matches the textbook loop", arguments: [(2, 21, 24, 3), (1, 37, 128, 2), (2, 8, 64, 1)])
    func attention(shape: (Int, Int, Int, Int)) {
        var rng = LCG(state: 4)
        let (B, T, C, NH) = shape
        let hs = C / NH
        let qkv = rng.array(B * T * 3 * C, scale: 2)
        var out = [Float](repeating: 0, count: B * T * C), att = [Float](repeating: 0, count: B * NH * T * T)
        Attention.forward(out: &out, att: &att, qkv: qkv, B: B, T: T, C: C, NH: NH, scale: 1 / Float(hs).squareRoot())
        var expected = [Double](repeating: 0, count: B * T * C)
        for b in 0..<B { for h in 0..<NH { for t in 0..<T {
            let q = (0..<hs).map { Double(qkv[(b * T + t) * 3 * C + h * hs + $0]) }
            var scores = (0...t).map { t2 in
                (0..<hs).reduce(0.0) { $0 + q[$1] * Double(qkv[(b * T + t2) * 3 * C + C + h * hs + $1]) } / Double(hs).squareRoot()
            }
            let m = scores.max()!
            scores = scores.map { Foundation.exp($0 - m) }
            let total = scores.reduce(0, +)
            for t2 in 0..<T {
                let p = t2 <= t ? scores[t2] / total : 0
                #expect(abs(Double(att[((b * NH + h) * T + t) * T + t2]) - p) < 1e-5)
            }
            for d in 0..<hs {
                expected[(b * T + t) * C + h * hs + d] = (0...t).reduce(0.0) {
                    $0 + scores[$1] / total * Double(qkv[(b * T + $1) * 3 * C + 2 * C + h * hs + d])
                }
            }
        } } }
        #expect(maxDiff(out, expected) < 1e-5)
    }

    @Test("encoder adds token and position rows; residual adds in place")
    func elementwise() {
        var rng = LCG(state: 5)
        let (B, T, C, V) = (2, 3, 20, 9)
        let wte = rng.array(V * C), wpe = rng.array(T * C)
        let tokens: [Int32] = [4, 0, 8, 1, 1, 3]
        var out = [Float](repeating: 0, count: B * T * C)
        Elementwise.encoderForward(out: &out, tokens: tokens, wte: wte, wpe: wpe, B: B, T: T, C: C)
        for bt in 0..<(B * T) { for c in 0..<C {
            #expect(out[bt * C + c] == wte[Int(tokens[bt]) * C + c] + wpe[(bt % T) * C + c])
        } }
        let before = out
        out.withUnsafeMutableBufferPointer { p in
            Elementwise.residualForward(out: p.baseAddress!, a: p.baseAddress!, b: p.baseAddress!, N: p.count)
        }
        #expect(out == before.map { $0 * 2 })
    }
}

@Suite("Kernels split over threads")
struct SplitKernelTests {
    @Test("products large enough to be split over threads equal the single-call result")
    func splitMatmul() {
        var rng = KernelsTests.LCG(state: 9)
        let (N, C, OC) = (301, 64, 70)
        let inp = rng.array(N * C), weight = rng.array(C * OC), bias = rng.array(OC)
        var split = [Float](repeating: 0, count: N * OC), whole = split
        Matmul.forward(out: &split, inp: inp, weight: weight, bias: bias, N: N, C: C, OC: OC)
        for row in 0..<N { for o in 0..<OC { whole[row * OC + o] = bias[o] } }
        Matmul.sgemm(M: N, N: OC, K: C, A: inp, lda: C, B: weight, ldb: OC, beta: 1, C: &whole, ldc: OC)
        // Row blocks may be summed in another order than one call would: compare to rounding.
        #expect(zip(split, whole).map { abs($0 - $1) }.max()! < 1e-5)
        var head = [Float](repeating: 0, count: N * OC), reference = head
        Matmul.forwardTransposed(out: &head, inp: inp, weight: weight, N: N, C: C, V: OC)
        Matmul.sgemm(transB: true, M: N, N: OC, K: C, A: inp, lda: C, B: weight, ldb: C, C: &reference, ldc: OC)
        #expect(zip(head, reference).map { abs($0 - $1) }.max()! < 1e-5)
    }
}

@Suite("Decode matmul")
struct DecodeMatmulTests {
    @Test("rows of (out, in) weights in float32 and bfloat16 give x @ W^T + b",
          arguments: [(1, 72), (3, 72), (4, 72), (8, 72), (13, 72), (8, 64), (1, 64)])
    func matchesReference(shape: (Int, Int)) {
        var rng = KernelsTests.LCG(state: 11)
        let (M, K) = shape  // K = 72 is not a multiple of 16: exercises the tails
        let O = 37
        let x = rng.array(M * K), w = rng.array(O * K), bias = rng.array(O)
        var expected = [Double](repeating: 0, count: M * O)
        for m in 0..<M { for o in 0..<O {
            expected[m * O + o] = Double(bias[o]) + (0..<K).reduce(0.0) { $0 + Double(x[m * K + $1]) * Double(w[o * K + $1]) }
        } }
        var out = [Float](repeating: 0, count: M * O)
        w.withUnsafeBytes { raw in
            DecodeMatmul.forward(Float32Rows.self, out: &out, x: x, M: M, K: K, weights: raw.baseAddress!, O: O, bias: bias)
        }
        #expect(zip(out, expected).map { abs(Double($0) - $1) }.max()! < 1e-5)

        // bfloat16 weights: each weight rounded to 8 significant bits.
        var packed = [UInt16](repeating: 0, count: O * K)
        BFloat16Rows.convert(w, to: &packed, count: w.count)
        let rounded = packed.map { Float(bitPattern: UInt32($0) << 16) }
        #expect(zip(rounded, w).allSatisfy { abs($0 - $1) <= abs($1) / 256 })
        for m in 0..<M { for o in 0..<O {
            expected[m * O + o] = Double(bias[o]) + (0..<K).reduce(0.0) { $0 + Double(x[m * K + $1]) * Double(rounded[o * K + $1]) }
        } }
        packed.withUnsafeBytes { raw in
            DecodeMatmul.forward(BFloat16Rows.self, out: &out, x: x, M: M, K: K, weights: raw.baseAddress!, O: O, bias: bias)
        }
        #expect(zip(out, expected).map { abs(Double($0) - $1) }.max()! < 1e-5)
    }
}
