import CBLAS
import Foundation

/// OpenBLAS, opened at run time rather than linked.
///
/// Debian's OpenBLAS 0.3.21 detects AVX-512/AMX Xeons as `Prescott` and then runs sgemm
/// about 8x slower. It reads `OPENBLAS_CORETYPE` once, in its load-time constructor, so the
/// variable must be set before the library is loaded: linking it would load it before `main`.
/// Opening it here, on first use, lets Cuentista set the variable first.
public final class OpenBLAS: @unchecked Sendable {
    public typealias SgemmFunction = @convention(c) (
        CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, Int32, Int32, Int32,
        Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
        Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias CoreNameFunction = @convention(c) () -> UnsafeMutablePointer<CChar>?
    typealias GetThreadsFunction = @convention(c) () -> Int32
    typealias SetThreadsFunction = @convention(c) (Int32) -> Void

    /// The library, loaded on first use. Immutable after loading, so safe to share.
    public static let shared: OpenBLAS = {
        do { return try OpenBLAS() } catch { fatalError("\(error)") }
    }()

    public let sgemmFunction: SgemmFunction
    /// The core type Cuentista asked for, or nil when the user set `OPENBLAS_CORETYPE` or the
    /// CPU needs no override.
    public let requestedCoreType: String?
    public let libraryPath: String
    private let coreNameFunction: CoreNameFunction?
    private let getThreadsFunction: GetThreadsFunction?
    private let setThreadsFunction: SetThreadsFunction?

    static let candidates = ["libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libopenblas.dylib"]

    init() throws {
        var requested: String?
        if (ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "").isEmpty,
           let coreType = CPUFeatures.current.openBLASCoreType {
            setenv("OPENBLAS_CORETYPE", coreType, 1)
            requested = coreType
        }
        requestedCoreType = requested
        var handle: UnsafeMutableRawPointer?
        var loadedPath = ""
        for name in Self.candidates {
            if let h = dlopen(name, RTLD_NOW | RTLD_LOCAL) {
                handle = h
                loadedPath = name
                break
            }
        }
        guard let handle else {
            throw KernelError.blasUnavailable(
                "could not load OpenBLAS (tried \(Self.candidates.joined(separator: ", "))); "
                    + "install it with: apt-get install libopenblas-dev")
        }
        libraryPath = loadedPath
        guard let sgemm = dlsym(handle, "cblas_sgemm") else {
            throw KernelError.blasUnavailable("\(loadedPath) has no cblas_sgemm")
        }
        sgemmFunction = unsafeBitCast(sgemm, to: SgemmFunction.self)
        coreNameFunction = dlsym(handle, "openblas_get_corename").map { unsafeBitCast($0, to: CoreNameFunction.self) }
        getThreadsFunction = dlsym(handle, "openblas_get_num_threads").map { unsafeBitCast($0, to: GetThreadsFunction.self) }
        setThreadsFunction = dlsym(handle, "openblas_set_num_threads").map { unsafeBitCast($0, to: SetThreadsFunction.self) }
        // Cuentista splits products over its own threads (see `Matmul`).
        setThreadsFunction?(1)
    }

    /// The kernel OpenBLAS actually runs, e.g. "SkylakeX" or "Haswell".
    public var coreName: String {
        guard let name = coreNameFunction?() else { return "unknown" }
        return String(cString: name)
    }

    /// Threads inside each OpenBLAS call (1: Cuentista parallelises around the calls).
    public var threads: Int { Int(getThreadsFunction?() ?? 1) }
}

public enum KernelError: Error, CustomStringConvertible {
    case blasUnavailable(String)
    public var description: String {
        switch self {
        case let .blasUnavailable(reason): return reason
        }
    }
}
