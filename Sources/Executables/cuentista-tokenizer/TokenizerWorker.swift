import ArgumentParser
import Messaging
import Services
import WorkerCommandLine

@main
struct TokenizerWorker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cuentista-tokenizer",
        abstract: "The tokenizer service: encodes, decodes and counts tokens for clients of the coordinator (service 'tokenize').",
        discussion: """
        Start the coordinator first (`cuentista coordinator --data-dir DATA`), then:
          cuentista-tokenizer --coordinator tcp://127.0.0.1:5555 --data-dir DATA --tokenizer models/base
        Requests name a model or tokenizer directory relative to DATA; --tokenizer is the one used
        when they name none. Run several for more throughput; stop with Ctrl-C or SIGTERM.
        """)

    @OptionGroup var worker: WorkerArguments
    @Option(help: "Default tokenizer directory, relative to --data-dir (loaded at start).") var tokenizer: String?
    @Option(help: "The coordinator's --max-message-bytes: replies over four times it (the frame limit) are refused with TOO_LARGE.")
    var maxMessageBytes = Majordomo.defaultMaxMessageBytes

    func validate() throws {
        guard maxMessageBytes >= 1 else { throw ValidationError("--max-message-bytes must be at least 1, got \(maxMessageBytes)") }
    }

    func run() throws {
        try TokenizerMain.run(worker.settings, defaultTokenizer: tokenizer, maxReplyBytes: 4 * maxMessageBytes)
    }
}
