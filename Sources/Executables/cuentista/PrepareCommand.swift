import ArgumentParser
import Foundation
import Prep
import Tokenizer
import Jobs

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Turn JSONL, CSV or text files into the token shards `cuentista train` reads.",
        discussion: """
        The notebook's preparation (product descriptions, 512 tokens, padded, 90/10 split):
          cuentista prepare --input products.jsonl --tokenizer gpt2-small-spanish --out prepared \\
              --template "{product_title}\\n{product_description}" --layout pad --fraction 0.01
        """)

    @OptionGroup var arguments: PrepareArguments

    func run() throws {
        let spec = arguments.spec
        do { _ = try spec.checkedOptions() } catch { throw ValidationError(error.description) }
        let started = Date()
        let counts: PrepareCounts
        do {
            let progress = ProgressLine()
            counts = try spec.run(in: .workingDirectory, commandLine: CommandLine.arguments) { done, total in
                let share: Double = total > 0 ? Double(done) / Double(total) : 0
                let elapsed: Double = Date().timeIntervalSince(started)
                let rate: Double = Double(done) / max(elapsed, 1e-9) / 1e6
                let eta: Double = share > 0 ? elapsed * (1 - share) / share : 0
                let text: String = String(format: "%.0f%%  %.1f MB/s  ETA %@", share * 100, rate, ProgressLine.clock(eta))
                progress.show(share, text, last: done >= total)
            }
            progress.finish()
        } catch let error as PrepError {
            throw ValidationError(error.description)
        } catch let error as JobSpecError {
            throw ValidationError(error.description)
        }
        let seconds = Date().timeIntervalSince(started)
        print("rows read        \(counts.rowsRead)")
        print("documents kept   \(counts.kept) (train \(counts.documents["train"] ?? 0), validation \(counts.documents["validation"] ?? 0))")
        for (reason, count) in counts.dropped.counts.sorted(by: { $0.key < $1.key }) {
            let lines = counts.dropped.firstLines[reason]?.map(String.init).joined(separator: ", ") ?? ""
            print("dropped          \(count) \(reason) (first lines: \(lines))")
        }
        print("tokens           train \(counts.tokens["train"] ?? 0), validation \(counts.tokens["validation"] ?? 0)")
        print("blocks of \(spec.maxLength)    train \(counts.blocks["train"] ?? 0), validation \(counts.blocks["validation"] ?? 0)")
        print("median words     \(counts.medianWords)")
        print(String(format: "wrote %@ in %.1f s", spec.out, seconds))
    }
}

/// The options of a preparation, shared by `prepare` and `jobs submit prepare`.
struct PrepareArguments: ParsableArguments {
    @Option(parsing: .upToNextOption, help: "Input files.") var input: [String]
    @Option(help: "Directory with the tokenizer files (a model directory works).") var tokenizer: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "The input format (auto: by extension).") var format = PrepareJobSpec.defaults.format
    @Option(help: "The field holding the text (JSONL/CSV; default: text).") var field: String?
    @Option(help: "Build the text from fields, e.g. \"{title}\\n{description}\".") var template: String?
    @Option(help: "Block length in tokens.") var maxLength = PrepareJobSpec.defaults.maxLength
    @Option(help: "pack (documents joined with EOS) | pad (one document per block, masked padding).") var layout = PrepareJobSpec.defaults.layout
    @Option(help: "Share of documents for validation.") var valFraction = PrepareJobSpec.defaults.valFraction
    @Option(help: "Seed of the split and of --fraction.") var seed: UInt64 = PrepareJobSpec.defaults.seed
    @Flag(help: "Drop exact duplicate texts.") var dedupe = PrepareJobSpec.defaults.dedupe
    @Option(help: "Keep at most N documents.") var limit: Int?
    @Option(help: "Keep this share of the rows (e.g. 0.01, as the notebook did).") var fraction: Double?
    @Option(help: "Drop texts shorter than this (characters).") var minChars = PrepareJobSpec.defaults.minChars
    @Option(help: "Drop texts longer than this (characters).") var maxChars: Int?
    @Flag(help: "Plain text: one document per blank-line-separated block instead of per line.") var blocks = PrepareJobSpec.defaults.blocks
    @Option(help: "CSV delimiter (one character).") var delimiter = PrepareJobSpec.defaults.delimiter
    @Option(help: "Shuffle documents (seeded) within windows of N documents; 0 keeps the input order.") var shuffleWindow = PrepareJobSpec.defaults.shuffleWindow

    var spec: PrepareJobSpec {
        var spec = PrepareJobSpec()
        spec.inputs = input
        spec.tokenizer = tokenizer
        spec.out = out
        spec.format = format
        spec.field = field
        spec.template = template
        spec.maxLength = maxLength
        spec.layout = layout
        spec.valFraction = valFraction
        spec.seed = seed
        spec.dedupe = dedupe
        spec.limit = limit
        spec.fraction = fraction
        spec.minChars = minChars
        spec.maxChars = maxChars
        spec.blocks = blocks
        spec.delimiter = delimiter
        spec.shuffleWindow = shuffleWindow
        return spec
    }
}
