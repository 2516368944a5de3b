import Foundation
import Kernels
import Synchronization
import Testing

/// The split every parallel loop uses, and the kernels at thread counts CI's two cores never
/// reach on their own (`Parallel.withThreads` oversubscribes; correctness does not care).
@Suite("Splitting work over threads")
struct ParallelTests {
    static let threadCounts = [1, 2, 3, 5, 8, 16, 64]

    @Test("split gives disjoint, ordered, aligned ranges covering the loop, for any count, parts and alignment")
    func splitCovers() {
        for count in [0, 1, 2, 7, 15, 16, 17, 63, 64, 65, 100, 1000, 4097] {
            for parts in [1, 2, 3, 5, 7, 8, 16, 64, 100] {
                for alignment in [1, 4, 16, 64] {
                    var next = 0
                    for part in 0..<parts {
                        let range = Parallel.split(count, parts: parts, part: part, alignment: alignment)
                        #expect(range.lowerBound == next, "count \(count) parts \(parts) alignment \(alignment) part \(part)")
                        #expect(range.upperBound == count || range.upperBound % alignment == 0)
                        next = range.upperBound
                    }
                    #expect(next == count)
                }
            }
        }
    }

    @Test("every index is visited exactly once at every thread count", arguments: threadCounts)
    func visitsOnce(threads: Int) {
        for count in [1, 5, 16, 17, 33, 250, 100_000] {
            for alignment in [1, 16] {
                let seen = Mutex<[Range<Int>]>([])
                Parallel.withThreads(threads) {
                    #expect(Parallel.threads == threads)
                    Parallel.forRanges(count, grain: 1, alignment: alignment) { range in seen.withLock { $0.append(range) } }
                }
                let ranges = seen.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
                #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == count)
                #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
                #expect(ranges.count <= max(1, threads * 4))
            }
        }
    }

