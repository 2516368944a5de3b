import Foundation

/// The instruction-set flags the kernel picks depend on, read from the OS.
public struct CPUFeatures: Sendable {
    public let flags: Set<String>
    public let modelName: String

    public static let current = CPUFeatures.read()

    static func read() -> CPUFeatures {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
            return CPUFeatures(flags: [], modelName: "unknown")
        }
        var flags: Set<String> = []
        var model = "unknown"
        for line in text.split(separator: "\n") {
            if flags.isEmpty, line.hasPrefix("flags") {
                flags = Set(line.split(separator: ":", maxSplits: 1).last?.split(separator: " ").map(String.init) ?? [])
            } else if model == "unknown", line.hasPrefix("model name") {
                model = line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? model
            }
        }
        return CPUFeatures(flags: flags, modelName: model)
        #else
        return CPUFeatures(flags: [], modelName: "unknown")
        #endif
    }

    public init(flags: Set<String>, modelName: String) {
        self.flags = flags
        self.modelName = modelName
    }

    /// The OpenBLAS kernel for this CPU, or nil when OpenBLAS's own detection can be trusted
    /// (non-x86 CPUs, or x86 CPUs without AVX2 where every choice is equally slow).
    public var openBLASCoreType: String? {
        #if arch(x86_64)
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]) {
            return "SkylakeX"
        }
        if flags.isSuperset(of: ["avx2", "fma"]) {
            return "Haswell"
        }
        #endif
        return nil
    }
}
