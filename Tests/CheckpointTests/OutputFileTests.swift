import Checkpoint
import Foundation
import Testing

@Suite("OutputFile: writes that say when they fail")
struct OutputFileTests {
    func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("outputfile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func permissions(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test("create writes the whole file with the permissions asked, even over a file that was readable by others")
    func create() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/secret"
        try OutputFile.create(path, contents: Data("a longer first version\n".utf8), permissions: 0o644)
        #expect(try permissions(path) == 0o644)
        try OutputFile.create(path, contents: Data("second\n".utf8), permissions: 0o600)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second\n")
        #expect(try permissions(path) == 0o600)
    }

    @Test("a file in a missing folder is an error naming the file and errno's reason, and nothing is created")
    func missingFolder() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/missing/file"
        #expect(throws: CheckpointError.io(path: path, reason: "cannot open for writing: No such file or directory")) {
            try OutputFile.create(path, contents: Data("x".utf8))
        }
        #expect(throws: CheckpointError.io(path: path, reason: "cannot open for writing: No such file or directory")) {
            try OutputFile.append(Data(), to: path)
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/missing"))
    }

    @Test("append creates the file, then adds to its end; open appending keeps what is there")
    func append() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/log"
        try OutputFile.append(Data(), to: path)
        #expect(FileManager.default.fileExists(atPath: path))
        try OutputFile.append(Data("one\n".utf8), to: path)
        try OutputFile.append(Data("two\n".utf8), to: path)
        let handle = try OutputFile.open(path, appending: true)
        try OutputFile.write(Array("three\n".utf8), to: handle, path: path)
        try OutputFile.finish(handle, path: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one\ntwo\nthree\n")
        try OutputFile.open(path).close()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "")
    }

    @Test("a full disk is an error naming the file", .enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func fullDisk() throws {
        #expect(throws: CheckpointError.io(path: "/dev/full", reason: "write failed: No space left on device")) {
            try OutputFile.create("/dev/full", contents: Data("x".utf8))
        }
        let handle = try OutputFile.open("/dev/full", appending: true)
        #expect(throws: CheckpointError.io(path: "/dev/full", reason: "write failed: No space left on device")) {
            try OutputFile.write(Data("x".utf8), to: handle, path: "/dev/full")
        }
    }
}
