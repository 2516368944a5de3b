import Checkpoint
import Foundation
import GPT2
import Generation
import Services
import Testing
import Tokenizer
import Wire

/// Whether `python3` runs here: the only reason to skip the Python client's tests.
private let pythonInstalled: Bool = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "--version"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

/// The Python client (examples/python/generate.py, run by scripts/python-client-test) against
/// live services: another language speaking the protocol from Protos/ gets what the library
/// gives in-process. The first run installs its packages from PyPI into a cached environment.
@Suite("Services: Python client", .serialized, .enabled(if: pythonInstalled, "python3 is not installed"),
       .timeLimit(.minutes(10)))
struct PythonClientTests {
    /// A coordinator and one generator serving the tiny fixture.
    static func system() throws -> LiveSystem {
        let system = try LiveSystem()
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.startCoordinator()
        try system.startWorker("generator", "cuentista-generator", ["--model", "models/tiny"])
        try system.waitForWorkers("generate", count: 1)
        return system
    }

    /// What the library gives for the same request in-process.
    static func local(_ system: LiveSystem, _ prompt: String, _ configure: (inout Wire.GenerationParameters) -> Void) throws -> Generation.Completion {
        var parameters = Wire.GenerationParameters()
        configure(&parameters)
        let directory = "\(system.data)/models/tiny"
        let model = try ModelLoader.load(directory: directory).model
        let tokenizer = try BPETokenizer(directory: directory)
        let generator = Generator(model: model, eosToken: tokenizer.eosTokenId) { tokenizer.decodeBytes([$0]) }
        let request = GenerationRequest(prompt: tokenizer.encode(prompt), parameters: Generation.GenerationParameters(wire: parameters))
        return try generator.run([request])[0][0]
    }

    /// What `generate.py --json` prints.
    struct Output: Decodable {
        let text: String
        let tokens: [Int32]
        let finishReason: String
        let model: String
        enum CodingKeys: String, CodingKey { case text, tokens, finishReason = "finish_reason", model }
    }

    /// One run of scripts/python-client-test; its output goes to files (no pipe to fill up).
    final class Client {
        let process = Process()
        let stdoutPath: String
        let stderrPath: String
        let arguments: [String]

        init(_ arguments: [String]) throws {
            self.arguments = arguments
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("cuentista-pyclient-\(UUID().uuidString)").path
            (stdoutPath, stderrPath) = (base + ".out", base + ".err")
            process.executableURL = LiveSystem.repository.appendingPathComponent("scripts/python-client-test")
            process.arguments = arguments
            process.currentDirectoryURL = LiveSystem.repository
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = try OutputFile.open(stdoutPath)
            process.standardError = try OutputFile.open(stderrPath)
            try process.run()
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            for path in [stdoutPath, stderrPath] { try? FileManager.default.removeItem(atPath: path) }
        }

