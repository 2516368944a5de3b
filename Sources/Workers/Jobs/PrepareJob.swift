import Foundation
import JobSpecs
import Prep
import Tokenizer

extension PrepareJobSpec {
    /// Every check before the job runs: the values, then that the inputs and the tokenizer exist.
    public func validate(in data: DataDirectory) throws(JobSpecError) {
        try checkValues(in: data)
        for input in inputs { _ = try data.requireExisting(input, field: "input") }
        _ = try data.requireExisting(tokenizer, field: "tokenizer")
    }

    public func run(in data: DataDirectory, commandLine: [String] = [], progress: (Int, Int) -> Void = { _, _ in },
                    shouldStop: () -> Bool = { false }) throws -> PrepareCounts {
        try validate(in: data)
        let options = try checkedOptions()
        let inputs = try self.inputs.map { input throws(JobSpecError) in try data.requireExisting(input, field: "input") }
        let tokenizerPath = try data.requireExisting(tokenizer, field: "tokenizer")
        let bpe: BPETokenizer
        do { bpe = try BPETokenizer(directory: tokenizerPath) } catch {
            throw JobSpecError(field: "tokenizer", error.description)
        }
        return try Preparer.run(inputs: inputs, tokenizer: bpe, options: options, to: try data.writable(out, field: "out"),
                                commandLine: commandLine, progress: progress, shouldStop: shouldStop)
    }
}
