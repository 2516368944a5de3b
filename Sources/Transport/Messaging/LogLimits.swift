/// Log lines whose size and rate no peer decides: a peer's text is cut and made printable
/// (ten requests for a 50 MB service name grew a log by 1 GB), and a warning a peer can cause
/// at will is written at most once a second per kind, with how many were left out.
public enum LogLimits {
    /// The longest peer-supplied value a log line (or an error reply) quotes.
    public static let maxQuotedCharacters = 120

    /// `text` as a log line may quote it: control characters escaped, cut to
    /// `maxQuotedCharacters` with how much was left out.
    public static func quote(_ text: some StringProtocol) -> String {
        var quoted = "", count = 0
        for scalar in text.unicodeScalars {
            if count == maxQuotedCharacters {
                return quoted + "…(\(text.utf8.count) bytes in all)"
            }
            quoted += scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
            count += 1
        }
        return quoted
    }

    /// Bytes of a frame as text (invalid UTF-8 shown as U+FFFD), quoted.
    public static func quote(bytes: some Collection<UInt8>) -> String {
        quote(String(decoding: bytes.prefix(4 * maxQuotedCharacters), as: UTF8.self))
            + (bytes.count > 4 * maxQuotedCharacters ? "…(\(bytes.count) bytes in all)" : "")
    }
}

/// Decides which occurrences of a repeated log line are written: the first, then at most one
/// per `interval` milliseconds for each kind. Kinds are the caller's fixed names, never peer
/// text, so the table stays small.
public struct LogRateLimiter {
    private var nextAllowed: [String: UInt64] = [:]
    private var suppressed: [String: Int] = [:]
    public let interval: UInt64

    public init(interval milliseconds: UInt64 = 1000) { interval = milliseconds }

    /// Whether to write this occurrence of `kind` at `now` (milliseconds); when yes, also how
    /// many were left out since the last one written.
    public mutating func admit(_ kind: String, now: UInt64) -> (write: Bool, leftOut: Int) {
        guard now >= nextAllowed[kind, default: 0] else {
            suppressed[kind, default: 0] += 1
            return (false, 0)
        }
        nextAllowed[kind] = now + interval
        return (true, suppressed.removeValue(forKey: kind) ?? 0)
    }
}
