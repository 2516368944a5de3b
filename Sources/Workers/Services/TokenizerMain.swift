import Foundation
import Messaging

/// The body of `cuentista-tokenizer`: one request at a time from the coordinator.
public enum TokenizerMain {
    /// `defaultTokenizer` (relative to the data directory) is loaded before the loop starts, so
    /// that a wrong path is an error at start, not at the first request.
    public static func run(_ arguments: WorkerSettings, defaultTokenizer: String?, maxReplyBytes: Int = Majordomo.defaultMaxFrameBytes) throws {
        let stop = SignalFlag()
        let logger = arguments.logger("cuentista.tokenizer")
        let service = TokenizerService(data: arguments.data, defaultTokenizer: defaultTokenizer, logger: logger)
        if let defaultTokenizer {
            do { try service.preload(defaultTokenizer) } catch { throw WorkerStartError("--tokenizer: \(error)") }
        }
        let id = arguments.name(for: "tokenize")
        let context = ZMQContext()
        let worker = try arguments.worker(context: context, service: "tokenize", logger: logger,
                                          hello: { WorkerHelloBytes.make(service: "tokenize", id: id) },
                                          heartbeat: { HeartbeatBytes.make(id: id) })
        logger.info("\(id) serving 'tokenize' through \(arguments.coordinator), data directory \(arguments.data.root)")
        while !stop.isRaised {
            if let request = try worker.next(timeoutMilliseconds: 250) {
                try worker.reply(to: request.client, body: service.handle(request.body, maxReplyBytes: maxReplyBytes), final: true)
            }
        }
        worker.disconnect()
        logger.info("\(id) stopped")
    }
}
