import ArgumentParser
import Foundation
import GPT2
import Tokenizer

/// A model directory as on the hub: weights, config.json and the tokenizer files.
struct LoadedModelDirectory {
    let loaded: LoadedModel
    let tokenizer: BPETokenizer

    init(_ directory: String) throws {
        do {
            loaded = try ModelLoader.load(directory: directory)
        } catch {
            throw ValidationError(error.description)
        }
        // What transformers loads with a warning loads here with the same warning, on stderr
        // so that --json output stays clean.
        for warning in loaded.model.config.warnings {
            // Dropped, not trapped on, when stderr is gone (`write(_:)` would trap).
            try? FileHandle.standardError.write(contentsOf: Data("warning: \(directory)/config.json: \(warning)\n".utf8))
        }
        do {
            tokenizer = try BPETokenizer(directory: directory)
        } catch {
            throw ValidationError("\(error.description) (a model directory holds the tokenizer files beside the weights)")
        }
        if tokenizer.vocabularySize > loaded.model.config.vocabSize {
            throw ValidationError("\(directory): the tokenizer has \(tokenizer.vocabularySize) tokens but the model only \(loaded.model.config.vocabSize)")
        }
    }

    var model: GPT2 { loaded.model }

    func encodePrompt(_ prompt: String) throws -> [Int32] {
        let ids = tokenizer.encode(prompt)
        if ids.isEmpty { throw ValidationError("--prompt: the prompt is empty") }
        return ids
    }

    /// A token as the notebook's tables show it: its text, with invisible characters named.
    func display(_ id: Int32) -> String {
        let text = tokenizer.decode([id])
        return text.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
    }
}
