/// GPT-2's `bytes_to_unicode`: every byte gets a printable scalar so that vocab entries and
/// merges can be written as text. Printable Latin-1 bytes map to themselves; the other 68
/// bytes (controls, space, U+00A0, U+00AD) map to U+0100, U+0101, … in byte order.
enum ByteLevel {
    /// Scalar value that stands for each byte (index = byte).
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if isPrintable(UInt8(b)) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// Inverse of `byteToScalar` for the scalars below U+0144 (-1 where no byte maps there).
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in byteToScalar.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    @inline(__always)
    static func isPrintable(_ b: UInt8) -> Bool {
        (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE
    }

    /// The byte a scalar of a byte-level token stands for, or nil when the scalar is not part
    /// of the alphabet (then the token is not byte-level text, e.g. an added token).
    @inline(__always)
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let v = scalar.value
        guard v < 0x144 else { return nil }
        let b = scalarToByte[Int(v)]
        return b < 0 ? nil : UInt8(b)
    }

    /// Bytes a vocab string stands for, or nil if some scalar is outside the alphabet.
    static func bytes(ofToken token: String) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard let b = byte(for: s) else { return nil }
            out.append(b)
        }
        return out
    }
}
