import ArgumentParser
import Foundation
import Tokenizer

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show the token ids and token strings of a text.",
        discussion: "Example: cuentista tokenize --tokenizer ~/models/gpt2-small-spanish \"Había una vez\"")

    @Option(help: "A directory with tokenizer.json, or vocab.json and merges.txt.")
    var tokenizer: String

    @Argument(help: "The text to tokenize.")
    var text: String?

    @Option(help: "Read the text from a file instead.")
    var file: String?

    @Flag(help: "Print JSON (ids, tokens, count).")
    var json = false

    func run() throws {
        let bpe: BPETokenizer
        do { bpe = try BPETokenizer(directory: tokenizer) } catch { throw ValidationError(error.description) }
        let input: String
        switch (text, file) {
        case let (text?, nil): input = text
        case let (nil, file?):
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("\(file): cannot read the file") }
            input = String(decoding: data, as: UTF8.self)
        default: throw ValidationError("give either a TEXT argument or --file, not both")
        }
        let ids = bpe.encode(input)
        let tokens = ids.map { bpe.tokenString($0) ?? "?" }
        if json {
            struct Report: Encodable { let ids: [Int32]; let tokens: [String]; let count: Int }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(Report(ids: ids, tokens: tokens, count: ids.count)), as: UTF8.self))
            return
        }
        print("\(ids.count) tokens")
        for (id, token) in zip(ids, tokens) { print(String(format: "%8d  ", id) + token) }
    }
}

struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Tokenizer tools.", subcommands: [TrainTokenizerCommand.self])
}

struct TrainTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Learn a byte-level BPE from text files; writes vocab.json, merges.txt and tokenizer.json.",
        discussion: "Example: cuentista tokenizer train --input corpus.txt --vocab-size 8192 --out my-tokenizer")

    @Option(parsing: .upToNextOption, help: "Text files to learn from.")
    var input: [String]

    @Option(help: "Size of the vocabulary, special tokens and the 256 bytes included.")
    var vocabSize: Int

    @Option(help: "Directory to write.")
    var out: String

    @Option(help: "Pairs rarer than this are never merged.")
    var minFrequency = 2

    func run() throws {
        guard vocabSize > 257 else { throw ValidationError("--vocab-size must exceed 257 (256 bytes + <|endoftext|>)") }
        let started = Date()
        let trained: BPETokenizer
        do {
            // Line by line, as Hugging Face's trainer reads files.
            trained = try BPETrainer.train(files: input, vocabSize: vocabSize, minFrequency: minFrequency)
            try trained.save(to: out)
        } catch {
            throw ValidationError(error.description)
        }
        print("trained \(trained.vocabularySize) tokens (\(trained.mergeCount) merges) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; wrote \(out)")
    }
}