    @Test("the thread count is per task: concurrent callers do not see each other's")
    func threadCountIsTaskLocal() async {
        await withTaskGroup(of: Bool.self) { group in
            for threads in Self.threadCounts {
                group.addTask { Parallel.withThreads(threads) { (0..<100).allSatisfy { _ in Parallel.threads == threads } } }
            }
            for await ok in group { #expect(ok) }
        }
        #expect(Parallel.threads == Parallel.defaultThreads)
    }

    @Test("blocked sums are the same bit for bit at every thread count")
    func sumIsThreadInvariant() {
        var rng = KernelsTests.LCG(state: 3)
        let values = rng.array(300_001)
        let sums = Self.threadCounts.map { threads in
            Parallel.withThreads(threads) {
                Parallel.sum(values.count, blockSize: 1000) { range in range.reduce(0.0) { $0 + Double(values[$1]) } }
            }
        }
        #expect(Set(sums).count == 1)
        #expect(abs(sums[0] - values.reduce(0.0) { $0 + Double($1) }) < 1e-9)
    }

    /// out = inp @ weight + bias in double precision, the obvious way.
    static func reference(_ inp: [Float], _ weight: [Float], _ bias: [Float]?, N: Int, C: Int, OC: Int) -> [Double] {
        var out = [Double](repeating: 0, count: N * OC)
        for n in 0..<N { for o in 0..<OC {
            var total = Double(bias?[o] ?? 0)
            for c in 0..<C { total += Double(inp[n * C + c]) * Double(weight[c * OC + o]) }
            out[n * OC + o] = total
        } }
        return out
    }

    @Test("Matmul.forward with and without bias equals the definition at every thread count, narrow layers included",
          arguments: [(1, 8, 8), (3, 20, 24), (5, 32, 16), (70, 24, 100), (130, 16, 48), (200, 40, 20), (1, 64, 1),
                      (300, 40, 800), (20, 16, 1100), (600, 24, 40)])  // the last three: several row or column tiles
    func matmulForward(shape: (Int, Int, Int)) {
        let (N, C, OC) = shape
        var rng = KernelsTests.LCG(state: UInt64(N * 1000 + OC))
        let inp = rng.array(N * C), weight = rng.array(C * OC), bias = rng.array(OC)
        for withBias in [true, false] {
            let expected = Self.reference(inp, weight, withBias ? bias : nil, N: N, C: C, OC: OC)
            for threads in Self.threadCounts {
                var out = [Float](repeating: .nan, count: N * OC)
                Parallel.withThreads(threads) {
                    Matmul.forward(out: &out, inp: inp, weight: weight, bias: withBias ? bias : nil, N: N, C: C, OC: OC)
                }
                let worst = zip(out, expected).map { abs(Double($0) - $1) }.max()!
                #expect(worst < 1e-5, "N \(N) C \(C) OC \(OC) bias \(withBias) threads \(threads): \(worst)")
            }
        }
    }

    @Test("Matmul backward (both layouts) equals the definition at every thread count",
          arguments: [(3, 20, 24), (70, 24, 100), (5, 8, 16), (300, 800, 40), (20, 16, 4200)])  // the last two: several tiles
    func matmulBackward(shape: (Int, Int, Int)) {
        let (N, C, OC) = shape
        var rng = KernelsTests.LCG(state: UInt64(7 + N))
        let inp = rng.array(N * C), weight = rng.array(C * OC), dout = rng.array(N * OC), start = rng.array(C * OC)
        var dinpRef = [Double](repeating: 0, count: N * C), dweightRef = start.map(Double.init), dbiasRef = [Double](repeating: 0.5, count: OC)
        for n in 0..<N { for c in 0..<C { for o in 0..<OC {
            dinpRef[n * C + c] += Double(dout[n * OC + o]) * Double(weight[c * OC + o])
            dweightRef[c * OC + o] += Double(inp[n * C + c]) * Double(dout[n * OC + o])
        } } }
        for n in 0..<N { for o in 0..<OC { dbiasRef[o] += Double(dout[n * OC + o]) } }
        for threads in Self.threadCounts {
            var dinp = [Float](repeating: .nan, count: N * C), dweight = start, dbias = [Float](repeating: 0.5, count: OC)
            Parallel.withThreads(threads) {
                Matmul.backward(dinp: &dinp, dweight: &dweight, dbias: &dbias, dout: dout, inp: inp, weight: weight, N: N, C: C, OC: OC)
            }
            for (ours, expected) in [(dinp, dinpRef), (dweight, dweightRef), (dbias, dbiasRef)] {
                #expect(zip(ours, expected).map { abs(Double($0) - $1) }.max()! < 1e-4, "threads \(threads)")
            }
            // The tied head's layout: weight (V, C) with V = OC here.
            var dinpT = [Float](repeating: .nan, count: N * C), dweightT = [Float](repeating: 0, count: OC * C)
            let weightT = (0..<(OC * C)).map { weight[($0 % C) * OC + $0 / C] }
            Parallel.withThreads(threads) {
                Matmul.backwardTransposed(dinp: &dinpT, dweight: &dweightT, dout: dout, inp: inp, weight: weightT, N: N, C: C, V: OC)
            }
            #expect(zip(dinpT, dinpRef).map { abs(Double($0) - $1) }.max()! < 1e-4)
            let dweightTRef = (0..<(OC * C)).map { dweightRef[($0 % C) * OC + $0 / C] - Double(start[($0 % C) * OC + $0 / C]) }
            #expect(zip(dweightT, dweightTRef).map { abs(Double($0) - $1) }.max()! < 1e-4)
        }
    }

    @Test("element-wise kernels give the same bits at every thread count and at every position",
          arguments: Activation.allCases)
    func elementwiseBits(activation: Activation) {
        var rng = KernelsTests.LCG(state: 21)
        let count = 200_000 + 7  // a scalar tail, and 1 to 12 chunks that would not fall on 16
        let inp = rng.array(count, scale: 4), dout = rng.array(count)
        var outputs: [[Float]] = [], gradients: [[Float]] = []
        for threads in Self.threadCounts {
            var out = [Float](repeating: 0, count: count), dinp = out
            Parallel.withThreads(threads) {
                activation.forward(out: &out, inp: inp, N: count)
                activation.backward(dinp: &dinp, inp: inp, dout: dout, N: count)
            }
            outputs.append(out)
            gradients.append(dinp)
        }
        #expect(outputs.allSatisfy { $0 == outputs[0] })
        #expect(gradients.allSatisfy { $0 == gradients[0] })
        // An element's value does not depend on where it sits: the last 7 (the tail) equal the
        // same inputs in the vector body of another buffer.
        var moved = [Float](repeating: 0, count: 16)
        activation.forward(out: &moved, inp: Array(inp.suffix(7)) + Array(inp.prefix(9)), N: 16)
        #expect(Array(moved.prefix(7)) == Array(outputs[0].suffix(7)))
    }
}
