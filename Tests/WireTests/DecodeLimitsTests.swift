import Testing
import Wire

/// What a received body may cost to decode (see `DecodeLimits`), with bodies built by hand from
/// the protobuf encoding rules, as an attacker with the .proto files would.
@Suite("Wire decode limits")
struct DecodeLimitsTests {
    /// Field 127 as a varint 0: three bytes a decoder of any version must skip or keep.
    static let unknownField: [UInt8] = [0xF8, 0x07, 0x00]

    static func lengthPrefixed(_ key: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var length = payload.count, bytes = [key]
        while length >= 0x80 { bytes.append(UInt8(length & 0x7F) | 0x80); length >>= 7 }
        return bytes + [UInt8(length)] + payload
    }

    @Test("a body of unknown fields is refused before protobuf-c allocates them")
    func unknownFieldFlood() {
        // 2 MB of unknown fields: 700,000 allocations in protobuf-c without the scan.
        let body = [UInt8]((0..<700_000).flatMap { _ in Self.unknownField })
        #expect(throws: WireDecodingError.tooManyUnknownFields(type: "GeneratorCall", limit: DecodeLimits.maxUnknownFields)) {
            try GeneratorCall(wire: body)
        }
        // Nested ones count too: the same flood inside TokenizeRequest.encode.
        let nested = Self.lengthPrefixed(0x52, [UInt8]((0..<300).flatMap { _ in Self.unknownField }))
        #expect(throws: WireDecodingError.tooManyUnknownFields(type: "EncodeRequest", limit: DecodeLimits.maxUnknownFields)) {
            try TokenizeRequest(wire: nested)
        }
    }

    @Test("a newer peer's few extra fields still decode")
    func fewUnknownFields() throws {
        let known = TokenizeRequest(version: .v1, tokenizer: "models/base").wire()
        let body = known + [UInt8]((0..<DecodeLimits.maxUnknownFields).flatMap { _ in Self.unknownField })
        #expect(try TokenizeRequest(wire: body) == TokenizeRequest(version: .v1, tokenizer: "models/base"))
    }

    @Test("many tiny known fields are refused once they would cost more than the budget")
    func tinyFieldFlood() {
        // 600,000 empty EncodeRequest items in a batch: each two bytes on the wire, a struct,
        // a pointer and a malloc block in memory (about 45 times the size).
        let items = [UInt8]((0..<600_000).flatMap { _ in [UInt8]([0x0A, 0x00]) })
        let body = Self.lengthPrefixed(0x5A, items)
        #expect(throws: WireDecodingError.tooCostly(type: "TokenizeRequest", bytes: body.count)) { try TokenizeRequest(wire: body) }
    }

    @Test("big legitimate bodies decode: a 20 MB text, a million token ids")
    func bigLegitimateBodies() throws {
        let text = String(repeating: "Había una vez un hidalgo. ", count: 800_000)
        let encode = TokenizeRequest(version: .v1, request: .encode(EncodeRequest(text: text)))
        #expect(try TokenizeRequest(wire: encode.wire()) == encode)
        // Ids below 128 take one byte packed and four decoded: the densest legitimate growth.
        let decode = TokenizeRequest(version: .v1, request: .decode(DecodeRequest(ids: (0..<1_000_000).map { UInt32($0 % 128) })))
        #expect(try TokenizeRequest(wire: decode.wire()) == decode)
    }

    @Test("a NUL byte in a string is refused on both sides, naming the field")
    func nulBytes() {
        // TokenizeRequest.tokenizer (field 2) = "a\0b", as another language's client sends it.
        #expect(throws: WireDecodingError.nulInString(field: "TokenizeRequest.tokenizer")) {
            try TokenizeRequest(wire: Self.lengthPrefixed(0x12, [0x61, 0x00, 0x62]))
        }
        // Inside a sub-message: EncodeRequest.text.
        #expect(throws: WireDecodingError.nulInString(field: "EncodeRequest.text")) {
            try TokenizeRequest(wire: Self.lengthPrefixed(0x52, Self.lengthPrefixed(0x0A, [0x61, 0x00])))
        }
        // Bytes fields carry NULs: they are not strings.
        let request = TokenizeRequest(version: .v1, request: .encode(EncodeRequest(text: "a\0b")))
        #expect(throws: WireEncodingError.nulInString(field: "TokenizeRequest.request.some.encode.text")) { try request.checkedWire() }
        #expect(throws: Never.self) { try TokenizeRequest(version: .v1, tokenizer: "models/base").checkedWire() }
    }
}
