import Foundation
import Logging
import Messaging
import Wire

/// The body of `cuentista-generator`: one loop that takes requests from the coordinator (and,
/// with `bind`, straight from clients), steps the batch, and sends the events.
public enum GeneratorMain {
    static let fromBroker: UInt8 = 0, fromDirect: UInt8 = 1

    public static func run(_ arguments: WorkerSettings, model: String, options: GeneratorOptions, bind: String?) throws {
        let stop = SignalFlag()
        let logger = arguments.logger("cuentista.generator")
        let service = try GeneratorService(data: arguments.data, model: model, options: options, logger: logger)
        let id = arguments.name(for: "generate")
        let context = ZMQContext()
        let worker = try arguments.worker(context: context, service: "generate", logger: logger, hello: {
            WorkerHello(version: .v1, service: "generate", workerId: id, host: ProcessInfo.processInfo.hostName,
                        capacity: UInt32(service.capacity), model: service.modelName).wire()
        }, heartbeat: {
            // Draining: every slot reported taken, so the coordinator sends nothing new here.
            Heartbeat(workerId: id, busy: UInt32(service.draining ? service.capacity : service.inFlight)).wire()
        })
        var direct: ZMQSocket?
        if let bind {
            // The direct endpoint has no keys, roles or owners: for development on one machine.
            guard CoordinatorEndpoint.isLocal(bind) else {
                throw WorkerStartError("--bind \(bind): the direct endpoint is for development on this machine (loopback or ipc://); serve other hosts through the coordinator, with CurveZMQ")
            }
            let socket = try ZMQSocket(context, .router)
            try socket.setRouterMandatory(true)
            try socket.setMaxMessageSize(4 * Majordomo.defaultMaxMessageBytes)
            try socket.bind(bind)
            direct = socket
            logger.info("direct clients: \(socket.lastEndpoint)")
        }
        logger.info("\(id) serving '\(model)' as 'generate' through \(arguments.coordinator): \(options.slots) slots, queue \(options.maxQueue), \(options.precision.rawValue)")

        func send(_ replies: [GeneratorService.Reply]) {
            for reply in replies {
                let client = Array(reply.client.dropFirst())
                if reply.client.first == fromBroker {
                    try? worker.reply(to: client, body: reply.body, final: reply.final)
                } else if let direct {
                    let command: Majordomo.ClientCommand = reply.final ? .final : .partial
                    do {
                        try direct.send([client, [], Majordomo.clientHeader, [command.rawValue], Array("generate".utf8), reply.body], dontWait: true)
                    } catch {
                        // The client is gone: stop working for it.
                        send(service.cancel(client: reply.client, requestId: ""))
                    }
                }
            }
        }

        var logLimiter = LogRateLimiter(), droppedDirect = 0
        while true {
            if stop.isRaised && !service.draining {
                service.draining = true
                logger.info("stopping: finishing \(service.inFlight) request(s) in flight")
            }
            if service.draining && service.inFlight == 0 { break }
            var timeout = service.hasWork ? 0 : 100
            for _ in 0..<64 {
                guard let request = try worker.next(timeoutMilliseconds: timeout, alsoWatching: direct.map { [$0] } ?? []) else { break }
                send(service.handle(client: [fromBroker] + request.client, body: request.body))
                timeout = 0
            }
            // A bounded number per turn, so that a flood on the direct endpoint cannot stop the
            // decoding of what is already in flight.
            for _ in 0..<64 {
                guard let direct, let frames = try direct.receive(dontWait: true) else { break }
                guard frames.count >= 6, frames[1].isEmpty, frames[2] == Majordomo.clientHeader, frames[3] == [Majordomo.ClientCommand.request.rawValue] else {
                    droppedDirect += 1
                    let (write, leftOut) = logLimiter.admit("junk", now: DispatchTime.now().uptimeNanoseconds / 1_000_000)
                    if write {
                        logger.warning("dropped a direct message that is not a Majordomo request (\(droppedDirect) so far\(leftOut > 0 ? ", \(leftOut) not logged" : ""))")
                    }
                    continue
                }
                let client = [fromDirect] + frames[0]
                if frames[4] != Array("generate".utf8) {
                    send([GeneratorService.error(client, "", .unknownService, "this endpoint serves only 'generate'")])
                } else {
                    send(service.handle(client: client, body: frames[5], direct: true))
                }
            }
            send(service.step())
        }
        worker.disconnect()
        logger.info("\(id) stopped")
    }
}
