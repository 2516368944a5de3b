import GPT2
import Kernels

/// Continuous batching: requests join the running batch at the next step and leave it when
/// they finish, each in its own KV-cache slots. A request's tokens do not depend on what
/// shares the batch: its prompt is prefilled in a call of its own, decode steps go in calls of
/// at most `GPT2.decodeRowLimit` rows (whose kernel computes every row the same way whatever
/// the row count), and each completion samples from its own seeded generator.
public final class BatchScheduler {
    public let generator: Generator
    let cache: KVCache
    var slots: [Generator.Sequence?]
    var waiting: [(id: Int, request: GenerationRequest)] = []
    var nextId = 0

    /// `slots` sequences at once, each of up to `maxLength` tokens (default: the model's context).
    public init(generator: Generator, slots: Int, maxLength: Int? = nil) {
        self.generator = generator
        cache = KVCache(config: generator.model.config, slots: slots, maxLength: maxLength)
        self.slots = Array(repeating: nil, count: slots)
    }

    public var capacity: Int { slots.count }
    public var activeSequences: Int { slots.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }
    public var waitingRequests: Int { waiting.count }
    public var isIdle: Bool { waiting.isEmpty && activeSequences == 0 }
    /// Requests decoding now (each with its `n` completions).
    public var activeRequests: Set<Int> { Set(slots.compactMap { $0?.request }) }

    /// Queues a request; it starts at a step when `n` slots are free. Returns its id (the
    /// `request` of its events).
    public func submit(_ request: GenerationRequest) throws(GenerationError) -> Int {
        try generator.validate(request)
        guard request.parameters.n <= slots.count else {
            throw .invalidParameter(name: "n", reason: "\(request.parameters.n) completions do not fit in \(slots.count) batch slots")
        }
        guard request.prompt.count < cache.maxLength else {
            throw .invalidParameter(name: "prompt", reason: "\(request.prompt.count) tokens leave no room in this batch's \(cache.maxLength) positions")
        }
        defer { nextId += 1 }
        waiting.append((nextId, request))
        return nextId
    }

    /// Ends a request wherever it is: waiting (it never starts) or decoding (its completions
    /// finish now with `reason`, their `.finished` events going to `onEvent`). False if unknown.
    @discardableResult
    public func cancel(_ id: Int, reason: FinishReason = .cancelled, onEvent: (GenerationEvent) -> Void = { _ in }) -> Bool {
        if let index = waiting.firstIndex(where: { $0.id == id }) {
            waiting.remove(at: index)
            return true
        }
        var found = false
        for slot in slots.indices where slots[slot]?.request == id {
            generator.finish(&slots[slot]!, reason: reason, onEvent: onEvent)
            slots[slot] = nil
            found = true
        }
        return found
    }

    /// One step: admits the waiting requests that fit (prefill and first token), then decodes
    /// one token for every sequence in the batch.
    public func step(onEvent: (GenerationEvent) -> Void) throws(GenerationError) {
        try admit(onEvent: onEvent)
        let active = slots.indices.filter { slots[$0] != nil }
        let V = generator.model.config.vocabSize
        var start = 0
        while start < active.count {
            let chunk = Array(active[start..<min(start + GPT2.decodeRowLimit, active.count)])
            start += chunk.count
            let logits = try generator.forward(chunk.map { CachedToken(slot: $0, token: slots[$0]!.tokens.last!, wantsLogits: true) }, cache)
            for (row, slot) in chunk.enumerated() {
                advance(slot, logits: logits[(row * V)..<((row + 1) * V)], onEvent: onEvent)
            }
        }
    }

    /// Prompt tokens prefilled per step beyond the first admitted request: long prompts join over
    /// a few steps instead of stalling every running sequence (and a service's heartbeats).
    public static let prefillBudget = 512

    func admit(onEvent: (GenerationEvent) -> Void) throws(GenerationError) {
        var prefilled = 0
        while let next = waiting.first {
            let free = slots.indices.filter { slots[$0] == nil }
            guard free.count >= next.request.parameters.n, prefilled < Self.prefillBudget else { return }
            prefilled += next.request.prompt.count
            waiting.removeFirst()
            let taken = Array(free.prefix(next.request.parameters.n))
            for (i, slot) in taken.enumerated() {
                // Each completion draws from its own generator: same seed, same text, whatever
                // else shares the batch.
                let seed = next.request.parameters.seed &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15
                cache.reset(slot: slot)
                slots[slot] = Generator.Sequence(request: next.id, index: i, slot: slot, parameters: next.request.parameters,
                                                 promptLength: next.request.prompt.count, tokens: next.request.prompt,
                                                 random: SeededGenerator(seed: seed), text: TextStream(stops: next.request.parameters.stop))
            }
            // The prompt is prefilled once and shared by the request's other completions.
            let prompt = next.request.prompt
            let logits = try generator.forward(prompt.enumerated().map { CachedToken(slot: taken[0], token: $1, wantsLogits: $0 == prompt.count - 1) }, cache)
            for slot in taken.dropFirst() { cache.copy(slot: taken[0], to: slot) }
            for slot in taken { advance(slot, logits: logits[...], onEvent: onEvent) }
        }
    }

    /// Samples a slot's next token from its logits; a finished sequence leaves the batch.
    func advance(_ slot: Int, logits: ArraySlice<Float>, onEvent: (GenerationEvent) -> Void) {
        generator.step(&slots[slot]!, logits: logits, onEvent: onEvent)
        if slots[slot]!.finish == nil && slots[slot]!.tokens.count >= cache.maxLength { slots[slot]!.finish = .length }
        if let reason = slots[slot]!.finish {
            generator.finish(&slots[slot]!, reason: reason, onEvent: onEvent)
            slots[slot] = nil
        }
    }
}
