import Foundation
import Messaging
import Synchronization
import Wire

/// Streaming generation load against a live coordinator and generator: `clients` threads, each
/// sending `requests` greedy requests one after another (random prompts of `prompt` tokens,
/// `new` tokens each, EOS ignored). Aggregate tokens/s over the wall time, and time to first
/// token per request (from sending to the first streamed token).
enum Serve {
    static func run(endpoint: String, clients: Int, requests: Int, prompt: Int, new: Int, vocabulary: Int) throws -> [String: Any] {
        let context = ZMQContext()
        let parameters = Wire.GenerationParameters(maxNewTokens: UInt32(new), ignoreEos: true)
        // Warm-up: the first request pays for page faults in the weights.
        _ = try? stream(context, endpoint, id: "warm", prompt: [1, 2, 3], parameters: parameters)
        let ttfts = Mutex<[Double]>([]), tokens = Mutex(0), failures = Mutex(0)
        let group = DispatchGroup()
        let start = DispatchTime.now()
        for c in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var random = SystemRandomNumberGenerator()
                for r in 0..<requests {
                    let ids = (0..<prompt).map { _ in UInt32.random(in: 0..<UInt32(vocabulary), using: &random) }
                    if let (ttft, count) = try? stream(context, endpoint, id: "c\(c)-\(r)", prompt: ids, parameters: parameters) {
                        ttfts.withLock { $0.append(ttft) }
                        tokens.withLock { $0 += count }
                    } else {
                        failures.withLock { $0 += 1 }
                    }
                }
            }
        }
        group.wait()
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let sorted = ttfts.withLock { $0 }.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        return ["clients": clients, "requests": clients * requests, "tokens": tokens.withLock { $0 }, "wall_s": wall,
                "tokens_per_s": Double(tokens.withLock { $0 }) / wall, "ttft_p50_s": percentile(0.5), "ttft_p99_s": percentile(0.99),
                "failures": failures.withLock { $0 }]
    }

    /// One streaming request; (seconds to the first token, tokens received).
    static func stream(_ context: ZMQContext, _ endpoint: String, id: String, prompt: [UInt32],
                       parameters: Wire.GenerationParameters) throws -> (Double, Int)? {
        let client = try MajordomoClient(context: context, endpoint: endpoint)
        let sent = DispatchTime.now()
        let request = GenerateRequest(version: .v1, requestId: id, prompt: .tokens(TokenIds(ids: prompt)), parameters: parameters, stream: true)
        try client.send(service: "generate", body: GeneratorCall(call: .generate(request)).wire())
        var first: Double?
        var count = 0
        while let reply = try client.receive(timeoutMilliseconds: 600_000) {
            let event = try GenerateEvent(wire: reply.body)
            switch event.event {
            case let .token(token) where !token.textOnly:
                count += 1
                if first == nil { first = Double(DispatchTime.now().uptimeNanoseconds - sent.uptimeNanoseconds) / 1e9 }
            case .error:
                return nil
            default:
                break
            }
            if reply.final { return first.map { ($0, count) } }
        }
        return nil
    }
}