        /// Waits for the exit (killing the client past `timeout`): status, stdout, stderr.
        func finish(timeout: TimeInterval = 400) -> (status: Int32, stdout: String, stderr: String) {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("the Python client did not exit within \(timeout) s: \(arguments)")
            }
            process.waitUntilExit()
            func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
            return (process.terminationStatus, read(stdoutPath), read(stderrPath))
        }
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try Client(arguments).finish()
    }

    /// Checks a `--json` run against the in-process completion.
    static func expectSame(_ result: (status: Int32, stdout: String, stderr: String), _ expected: Generation.Completion,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 0, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        guard let output = try? JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8)) else {
            Issue.record("not one JSON object: \(result.stdout)\nstderr: \(result.stderr)", sourceLocation: sourceLocation)
            return
        }
        #expect(output.tokens == expected.tokens, sourceLocation: sourceLocation)
        #expect(output.text == expected.text, sourceLocation: sourceLocation)
        #expect(output.finishReason == expected.finishReason.rawValue, sourceLocation: sourceLocation)
        #expect(output.model == "models/tiny", sourceLocation: sourceLocation)
    }

    @Test("--json gives the library's tokens and text (greedy, seeded sampling); the streamed text and traces print as they come")
    func sameAsLibrary() throws {
        let system = try Self.system()
        let prompt = "Había una vez"
        let greedy = try Self.run(["--coordinator", system.endpoint, "--prompt", prompt, "--max-new-tokens", "20", "--json"])
        Self.expectSame(greedy, try Self.local(system, prompt) { $0.maxNewTokens = 20 })

        let sampled = try Self.run(["--coordinator", system.endpoint, "--prompt", prompt, "--max-new-tokens", "20", "--json",
                                    "--strategy", "sample", "--seed", "5", "--temperature", "0.9"])
        Self.expectSame(sampled, try Self.local(system, prompt) { $0.maxNewTokens = 20; $0.strategy = .sample; $0.seed = 5; $0.temperature = 0.9 })

        // Streamed: the token events' text, then the summary line, then one table per step.
        let streamed = try Self.run(["--coordinator", system.endpoint, "--prompt", prompt, "--max-new-tokens", "20",
                                     "--strategy", "epsilon-greedy", "--seed", "3", "--trace-top", "3", "--request-id", "streamed"])
        let expected = try Self.local(system, prompt) { $0.maxNewTokens = 20; $0.strategy = .epsilonGreedy; $0.seed = 3; $0.traceTop = 3 }
        #expect(streamed.status == 0, "stderr: \(streamed.stderr)")
        #expect(!expected.text.isEmpty)
        let head = "\(expected.text)\n[\(expected.tokens.count) tokens, finish reason: \(expected.finishReason.rawValue)]\n"
        #expect(streamed.stdout.hasPrefix(head), "stdout: \(streamed.stdout)")
        let lines = streamed.stdout.dropFirst(head.count).split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("step ") }.count == expected.trace.count)
        #expect(lines.filter { $0.hasPrefix("  ") }.count == expected.trace.count * 4)  // a header and 3 candidates
        #expect(expected.trace.count == expected.tokens.count)
    }

    @Test("errors: an invalid parameter exits 2 naming INVALID_ARGUMENT; no answer within --timeout-ms exits 3")
    func errors() throws {
        let system = try Self.system()
        let invalid = try Self.run(["--coordinator", system.endpoint, "--prompt", "Había una vez", "--max-new-tokens", "20", "--temperature", "-1"])
        #expect(invalid.status == 2, "stdout: \(invalid.stdout)\nstderr: \(invalid.stderr)")
        #expect(invalid.stderr.contains("error INVALID_ARGUMENT: "), "stderr: \(invalid.stderr)")
        #expect(invalid.stderr.contains("temperature"))

        let nobody = "tcp://127.0.0.1:\(LiveSystem.freePort())"
        let silent = try Self.run(["--coordinator", nobody, "--prompt", "Había una vez", "--timeout-ms", "500"])
        #expect(silent.status == 3, "stdout: \(silent.stdout)\nstderr: \(silent.stderr)")
        #expect(silent.stderr.contains("no reply"))

        // The service still serves after both.
        let after = try Self.run(["--coordinator", system.endpoint, "--prompt", "Había una vez", "--max-new-tokens", "5", "--json"])
        Self.expectSame(after, try Self.local(system, "Había una vez") { $0.maxNewTokens = 5 })
    }

    @Test("two Python clients at once get what each would get alone")
    func concurrentClients() throws {
        let system = try Self.system()
        let first = try Client(["--coordinator", system.endpoint, "--prompt", "Había una vez", "--max-new-tokens", "20", "--json", "--request-id", "a"])
        let second = try Client(["--coordinator", system.endpoint, "--prompt", "El producto", "--max-new-tokens", "30", "--json", "--request-id", "b",
                                 "--strategy", "sample", "--seed", "7", "--temperature", "0.8", "--top-k", "20"])
        let (a, b) = (first.finish(), second.finish())
        Self.expectSame(a, try Self.local(system, "Había una vez") { $0.maxNewTokens = 20 })
        Self.expectSame(b, try Self.local(system, "El producto") {
            $0.maxNewTokens = 30; $0.strategy = .sample; $0.seed = 7; $0.temperature = 0.8; $0.topK = 20
        })
    }
}
