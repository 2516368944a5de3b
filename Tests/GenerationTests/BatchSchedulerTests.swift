import Foundation
import GPT2
import Generation
import Testing

/// Continuous batching: requests that join and leave a running batch give exactly what they
/// give alone, bit for bit (tokens and the trace's probabilities).
@Suite("Continuous batching")
struct BatchSchedulerTests {
    static func requests() -> [GenerationRequest] {
        var requests: [GenerationRequest] = []
        for i in 0..<9 {
            var p = GenerationParameters()
            p.strategy = [.greedy, .sample, .epsilonGreedy][i % 3]
            p.temperature = 0.9
            p.topK = i % 2 == 0 ? 20 : 0
            p.maxNewTokens = 20 + 2 * i
            p.seed = UInt64(100 + i)
            p.n = i % 2 == 0 ? 3 : 1
            p.traceTop = 3
            p.ignoreEOS = true
            let prompt = (0..<(3 + i * 5 % 23)).map { Int32(($0 * 37 + i * 11) % 500 + 1) }
            requests.append(GenerationRequest(prompt: prompt, parameters: p))
        }
        return requests
    }

    @Test("requests joining at different steps (up to 19 sequences, decode calls split at 16 rows) equal each run alone")
    func joinAndLeave() throws {
        let generator = Generator(model: GeneratorTests.model, eosToken: 0)
        let requests = Self.requests()
        let alone = try requests.map { try generator.run([$0])[0] }
        let scheduler = BatchScheduler(generator: generator, slots: 24)
        var results: [Int: [Completion]] = [:]
        var ids: [Int: Int] = [:]
        var step = 0
        var maxActive = 0
        let joinAt = [0, 0, 0, 1, 1, 2, 3, 5, 9]
        while results.values.reduce(0, { $0 + $1.count }) < requests.reduce(0, { $0 + $1.parameters.n }) {
            for (i, at) in joinAt.enumerated() where at == step { ids[try scheduler.submit(requests[i])] = i }
            try scheduler.step { event in
                if case let .finished(c) = event { results[ids[c.request]!, default: []].append(c) }
            }
            maxActive = max(maxActive, scheduler.activeSequences)
            step += 1
        }
        #expect(maxActive > GPT2.decodeRowLimit)
        for i in requests.indices {
            let batched = results[i]!.sorted { $0.index < $1.index }
            #expect(batched.map(\.tokens) == alone[i].map(\.tokens), "request \(i)")
            #expect(batched.map(\.text) == alone[i].map(\.text))
            #expect(batched.map(\.trace) == alone[i].map(\.trace), "request \(i): probabilities differ")
        }
        #expect(scheduler.isIdle)
    }

    @Test("cancel takes a request out within the step; the others are unaffected; a waiting one never starts")
    func cancel() throws {
        let generator = Generator(model: GeneratorTests.model, eosToken: 0)
        let requests = Array(Self.requests().prefix(3))
        let alone = try generator.run([requests[1]])[0]
        let scheduler = BatchScheduler(generator: generator, slots: 4)
        let first = try scheduler.submit(requests[0])   // n = 3
        let second = try scheduler.submit(requests[1])
        let third = try scheduler.submit(requests[2])   // waits: no slot free
        var finished: [Completion] = []
        try scheduler.step { if case let .finished(c) = $0 { finished.append(c) } }
        #expect(scheduler.activeRequests == [first, second])
        #expect(scheduler.cancel(third))
        #expect(scheduler.cancel(first) { if case let .finished(c) = $0 { finished.append(c) } })
        #expect(finished.filter { $0.request == first }.count == 3)
        #expect(finished.allSatisfy { $0.finishReason == .cancelled })
        #expect(scheduler.activeSequences == 1)
        while !scheduler.isIdle { try scheduler.step { if case let .finished(c) = $0 { finished.append(c) } } }
        #expect(finished.last?.tokens == alone[0].tokens)
        #expect(!finished.contains { $0.request == third })
        #expect(!scheduler.cancel(999))
    }
}
