import Foundation
import Testing

@Suite("cuentista keys generate")
struct KeysCommandTests {
    func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("writes NAME.key (mode 600, with the secret) and NAME.pub (mode 644, public only)")
    func writes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try CLI.run(["keys", "generate", dir + "/k"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("wrote \(dir)/k.key and \(dir)/k.pub"))
        let secret = try String(contentsOfFile: dir + "/k.key", encoding: .utf8), shared = try String(contentsOfFile: dir + "/k.pub", encoding: .utf8)
        #expect(secret.contains("secret: ") && !shared.contains("secret"))
        #expect(try FileManager.default.attributesOfItem(atPath: dir + "/k.key")[.posixPermissions] as? Int == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: dir + "/k.pub")[.posixPermissions] as? Int == 0o644)
    }

    /// It used to print "wrote …" and exit 0 with no files.
    @Test("a missing folder fails, naming the file, and claims nothing")
    func missingFolder() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try CLI.run(["keys", "generate", dir + "/missing/k"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(dir)/missing/k.key: cannot open for writing: No such file or directory"), "\(result.stderr)")
        #expect(!result.stdout.contains("wrote"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/missing"))
    }

    @Test("when the public half cannot be written, the secret half is not left behind")
    func halfAPair() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/k.pub", withIntermediateDirectories: false)  // in the way
        let result = try CLI.run(["keys", "generate", dir + "/k"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(dir)/k.pub: cannot open for writing"), "\(result.stderr)")
        #expect(!result.stdout.contains("wrote"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/k.key"))
    }
}
