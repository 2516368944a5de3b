import ArgumentParser
import Foundation
import Generation
import Messaging
import Services
import Wire

extension GenerateCommand {
    /// The same request through the coordinator to the generator service; the same output.
    /// Ctrl-C cancels the request on the service before leaving.
    func runRemote(endpoint: String) throws {
        let stop = SignalFlag()
        let (serverPublic, own) = try KeyFile.clientKeys(serverKey: serverKey, keys: keys)
        let client = try MajordomoClient(context: ZMQContext(), endpoint: endpoint, serverKey: serverPublic, keys: own)
        let requestId = UUID().uuidString
        let request = GenerateRequest(version: .v1, requestId: requestId, model: model ?? "", prompt: .text(prompt),
                                      parameters: try parameters().wire, stream: true)
        try client.send(service: "generate", body: GeneratorCall(call: .generate(request)).checkedWire())
        var texts: [Int32: String] = [:]
        var lastHeard = Date()
        var cancelled = false
        var final: GenerateFinal?
        while final == nil {
            if stop.isRaised && !cancelled {
                cancelled = true
                try client.send(service: "generate", body: GeneratorCall(call: .cancel(CancelRequest(version: .v1, requestId: requestId))).wire())
            }
            guard let reply = try client.receive(timeoutMilliseconds: 200) else {
                if Date().timeIntervalSince(lastHeard) > 60 {
                    throw ValidationError("no reply from the generator service at \(endpoint) for 60 s (is `cuentista-generator` running?)")
                }
                continue
            }
            lastHeard = Date()
            let event = try GenerateEvent(wire: reply.body)
            guard event.requestId == requestId || event.requestId.isEmpty else { continue }
            switch event.event {
            case let .error(error):
                throw ValidationError(error.field.isEmpty ? error.message : "\(error.message) (field \(error.field))")
            case let .token(token):
                for candidate in token.trace?.candidates ?? [] { texts[Int32(bitPattern: candidate.token)] = candidate.text }
                guard stream, !json, !token.text.isEmpty else { continue }
                if n > 1 { print("[\(token.completion)] ", terminator: "") }
                print(token.text, terminator: n > 1 ? "\n" : "")
                fflush(nil)
            case let .final(done):
                final = done
            case .model, nil:
                continue  // the acknowledgement of our cancel
            }
        }
        let completions = final!.completions.map { wire in
            for step in wire.trace {
                texts[Int32(bitPattern: step.chosen)] = step.chosenText
                for candidate in step.candidates { texts[Int32(bitPattern: candidate.token)] = candidate.text }
            }
            return Generation.Completion(request: 0, index: Int(wire.index), tokens: wire.tokens.map { Int32(bitPattern: $0) }, text: wire.text,
                                         finishReason: Generation.FinishReason(wire.finishReason), promptTokens: Int(final!.promptTokens),
                                         trace: wire.trace.map(Generation.TraceStep.init))
        }
        if stream && !json { print("") }
        if json { return try printJSON(completions) }
        show(completions) { token in
            (texts[token] ?? "").replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
        }
    }
}

extension Generation.FinishReason {
    init(_ wire: Wire.FinishReason) {
        self = switch wire {
        case .eos: .eos
        case .stop: .stop
        case .cancelled: .cancelled
        case .deadline: .deadline
        case .length, .unspecified: .length
        }
    }
}
