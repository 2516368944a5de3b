import CKernelSupport
import Dispatch
import Foundation

/// Splits loops over threads. Every parallel loop of the engine goes through `split` (the one
/// place that turns a count into ranges), so that the ranges are disjoint and cover the loop
/// by construction, whatever the thread count; kernels only say how the work may be cut
/// (`alignment`, `grain`). The body is not required to be `@Sendable`: kernels capture raw
/// buffer pointers and write only inside the range they are given.
///
/// The thread count is a task-local value: `Parallel.withThreads(5) { ... }` runs everything
/// inside with five parts (tests run one computation at 1 to 64 threads on a 2-core machine;
/// oversubscription only costs time). Outside, it is `CUENTISTA_THREADS` or one per core.
public enum Parallel {
    /// `CUENTISTA_THREADS` if set, else one per core.
    public static let defaultThreads: Int = {
        if let text = ProcessInfo.processInfo.environment["CUENTISTA_THREADS"], let n = Int(text), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    @TaskLocal private static var threadOverride: Int?

    /// The number of parts loops are split into here (see `withThreads`).
    public static var threads: Int { threadOverride ?? defaultThreads }

    /// Runs `body` with every kernel it calls split into `count` parts.
    public static func withThreads<Result>(_ count: Int, _ body: () throws -> Result) rethrows -> Result {
        precondition(count > 0, "thread count must be positive")
        return try $threadOverride.withValue(count, operation: body)
    }

    /// Part `part` of `parts` of `0..<count`: contiguous ranges in order, disjoint, covering
    /// `0..<count`, with every boundary except `count` a multiple of `alignment`. Some parts
    /// are empty when there are fewer aligned units than parts.
    public static func split(_ count: Int, parts: Int, part: Int, alignment: Int = 1) -> Range<Int> {
        precondition(parts > 0 && part >= 0 && part < parts && alignment > 0 && count >= 0)
        let units = (count + alignment - 1) / alignment
        let lower = min(count, units * part / parts * alignment)
        let upper = min(count, units * (part + 1) / parts * alignment)
        return lower..<upper
    }

    private struct UncheckedBody: @unchecked Sendable {
        // Safe to share: `forParts` hands every invocation a range of its own, and the
        // invocations finish before `concurrentPerform` returns.
        let run: (Range<Int>) -> Void
    }

    /// Runs `body` once per non-empty part of `0..<count` split `parts` ways (see `split`),
    /// concurrently. The one primitive every other loop is built on.
    public static func forParts(_ count: Int, parts: Int, alignment: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let parts = max(1, min(parts, (count + alignment - 1) / alignment))
        if parts == 1 {
            cuentista_flush_denormals()
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let box = UncheckedBody(run: escapable)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                // Dispatch's worker threads start with the default floating-point mode.
                cuentista_flush_denormals()
                let range = split(count, parts: parts, part: part, alignment: alignment)
                if !range.isEmpty { box.run(range) }
            }
        }
    }

    /// Runs `body` over `0..<count` in contiguous chunks of at least `grain` items, a few per
    /// thread so that uneven chunks balance out. With `alignment`, every chunk but the last
    /// starts and ends on a multiple of it: SIMD loops then meet their scalar tail only at
    /// the end of the whole loop, never at a boundary that moves with the thread count.
    public static func forRanges(_ count: Int, grain: Int = 1, alignment: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(threads * 4, max(1, count / max(1, grain, alignment)))
        forParts(count, parts: threads == 1 ? 1 : chunks, alignment: alignment, body)
    }

    /// Runs `body(i)` for every `i` in `0..<count`, spread over the threads.
    public static func forEach(_ count: Int, grain: Int = 1, _ body: (Int) -> Void) {
        forRanges(count, grain: grain) { range in
            for i in range { body(i) }
        }
    }

    /// Sums `term(range)` over fixed blocks of `blockSize` items, adding the block sums in
    /// block order: the result does not depend on the thread count (bit-identical), unlike
    /// per-thread partial sums, whose grouping changes with it.
    public static func sum(_ count: Int, blockSize: Int = 1 << 14, _ term: (Range<Int>) -> Double) -> Double {
        let blocks = (count + blockSize - 1) / blockSize
        guard blocks > 0 else { return 0 }
        var partial = [Double](repeating: 0, count: blocks)
        partial.withUnsafeMutableBufferPointer { sums in
            let out = sums.baseAddress!
            forRanges(blocks) { blockRange in
                for block in blockRange {
                    out[block] = term(block * blockSize..<min(count, (block + 1) * blockSize))
                }
            }
        }
        return partial.reduce(0, +)
    }
}
