import Foundation
import Messaging
import Wire

extension BrokerCore {
    static let broadcastPrefix: [UInt8] = [0] + Array("switch:".utf8)

    static func broadcastNumber(fromAddress address: [UInt8]) -> Int? {
        guard address.starts(with: broadcastPrefix) else { return nil }
        return Int(String(decoding: address.dropFirst(broadcastPrefix.count), as: UTF8.self))
    }

    /// A cancel goes where its request is: out of the queue here, or to the generator decoding it.
    func cancelGeneration(from client: [UInt8], _ cancel: CancelRequest) {
        let ack = GenerateEvent(requestId: cancel.requestId).wire()
        // Only the sender's own requests (any, for an admin); another's is as if unknown.
        func mine(_ request: PendingRequest) -> Bool { caller.admin || request.owner == caller.name }
        if let index = queues["generate", default: []].firstIndex(where: { $0.requestId == cancel.requestId && !cancel.requestId.isEmpty && mine($0) }) {
            let request = queues["generate"]!.remove(at: index)
            sendToClient(request.client, service: "generate", body: GenerateEvent(
                event: .error(ErrorReply(code: .cancelled, message: "cancelled before it started")), requestId: request.requestId).wire(), final: true)
            sendToClient(client, service: "generate", body: ack, final: true)
            return
        }
        for identity in workerOrder {
            let worker = workers[identity]!
            for case let .request(request) in worker.assignments
            where request.service == "generate" && request.requestId == cancel.requestId && !cancel.requestId.isEmpty && mine(request) {
                // The generator matches the original client's address and the id.
                sendToWorker(identity, .request, [request.client, [], GeneratorCall(call: .cancel(cancel)).wire()])
                sendToClient(client, service: "generate", body: ack, final: true)
                return
            }
        }
        replyError(to: client, service: "generate", code: .notFound, "no request '\(LogLimits.quote(cancel.requestId))' is queued or decoding", field: "request_id")
    }

    /// Every generator switches; "job:<id>" names a finished train job's best model.
    func switchModel(from client: [UInt8]?, _ request: SwitchModelRequest) {
        if let client, !caller.admin {
            return replyError(to: client, service: "generate", code: .permissionDenied,
                              "switching the model changes it for everyone: only an admin may (CurveZMQ --allow-admin-key, or the operator's endpoint)")
        }
        var request = request
        if request.model.hasPrefix("job:") {
            let id = String(request.model.dropFirst(4))
            guard let job = store.jobs[id], job.kind == "train", job.state == .succeeded else {
                if let client {
                    replyError(to: client, service: "generate", code: .notFound, "\(LogLimits.quote(id)) is not a succeeded train job", field: "model")
                }
                return
            }
            request.model = job.result
        }
        let generators = workerOrder.filter { workers[$0]!.service == "generate" }
        guard !generators.isEmpty else {
            if let client { replyError(to: client, service: "generate", code: .unknownService, "no generator is registered") }
            return
        }
        let number = nextBroadcast
        nextBroadcast += 1
        broadcasts[number] = Broadcast(client: client, waiting: Set(generators))
        let address = Self.broadcastPrefix + Array(String(number).utf8)
        for identity in generators {
            sendToWorker(identity, .request, [address, [], GeneratorCall(call: .switchModel(request)).wire()])
        }
        logger.info("switching \(generators.count) generator(s) to '\(LogLimits.quote(request.model))'")
    }

    func handleBroadcastReply(_ number: Int, from worker: WorkerEntry, body: [UInt8]) {
        // Only a generator the switch was sent to answers it.
        guard broadcasts[number]?.waiting.contains(worker.identity) == true else { return }
        broadcasts[number]!.waiting.remove(worker.identity)
        if case let .model(info) = (try? GenerateEvent(wire: body))?.event {
            worker.hello.model = info.model
            broadcasts[number]!.reply = body
        } else {
            broadcasts[number]!.error = body
            logger.warning("generator \(worker.name) could not switch models")
        }
        finishBroadcastIfDone(number)
    }

    func finishBroadcastIfDone(_ number: Int) {
        guard let broadcast = broadcasts[number], broadcast.waiting.isEmpty else { return }
        broadcasts[number] = nil
        guard let client = broadcast.client else { return }
        let body = broadcast.error ?? broadcast.reply
            ?? ErrorReply.wire(code: .internal, message: "every generator stopped before answering the switch")
        sendToClient(client, service: "generate", body: body, final: true)
    }
}
