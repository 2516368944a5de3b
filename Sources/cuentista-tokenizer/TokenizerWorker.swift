import ArgumentParser
import Foundation
import Messaging
import Services

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

    func run() throws {
        let stop = SignalFlag()
        let logger = worker.logger("cuentista.tokenizer")
        let service = TokenizerService(data: worker.data, defaultTokenizer: tokenizer, logger: logger)
        if let tokenizer {
            do { try service.preload(tokenizer) } catch { throw ValidationError("--tokenizer: \(error)") }
        }
        let id = worker.name(for: "tokenize")
        let context = ZMQContext()
        let majordomo = try worker.worker(context: context, service: "tokenize", logger: logger,
                                          hello: { WorkerHelloBytes.make(service: "tokenize", id: id) },
                                          heartbeat: { HeartbeatBytes.make(id: id) })
        logger.info("\(id) serving 'tokenize' through \(worker.connect), data directory \(worker.data.root)")
        while !stop.isRaised {
            if let request = try majordomo.next(timeoutMilliseconds: 250) {
                try majordomo.reply(to: request.client, body: service.handle(request.body), final: true)
            }
        }
        majordomo.disconnect()
        logger.info("\(id) stopped")
    }
}
