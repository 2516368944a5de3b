// swift-tools-version:6.0
import Foundation
import PackageDescription

/// Swift SIMD code compiles to scalar `fmaf` calls unless the build targets a CPU with FMA,
/// so hot loops are built for the machine that builds them. `CUENTISTA_TARGET_CPU` overrides
/// the choice (`generic` turns it off, e.g. for images that must run on older hosts).
func targetCPUFlags() -> [String] {
    if let requested = ProcessInfo.processInfo.environment["CUENTISTA_TARGET_CPU"], !requested.isEmpty {
        return requested == "generic" ? [] : ["-target-cpu", requested]
    }
    #if arch(x86_64)
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return [] }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "fma"]) {
        return ["-target-cpu", "skylake-avx512"]
    }
    if flags.isSuperset(of: ["avx2", "fma", "f16c"]) { return ["-target-cpu", "haswell"] }
    #endif
    return []
}

let fastMath: [SwiftSetting] = [.unsafeFlags(targetCPUFlags())]
/// The engine's hot loops are optimised in debug builds too: unoptimised, a training step of
/// the tiny test model takes 0.7 s instead of milliseconds, and the service tests train for real.
let engine: [SwiftSetting] = fastMath + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "Cuentista",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "GPT2", targets: ["GPT2", "Kernels", "Checkpoint", "Tokenizer", "Generation", "Training"]),
        .executable(name: "cuentista", targets: ["cuentista"]),
        .executable(name: "cuentista-tokenizer", targets: ["cuentista-tokenizer"]),
        .executable(name: "cuentista-prep", targets: ["cuentista-prep"]),
        .executable(name: "cuentista-trainer", targets: ["cuentista-trainer"]),
        .executable(name: "cuentista-generator", targets: ["cuentista-generator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // Sources/ is grouped by layer: Engine (the model, no services), Protocol (the messages),
        // Transport (ZeroMQ), Broker (the coordinator), Workers (job specs and every worker's
        // loop), Executables (the CLI and the worker commands).

        // Engine. CBLAS is header-only on purpose: OpenBLAS is opened at run time by
        // `Kernels.OpenBLAS` so that its CPU kernel can be chosen before it initialises.
        .systemLibrary(name: "CBLAS", path: "Sources/Engine/CBLAS"),
        .target(name: "CKernelSupport", path: "Sources/Engine/CKernelSupport"),
        .target(name: "Kernels", dependencies: ["CBLAS", "CKernelSupport"], path: "Sources/Engine/Kernels", swiftSettings: engine),
        .target(name: "Checkpoint", path: "Sources/Engine/Checkpoint", swiftSettings: fastMath),
        .target(name: "Tokenizer", path: "Sources/Engine/Tokenizer", swiftSettings: engine),
        .target(name: "GPT2", dependencies: ["Kernels", "Checkpoint"], path: "Sources/Engine/GPT2", swiftSettings: engine),
        .target(name: "Generation", dependencies: ["GPT2", "Tokenizer"], path: "Sources/Engine/Generation", swiftSettings: engine),
        // The prepared-data format (manifest and token shards): what Prep writes and Training reads.
        .target(name: "PreparedFormat", dependencies: ["Checkpoint"], path: "Sources/Engine/PreparedFormat"),
        .target(name: "Training", dependencies: ["GPT2", "Kernels", "Checkpoint", "PreparedFormat", "RunOptions"], path: "Sources/Engine/Training",
                swiftSettings: engine),
        .target(name: "Prep", dependencies: ["Tokenizer", "PreparedFormat", "Kernels", "Checkpoint", "RunOptions"], path: "Sources/Engine/Prep",
                swiftSettings: engine),

        // Protocol: protobuf-c code generated from Protos/ by scripts/gen-protos (committed, never
        // edited by hand), and its Swift types.
        .systemLibrary(name: "CProtobufC", path: "Sources/Protocol/CProtobufC"),
        .target(name: "CProtos", dependencies: ["CProtobufC"], path: "Sources/Protocol/CProtos",
                linkerSettings: [.linkedLibrary("protobuf-c")]),
        .target(name: "Wire", dependencies: ["CProtos"], path: "Sources/Protocol/Wire"),
        // Every option of a training run and a data preparation, with its default and its value
        // checks, as plain values: what the engine takes and what job specifications carry. No
        // dependency, so the coordinator checks job specifications without the engine.
        .target(name: "RunOptions", path: "Sources/Protocol/RunOptions"),
        // Job specifications: what a queued job carries, its wire conversion and its value checks.
        .target(name: "JobSpecs", dependencies: ["Wire", "RunOptions"], path: "Sources/Protocol/JobSpecs"),

        // Transport: libzmq, Majordomo client and worker, CurveZMQ.
        .systemLibrary(name: "CZMQ", path: "Sources/Transport/CZMQ"),
        .target(name: "Messaging", dependencies: ["CZMQ", .product(name: "Logging", package: "swift-log")], path: "Sources/Transport/Messaging"),

        // Workers: running job specifications on the engine (with the checks that need files),
        // and every worker's loop.
        .target(name: "Jobs", dependencies: ["JobSpecs", "RunOptions", "GPT2", "Tokenizer", "Training", "Prep", "PreparedFormat"], path: "Sources/Workers/Jobs"),
        .target(name: "Services", dependencies: ["Messaging", "Wire", "JobSpecs", "Jobs", "Tokenizer", "Training", "Prep", "GPT2", "Generation", "Kernels", "Checkpoint",
                                                 .product(name: "Logging", package: "swift-log")],
                path: "Sources/Workers/Services"),

        // Broker: the coordinator and its job store. It routes and never needs the engine.
        .target(name: "Coordinator", dependencies: ["Messaging", "Wire", "JobSpecs", .product(name: "Logging", package: "swift-log"),
                                                    .product(name: "GRDB", package: "GRDB.swift")],
                path: "Sources/Broker/Coordinator"),

        // Executables. WorkerCommandLine: the options every worker executable shares.
        .target(name: "WorkerCommandLine", dependencies: ["Services", "Messaging", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                path: "Sources/Executables/WorkerCommandLine"),
        .executableTarget(
            name: "cuentista",
            dependencies: ["GPT2", "Tokenizer", "Generation", "Training", "PreparedFormat", "Prep", "RunOptions", "JobSpecs", "Jobs", "Kernels", "Checkpoint", "Coordinator", "Services", "Messaging", "Wire", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Executables/cuentista",
            swiftSettings: fastMath),
        .executableTarget(name: "cuentista-tokenizer", dependencies: ["Services", "Messaging", "WorkerCommandLine"], path: "Sources/Executables/cuentista-tokenizer"),
        .executableTarget(name: "cuentista-prep", dependencies: ["Services", "WorkerCommandLine"], path: "Sources/Executables/cuentista-prep"),
        .executableTarget(name: "cuentista-trainer", dependencies: ["Services", "WorkerCommandLine"], path: "Sources/Executables/cuentista-trainer"),
        .executableTarget(name: "cuentista-generator", dependencies: ["Services", "Kernels", "WorkerCommandLine"], path: "Sources/Executables/cuentista-generator"),
        .executableTarget(
            name: "cuentista-bench", dependencies: ["GPT2", "Generation", "Tokenizer", "Training", "Services", "Messaging", "Wire", "Jobs", "Coordinator",
                                                    .product(name: "Logging", package: "swift-log")], path: "Benchmarks/CuentistaBench",
            swiftSettings: fastMath),

        .testTarget(name: "KernelsTests", dependencies: ["Kernels"], swiftSettings: fastMath),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "Kernels"], swiftSettings: fastMath),
        .target(name: "TestSupport", dependencies: ["Checkpoint"], path: "Tests/TestSupport"),
        .testTarget(name: "GPT2Tests", dependencies: ["GPT2", "Kernels", "TestSupport"], swiftSettings: fastMath),
        .testTarget(name: "PrepTests", dependencies: ["Prep", "PreparedFormat", "Tokenizer", "Training", "TestSupport"], swiftSettings: fastMath),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "PreparedFormat", "TestSupport"], swiftSettings: fastMath),
        .testTarget(name: "GenerationTests", dependencies: ["Generation", "Kernels", "TestSupport"], swiftSettings: fastMath),
        // Every model shape of the fixtures' shape matrix, and one computation at 1 to 64 threads.
        .testTarget(name: "InvarianceTests", dependencies: ["GPT2", "Generation", "Training", "Kernels", "TestSupport"], swiftSettings: fastMath),
        .testTarget(name: "SystemLibrariesTests", dependencies: ["CZMQ", "CProtobufC", "CProtos"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "CProtos"]),
        // The broker without the engine: its job store and its core, driven with a clock of the tests' own.
        .testTarget(name: "CoordinatorTests", dependencies: ["Coordinator", "JobSpecs", "Wire", "Messaging", .product(name: "Logging", package: "swift-log"),
                                                            .product(name: "GRDB", package: "GRDB.swift")]),
        // Real processes on loopback: the coordinator and the workers as users start them.
        .testTarget(name: "ServicesTests", dependencies: ["Services", "WorkerCommandLine", "Jobs", "JobSpecs", "RunOptions", "Messaging", "Wire", "GPT2", "Tokenizer", "Checkpoint",
                                                          "cuentista", "cuentista-tokenizer", "cuentista-prep", "cuentista-trainer",
                                                          "cuentista-generator", "Generation"]),
        // Runs the built `cuentista` executable as a user would.
        .testTarget(name: "CLITests", dependencies: ["cuentista", "Jobs", "Wire", "Training", "PreparedFormat", "Tokenizer"]),
    ]
)
