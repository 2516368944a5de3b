import CProtobufC
import CProtos
import Foundation
import Testing

/// The committed protobuf-c code: fresh from Protos/, and able to encode and decode.
@Suite("Protos")
struct ProtosTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var hasProtocC: Bool {
        ["/usr/bin/protoc-c", "/usr/local/bin/protoc-c"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test("the committed generated code equals what scripts/gen-protos makes from Protos/", .enabled(if: hasProtocC, "protoc-c is not installed"))
    func notStale() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("protos-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let process = Process()
        process.executableURL = Self.repository.appendingPathComponent("scripts/gen-protos")
        process.arguments = [out]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let committed = Self.repository.appendingPathComponent("Sources/Protocol/CProtos").path
        let files = FileManager.default.enumerator(atPath: out)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".c") || $0.hasSuffix(".h") || $0.hasSuffix(".modulemap") }
        #expect(files.count == 12)
        for file in files {
            let fresh = try Data(contentsOf: URL(fileURLWithPath: out + "/" + file))
            let ours = try? Data(contentsOf: URL(fileURLWithPath: committed + "/" + file))
            #expect(ours == fresh, "\(file) is stale: run scripts/gen-protos and commit the result")
        }
    }

    @Test("an Error message packs and unpacks through protobuf-c; garbage is refused")
    func roundTrip() throws {
        var error = Cuentista__V1__Error()
        cuentista__v1__error__init(&error)
        error.code = CUENTISTA__V1__ERROR_CODE__ERROR_CODE_INVALID_ARGUMENT
        let message = strdup("temperature must be positive")!, field = strdup("temperature")!
        defer { free(message); free(field) }
        error.message = message
        error.field = field
        let size = cuentista__v1__error__get_packed_size(&error)
        var bytes = [UInt8](repeating: 0, count: size)
        #expect(cuentista__v1__error__pack(&error, &bytes) == size)
        let decoded = try #require(cuentista__v1__error__unpack(nil, bytes.count, bytes))
        defer { cuentista__v1__error__free_unpacked(decoded, nil) }
        #expect(decoded.pointee.code == CUENTISTA__V1__ERROR_CODE__ERROR_CODE_INVALID_ARGUMENT)
        #expect(String(cString: decoded.pointee.field) == "temperature")
        let garbage: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
        #expect(cuentista__v1__error__unpack(nil, garbage.count, garbage) == nil)
    }
}
