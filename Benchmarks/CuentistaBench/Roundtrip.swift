import Foundation
import Jobs
import Logging
import Messaging
import Synchronization
import Services
import Tokenizer
import Wire

/// Tokenize requests through the coordinator against the same work in-process: latency
/// percentiles and throughput with `clients` concurrent clients (one thread and socket each).
enum Roundtrip {
    static let text = "Había una vez un hidalgo de la Mancha que leía libros de caballerías."

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
    }

    static func run(endpoint: String, dataDirectory: String, tokenizer: String, clients: Int, requests: Int) throws -> [String: Any] {
        let request = TokenizeRequest(version: .v1, tokenizer: tokenizer, request: .encode(EncodeRequest(text: text))).wire()
        let context = ZMQContext()
        // Warm-up: the worker loads the tokenizer on the first request.
        let warm = try MajordomoClient(context: context, endpoint: endpoint)
        for _ in 0..<20 { _ = try warm.request(service: "tokenize", body: request) }
        let latencies = Mutex<[Double]>([])
        let start = DispatchTime.now()
        // One real thread per client (concurrentPerform would run only as many as there are cores).
        let group = DispatchGroup()
        for _ in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                clientLoop()
            }
        }
        @Sendable func clientLoop() {
            guard let client = try? MajordomoClient(context: context, endpoint: endpoint) else { return }
            var mine: [Double] = []
            mine.reserveCapacity(requests)
            for _ in 0..<requests {
                let t0 = DispatchTime.now()
                _ = try? client.request(service: "tokenize", body: request)
                mine.append(Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e6)
            }
            latencies.withLock { $0 += mine }
        }
        group.wait()
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let sorted = latencies.withLock { $0 }.sorted()

        // In-process: the library call alone, and the service's handler (protobuf decode, encode, protobuf encode).
        let bpe = try BPETokenizer(directory: (dataDirectory as NSString).appendingPathComponent(tokenizer))
        var library: [Double] = []
        for _ in 0..<2000 {
            let t0 = DispatchTime.now()
            _ = bpe.encode(text)
            library.append(Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e6)
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let service = TokenizerService(data: DataDirectory(root: dataDirectory), defaultTokenizer: nil, logger: logger)
        _ = service.handle(request)
        var handler: [Double] = []
        for _ in 0..<2000 {
            let t0 = DispatchTime.now()
            _ = service.handle(request)
            handler.append(Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e6)
        }
        library.sort()
        handler.sort()
        return ["clients": clients, "requests": sorted.count, "p50_ms": percentile(sorted, 0.5), "p99_ms": percentile(sorted, 0.99),
                "requests_per_s": Double(sorted.count) / wall,
                "in_process_p50_ms": percentile(library, 0.5), "in_process_calls_per_s": 1000 / max(library.reduce(0, +) / Double(library.count), 1e-9),
                "handler_p50_ms": percentile(handler, 0.5)]
    }
}

