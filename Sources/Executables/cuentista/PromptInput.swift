import ArgumentParser
import Foundation

/// `--prompt -`: the prompt is standard input (a file piped in, a heredoc), its one final
/// newline dropped as shells add it.
enum PromptInput {
    static func resolve(_ prompt: String) throws -> String {
        guard prompt == "-" else { return prompt }
        let data = FileHandle.standardInput.readDataToEndOfFile()
        guard var text = String(data: data, encoding: .utf8) else { throw ValidationError("--prompt -: standard input is not UTF-8 text") }
        if text.hasSuffix("\n") { text.removeLast() }
        guard !text.isEmpty else { throw ValidationError("--prompt -: standard input is empty") }
        return text
    }
}
