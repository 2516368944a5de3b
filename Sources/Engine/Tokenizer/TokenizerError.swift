/// Why a tokenizer could not be loaded or saved. Descriptions name the file and the problem.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The file exists but describes something this byte-level BPE does not implement.
    case unsupported(file: String, what: String)
    /// The file is not what it claims to be (bad JSON, missing fields, unknown merge tokens…).
    case invalidFile(file: String, reason: String)
    /// The file could not be read or written.
    case io(file: String, reason: String)
    /// A model directory holds neither `tokenizer.json` nor `vocab.json` + `merges.txt`.
    case noTokenizerFiles(directory: String)

    public var description: String {
        switch self {
        case .unsupported(let file, let what):
            return "\(file): unsupported tokenizer: \(what) (only byte-level BPE, as in GPT-2, is supported)"
        case .invalidFile(let file, let reason):
            return "\(file): \(reason)"
        case .io(let file, let reason):
            return "\(file): \(reason)"
        case .noTokenizerFiles(let directory):
            return "\(directory): no tokenizer.json, and no vocab.json + merges.txt pair"
        }
    }
}
