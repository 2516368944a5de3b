/// The four classes GPT-2's split pattern distinguishes: `\p{L}`, `\p{N}`, `\s`, and the rest.
enum CharClass: UInt8 {
    case letter = 0, number = 1, space = 2, other = 3
}

/// Classifies scalars the way the Oniguruma build inside Hugging Face `tokenizers` does.
///
/// Scalars of the Basic Multilingual Plane come from a 64 KiB table built once (the
/// `Unicode.Scalar.Properties` lookups are far too slow for the scanner's inner loop); the rest
/// are looked up when met, which for most text means emoji only.
final class CharClassTable: @unchecked Sendable {
    // @unchecked: the buffer is written once in init and only read afterwards.
    let bmp: UnsafeMutablePointer<UInt8>

    static let shared = CharClassTable()

    private init() {
        bmp = .allocate(capacity: 0x10000)
        for v in 0..<0x10000 {
            bmp[v] = Unicode.Scalar(UInt32(v)).map { Self.classify($0).rawValue } ?? CharClass.other.rawValue
        }
    }

    deinit { bmp.deallocate() }

    /// `\s` is White_Space (checked against HF for every scalar); `\p{L}`/`\p{N}` are general
    /// categories. ASCII 0x1C–0x1F are *not* spaces there, unlike Python's `str.isspace`.
    static func classify(_ s: Unicode.Scalar) -> CharClass {
        let p = s.properties
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return isNewerThanReference(s.value) ? .other : .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return isNewerThanReference(s.value) ? .other : .number
        default:
            return .other
        }
    }

    /// Letters and digits added in Unicode 17. The Swift runtime knows them, the regex engine
    /// in HF `tokenizers` 0.23 does not (it sees unassigned code points, i.e. "other"); found
    /// by comparing every scalar's class in both. Swift runtimes with older Unicode data
    /// already classify these as unassigned, so the list is harmless there.
    private static let newerRanges: [ClosedRange<UInt32>] = [
        0x88F...0x88F, 0xC5C...0xC5C, 0xCDC...0xCDC, 0xA7CE...0xA7CF, 0xA7D2...0xA7D2,
        0xA7D4...0xA7D4, 0xA7F1...0xA7F1, 0x10940...0x10959, 0x10EC5...0x10EC7,
        0x11DB0...0x11DDB, 0x11DE0...0x11DE9, 0x16EA0...0x16EB8, 0x16EBB...0x16ED3,
        0x16FF2...0x16FF6, 0x187F8...0x187FF, 0x18D09...0x18D1E, 0x18D80...0x18DF2,
        0x1E6C0...0x1E6DE, 0x1E6E0...0x1E6E2, 0x1E6E4...0x1E6E5, 0x1E6E7...0x1E6ED,
        0x1E6F0...0x1E6F4, 0x1E6FE...0x1E6FF, 0x2B73A...0x2B73F, 0x2CEA2...0x2CEAD,
        0x323B0...0x33479,
    ]

    private static func isNewerThanReference(_ v: UInt32) -> Bool {
        newerRanges.contains { $0.contains(v) }
    }

    /// Rust's `char::is_alphanumeric` (Alphabetic or a number category) or `_`, which HF uses
    /// to decide whether a `single_word` added token touches a word.
    static func isWordScalar(_ s: Unicode.Scalar) -> Bool {
        if s == "_" { return true }
        let p = s.properties
        if p.isAlphabetic { return true }
        switch p.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
}
