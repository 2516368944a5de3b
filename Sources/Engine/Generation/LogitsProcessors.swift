/// The logits processors, applied in `transformers`' order: logit bias, repetition penalty,
/// no-repeat-ngram, min-new-tokens; then, when sampling, the warpers temperature, top-k,
/// top-p, min-p and typical-p. Each works in place on one row of V logits; removed tokens
/// become -inf.
public enum LogitsProcessors {
    public static func logitBias(_ logits: inout [Float], _ bias: [Int32: Float]) {
        for (token, value) in bias where Int(token) < logits.count && token >= 0 { logits[Int(token)] += value }
    }

    /// `RepetitionPenaltyLogitsProcessor`: each distinct token of the context once.
    public static func repetitionPenalty(_ logits: inout [Float], context: [Int32], penalty: Float) {
        var seen = Set<Int32>()
        for token in context where seen.insert(token).inserted {
            let i = Int(token)
            logits[i] = logits[i] < 0 ? logits[i] * penalty : logits[i] / penalty
        }
    }

    /// OpenAI presence and frequency penalties over the generated tokens.
    public static func presenceFrequency(_ logits: inout [Float], counts: [Int32: Int], presence: Float, frequency: Float) {
        for (token, count) in counts where count > 0 {
            logits[Int(token)] -= presence + frequency * Float(count)
        }
    }

    /// `NoRepeatNGramLogitsProcessor`: bans every token that would complete an n-gram that
    /// already occurs in the context.
    public static func noRepeatNgram(_ logits: inout [Float], context: [Int32], size n: Int) {
        guard n > 0, context.count + 1 >= n else { return }
        if n == 1 {
            for token in context { logits[Int(token)] = -.infinity }
            return
        }
        let prefix = context.suffix(n - 1)
        var start = 0
        while start + n <= context.count {
            if context[start..<(start + n - 1)].elementsEqual(prefix) {
                logits[Int(context[start + n - 1])] = -.infinity
            }
            start += 1
        }
    }

    public static func temperature(_ logits: inout [Float], _ t: Float) {
        if t == 1 { return }
        for i in logits.indices { logits[i] /= t }
    }

    /// `TopKLogitsWarper`: removes tokens below the k-th largest logit (ties are kept).
    public static func topK(_ logits: inout [Float], _ k: Int, minKeep: Int = 1) {
        let k = min(max(k, minKeep), logits.count)
        guard k > 0, k < logits.count else { return }
        let threshold = kthLargest(logits, k)
        for i in logits.indices where logits[i] < threshold { logits[i] = -.infinity }
    }

    /// `TopPLogitsWarper`: sorted ascending, removes tokens whose cumulative probability is at
    /// most 1 - p, always keeping the `minKeep` most probable.
    public static func topP(_ logits: inout [Float], _ p: Float, minKeep: Int = 1) {
        guard p < 1 else { return }
        let order = logits.indices.sorted { (logits[$0], $0) < (logits[$1], $1) }
        let probabilities = softmax(order.map { logits[$0] })
        var cumulative: Float = 0
        var remove: [Int] = []
        for (rank, index) in order.enumerated() {
            cumulative += probabilities[rank]
            if cumulative <= 1 - p && rank < order.count - minKeep { remove.append(index) }
        }
        for index in remove { logits[index] = -.infinity }
    }

    /// `MinPLogitsWarper`: removes tokens less probable than min_p times the top token.
    public static func minP(_ logits: inout [Float], _ minP: Float, minKeep: Int = 1) {
        guard minP > 0 else { return }
        let probabilities = softmax(logits)
        let threshold = minP * (probabilities.max() ?? 0)
        let keep = Set(logits.indices.sorted { probabilities[$0] > probabilities[$1] }.prefix(minKeep))
        for i in logits.indices where probabilities[i] < threshold && !keep.contains(i) { logits[i] = -.infinity }
    }

    /// `TypicalLogitsWarper`: keeps the tokens whose information content is closest to the
    /// distribution's entropy, up to the given mass.
    public static func typicalP(_ logits: inout [Float], _ mass: Float, minKeep: Int = 1) {
        guard mass < 1 else { return }
        let logProbabilities = logSoftmax(logits)
        var entropy: Float = 0
        for lp in logProbabilities where lp.isFinite { entropy -= lp * _exp(lp) }
        let shifted = logProbabilities.map { abs(-$0 - entropy) }
        let order = logits.indices.sorted { (shifted[$0], $0) < (shifted[$1], $1) }
        let sortedProbabilities = softmax(order.map { logits[$0] })
        var cumulative: Float = 0
        var lastIndex = 0
        for probability in sortedProbabilities {
            cumulative += probability
            if cumulative < mass { lastIndex += 1 }
        }
        lastIndex = min(lastIndex, order.count - 1)
        let cutoff = shifted[order[lastIndex]]
        for (rank, index) in order.enumerated() where rank >= minKeep && shifted[index] > cutoff {
            logits[index] = -.infinity
        }
    }

    // MARK: helpers

    static func kthLargest(_ values: [Float], _ k: Int) -> Float {
        // A partial selection would do; V is 50k and this runs once per step, sorting is fine.
        values.sorted(by: >)[k - 1]
    }

    public static func softmax(_ logits: [Float]) -> [Float] {
        let maximum = logits.max() ?? 0
        guard maximum.isFinite else { return logits.map { $0 == maximum ? 1 : 0 } }
        var exps = logits.map { _exp($0 - maximum) }
        let total = exps.reduce(0, +)
        for i in exps.indices { exps[i] /= total }
        return exps
    }

    public static func logSoftmax(_ logits: [Float]) -> [Float] {
        let maximum = logits.max() ?? 0
        let total = logits.reduce(Float(0)) { $0 + _exp($1 - maximum) }
        let logTotal = _log(total) + maximum
        return logits.map { $0 - logTotal }
    }
}
