import Foundation
import Testing

/// Options mean what they say (issue 17 item 4): a sampling option without --strategy samples;
/// with an explicit greedy it warns, as transformers does; --temperature 0 is greedy.
@Suite("cuentista generate: sampling options")
struct SamplingOptionsTests {
    static func generate(_ extra: [String]) throws -> CLI.Result {
        try CLI.run(["generate", "--model", CLI.fixture("tiny-safetensors"), "--prompt", "Había una vez", "--max-new-tokens", "12", "--json"] + extra)
    }

    @Test("--temperature without --strategy samples (the same text as --strategy sample); --temperature 0 is greedy; greedy with --top-k warns")
    func samplingOptionsMeanSampling() throws {
        let implicit = try Self.generate(["--temperature", "1.5", "--seed", "3"])
        let explicit = try Self.generate(["--strategy", "sample", "--temperature", "1.5", "--seed", "3"])
        let greedy = try Self.generate([])
        #expect(implicit.status == 0 && explicit.status == 0 && greedy.status == 0, "\(implicit.stderr)\(explicit.stderr)")
        #expect(implicit.stdout == explicit.stdout)
        #expect(implicit.stdout != greedy.stdout, "sampling at temperature 1.5 gave the greedy text")
        let zero = try Self.generate(["--temperature", "0", "--seed", "3"])
        #expect(zero.status == 0 && zero.stdout == greedy.stdout, "\(zero.stderr)")
        let warned = try Self.generate(["--strategy", "greedy", "--top-k", "5"])
        #expect(warned.status == 0 && warned.stdout == greedy.stdout)
        #expect(warned.stderr.contains("warning: --top-k has no effect with --strategy greedy"), "\(warned.stderr)")
    }
}

@Suite("cuentista generate: the prompt from standard input")
struct PromptFromStandardInputTests {
    @Test("--prompt - reads standard input and gives what --prompt TEXT gives")
    func promptFromStandardInput() throws {
        let direct = try SamplingOptionsTests.generate([])
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["generate", "--model", CLI.fixture("tiny-safetensors"), "--prompt", "-", "--max-new-tokens", "12", "--json"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: Data("Había una vez\n".utf8))
        try input.fileHandleForWriting.close()
        let piped = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0 && piped == direct.stdout, "\(piped)")
    }
}

@Suite("JSON output")
struct JSONOutputTests {
    @Test("paths in JSON output are written as they are, '/' not escaped")
    func slashesNotEscaped() throws {
        let inspect = try CLI.run(["inspect", "--model", CLI.fixture("tiny-safetensors"), "--json"])
        #expect(inspect.status == 0 && inspect.stdout.contains("tiny-safetensors/model.safetensors") && !inspect.stdout.contains("\\/"))
    }
}
