import CKernelSupport
import Dispatch
import Foundation

/// Splits loops over the cores. The body is not required to be `@Sendable`: kernels capture
/// raw buffer pointers and guarantee by construction that chunks write disjoint ranges.
public enum Parallel {
    /// Worker threads: `CUENTISTA_THREADS` if set, else one per core.
    public static let cores: Int = {
        if let text = ProcessInfo.processInfo.environment["CUENTISTA_THREADS"], let n = Int(text), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    private struct UncheckedBody: @unchecked Sendable {
        let run: (Range<Int>) -> Void
    }

    /// Runs `body` over `0..<count` in contiguous chunks of at least `grain` items.
    public static func forRanges(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(cores * 4, max(1, count / max(1, grain)))
        if chunks <= 1 || cores == 1 {
            cuentista_flush_denormals()
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let box = UncheckedBody(run: escapable)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let start = count * chunk / chunks
                let end = count * (chunk + 1) / chunks
                // Dispatch's worker threads start with the default floating-point mode.
                cuentista_flush_denormals()
                if start < end { box.run(start..<end) }
            }
        }
    }

    /// Runs `body(i)` for every `i` in `0..<count`, spread over the cores.
    public static func forEach(_ count: Int, grain: Int = 1, _ body: (Int) -> Void) {
        forRanges(count, grain: grain) { range in
            for i in range { body(i) }
        }
    }
}
