import Foundation
import Testing

/// The `cuentista` binary, run as a separate process the way users run it.
enum CLI {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        // Test bundles are built beside the products they depend on.
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("cuentista")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return repository.appendingPathComponent(".build/debug/cuentista")
    }

    static func fixture(_ name: String) -> String {
        repository.appendingPathComponent("Tests/Fixtures/models/\(name)").path
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}

@Suite("cuentista inspect / convert")
struct CLITests {
    @Test("inspect reads every checkpoint format", arguments: [
        ("tiny-safetensors", "safetensors"), ("tiny-zip", "pytorch-zip"), ("tiny-legacy", "pytorch-legacy"),
    ])
    func inspect(model: String, format: String) throws {
        let result = try CLI.run(["inspect", "--model", CLI.fixture(model), "--json"], environment: ["OPENBLAS_CORETYPE": ""])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["format"] as? String == format)
        #expect(json["parameterCount"] as? Int == 141_056)
        let config = try #require(json["config"] as? [String: Any])
        #expect(config["n_layer"] as? Int == 2 && config["n_head"] as? Int == 4 && config["n_embd"] as? Int == 64)
        #expect((json["moduleTree"] as? String)?.hasPrefix("GPT2LMHeadModel(") == true)
        #if arch(x86_64)
        #expect((json["openblasCore"] as? String)?.lowercased() != "prescott")
        #endif
    }

    @Test("inspect prints the text report with parameter count and module tree")
    func inspectText() throws {
        let result = try CLI.run(["inspect", "--model", CLI.fixture("tiny-legacy")])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Parameters        141,056"))
        #expect(result.stdout.contains("pytorch_model.bin (pytorch-legacy)"))
        #expect(result.stdout.contains("(c_attn): Conv1D(nf=192, nx=64)"))
        #expect(result.stdout.contains("Ignored tensors   4: h.0.attn.bias"))
    }

    @Test("a bad model directory is a one-line error and a non-zero exit")
    func badDirectory() throws {
        let result = try CLI.run(["inspect", "--model", "/nonexistent/model"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/model: no such file or directory"))
    }

    @Test("convert turns a legacy pickle into safetensors with the same weights")
    func convert() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("convert-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try CLI.run(["convert", "--model", CLI.fixture("tiny-legacy"), "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let again = try CLI.run(["inspect", "--model", out, "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect(json["format"] as? String == "safetensors")
        #expect((json["ignoredTensors"] as? [String])?.isEmpty == true)
    }
}
