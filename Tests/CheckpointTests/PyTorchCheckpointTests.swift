import Checkpoint
import Foundation
import Testing

// Inputs are hand-made bytes: the zip writer and pickle builder below stand in for
// torch.save, so that these tests need no Python.

@Suite final class PyTorchCheckpointTests: Sendable {
    /// Removed with everything in it when the test ends.
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cuentista-pickle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func temporaryFile(_ contents: [UInt8]) throws -> String {
        let url = directory.appendingPathComponent("\(UUID().uuidString).bin")
        try Data(contents).write(to: url)
        return url.path
    }

    // MARK: Hostile pickles

    /// (pickle bytes, module, name) of the global each must be refused for.
    static let hostilePickles: [([UInt8], String, String)] = [
        // The classic `cos\nsystem\n(S'ls'\ntR.` payload, protocol 2.
        (bytes(0x80, 0x02) + ascii("cos\nsystem\n") + [0x71, 0x00] + binunicode("ls") + [0x85, 0x52, 0x2e], "os", "system"),
        (bytes(0x80, 0x02) + ascii("cbuiltins\neval\n") + binunicode("1+1") + [0x85, 0x52, 0x2e], "builtins", "eval"),
        (bytes(0x80, 0x02) + ascii("cposix\nsystem\n") + binunicode("id") + [0x85, 0x52, 0x2e], "posix", "system"),
        // Protocol 4 names the global with two strings on the stack.
        (bytes(0x80, 0x04, 0x95) + le64(30) + [0x8c, 8] + ascii("builtins") + [0x94, 0x8c, 4] + ascii("eval") + [0x94, 0x93, 0x94]
            + [0x8c, 3] + ascii("1+1") + [0x85, 0x52, 0x2e], "builtins", "eval"),
        // Refused as soon as it is read, before the garbage that follows is even looked at.
        (bytes(0x80, 0x02) + ascii("csubprocess\nPopen\n") + [0xff, 0xff], "subprocess", "Popen"),
    ]

    @Test(arguments: hostilePickles)
    func refusesForbiddenGlobal(pickle: [UInt8], module: String, name: String) throws {
        let path = try temporaryFile(pickle)
        #expect(throws: CheckpointError.forbiddenGlobal(path: path, module: module, name: name)) {
            try PyTorchCheckpoint.read(path: path)
        }
    }

    @Test(arguments: hostilePickles)
    func refusesForbiddenGlobalInsideZip(pickle: [UInt8], module: String, name: String) throws {
        let path = try temporaryFile(storedZip([("archive/data.pkl", pickle), ("archive/version", ascii("3\n"))]))
        #expect(throws: CheckpointError.forbiddenGlobal(path: path, module: module, name: name)) {
            try PyTorchCheckpoint.read(path: path)
        }
    }

    @Test func refusesForbiddenGlobalInLegacyMainPickle() throws {
        let main = bytes(0x80, 0x02) + ascii("c__builtin__\neval\n") + binunicode("1") + [0x85, 0x52, 0x2e]
        let path = try temporaryFile(legacyHeader() + main)
        #expect(throws: CheckpointError.forbiddenGlobal(path: path, module: "__builtin__", name: "eval")) {
            try PyTorchCheckpoint.read(path: path)
        }
    }

    @Test func refusesOtherCallables() throws {
        // An allowed module with a name outside the allowlist is still refused.
        var pickle = PickleBuilder()
        pickle.global("torch._utils", "_load_from_bytes")
        let path = try temporaryFile(storedZip([("archive/data.pkl", pickle.finish())]))
        #expect(throws: CheckpointError.forbiddenGlobal(path: path, module: "torch._utils", name: "_load_from_bytes")) {
            try PyTorchCheckpoint.read(path: path)
        }
    }

    // MARK: Malformed input

    @Test func truncatedPickleIsAPickleError() throws {
        let whole = zipStateDict().pickle
        for cut in [1, 3, 20, whole.count / 2, whole.count - 1] {
            let path = try temporaryFile(storedZip([("archive/data.pkl", Array(whole.prefix(cut)))] + zipStateDict().storages))
            let error = try #require(throws: CheckpointError.self) { try PyTorchCheckpoint.read(path: path) }
            guard case let .pickle(_, problem) = error else { Issue.record("cut at \(cut): \(error)"); continue }
            #expect(problem.contains("truncated") || problem.contains("underflow"), "cut at \(cut): \(problem)")
        }
    }

    @Test func truncatedLegacyFileIsAPickleError() throws {
        let whole = legacyStateDict()
        for cut in [2, 10, 40, whole.count / 2, whole.count - 1] {
            let path = try temporaryFile(Array(whole.prefix(cut)))
            let error = try #require(throws: CheckpointError.self) { try PyTorchCheckpoint.read(path: path) }
            guard case let .pickle(_, problem) = error else { Issue.record("cut at \(cut): \(error)"); continue }
            #expect(problem.contains("truncated"), "cut at \(cut): \(problem)")
        }
    }

    @Test func unknownOpcodeIsNamedWithItsOffset() throws {
        let path = try temporaryFile(storedZip([("archive/data.pkl", bytes(0x80, 0x02, 0x7d, 0xff, 0x2e))]))
        let error = try #require(throws: CheckpointError.self) { try PyTorchCheckpoint.read(path: path) }
        guard case let .pickle(_, problem) = error else { Issue.record("\(error)"); return }
        #expect(problem.contains("0xff") && problem.contains("offset 3"), "\(problem)")
    }

    @Test func wrongLegacyMagicNumberIsRefused() throws {
        var file = legacyStateDict()
        file[4] ^= 0x01
        let path = try temporaryFile(file)
        let error = try #require(throws: CheckpointError.self) { try PyTorchCheckpoint.read(path: path) }
        guard case let .pickle(_, problem) = error else { Issue.record("\(error)"); return }
        #expect(problem.contains("magic number"))
    }

    @Test func zipWithoutEndRecordIsAZipError() throws {
        let whole = storedZip(zipStateDict().files)
        for broken in [ascii("PK\u{3}\u{4}") + [UInt8](repeating: 0, count: 40), Array(whole.prefix(whole.count - 10))] {
            let path = try temporaryFile(broken)
            expectZipError(path)
        }
    }

    @Test func zipEntryPastEndOfFileIsAZipError() throws {
        var zip = storedZip(zipStateDict().files)
        let directory = Int(readLE32(zip, at: zip.count - 6))
        // Both sizes of the first entry, in its central directory record.
        writeLE32(&zip, at: directory + 20, 0x7fff_0000)
        writeLE32(&zip, at: directory + 24, 0x7fff_0000)
        expectZipError(try temporaryFile(zip))

        var pastEnd = storedZip(zipStateDict().files)
        writeLE32(&pastEnd, at: directory + 42, 0xffff_fff0) // local header offset
        expectZipError(try temporaryFile(pastEnd))

        var hugeDirectory = storedZip(zipStateDict().files)
        writeLE32(&hugeDirectory, at: hugeDirectory.count - 10, 0x00ff_ffff) // central directory size
        expectZipError(try temporaryFile(hugeDirectory))
    }

    @Test func compressedEntryIsAZipError() throws {
        var zip = storedZip(zipStateDict().files)
        let directory = Int(readLE32(zip, at: zip.count - 6))
        zip[directory + 10] = 8 // deflate
        let error = try #require(throws: CheckpointError.self) { try PyTorchCheckpoint.read(path: temporaryFile(zip)) }
        guard case let .zip(_, problem) = error else { Issue.record("\(error)"); return }
        #expect(problem.contains("compressed"))
    }

    @Test(arguments: [
        (0, [4], [1]),     // one element more than the storage holds
        (2, [2], [1]),     // offset pushes the end out
        (0, [2, 2], [3, 1]), // a stride that reaches past the end
    ])
    func viewPastItsStorageIsATensorError(offset: Int, shape: [Int], strides: [Int]) throws {
        var pickle = PickleBuilder()
        pickle.beginStateDict()
        pickle.string("w")
        pickle.tensor(storage: "FloatStorage", key: "0", count: 3, offset: offset, shape: shape, strides: strides)
        pickle.endStateDict()
        let storage = (0..<3).flatMap { float32Bytes(Float($0)) }
        let path = try temporaryFile(storedZip([("archive/data.pkl", pickle.finish()), ("archive/data/0", storage)]))
        let error = try #require(throws: CheckpointError.self) { try PyTorchCheckpoint.read(path: path) }
        guard case let .tensor(_, tensor, _) = error else { Issue.record("\(error)"); return }
        #expect(tensor == "w")
    }

    @Test func storageEntryShorterThanDeclaredIsATensorError() throws {
        var pickle = PickleBuilder()
        pickle.beginStateDict()
        pickle.string("w")
        pickle.tensor(storage: "FloatStorage", key: "0", count: 3, offset: 0, shape: [3], strides: [1])
        pickle.endStateDict()
        let path = try temporaryFile(storedZip([("archive/data.pkl", pickle.finish()), ("archive/data/0", [1, 2, 3, 4])]))
        let error = try #require(throws: CheckpointError.self) { try PyTorchCheckpoint.read(path: path) }
        guard case .tensor = error else { Issue.record("\(error)"); return }
    }

    @Test func notACheckpointIsRefused() throws {
        let error = try #require(throws: CheckpointError.self) { try PyTorchCheckpoint.read(path: temporaryFile(ascii("{}"))) }
        guard case .pickle = error else { Issue.record("\(error)"); return }
    }

    // MARK: Hand-made checkpoints

    @Test func readsZipLayoutWithTiedAndStridedTensors() throws {
        let archive = try PyTorchCheckpoint.read(path: temporaryFile(storedZip(zipStateDict().files)))
        #expect(archive.format == .pytorchZip)
        #expect(archive.tensors.map(\.name) == ["transformer.wte.weight", "lm_head.weight", "transposed", "half", "scalar"])
        let wte = try #require(archive["transformer.wte.weight"])
        #expect(wte.shape == [2, 3] && wte.strides == nil && wte.dtype == .f32)
        #expect(try wte.floats() == [0, 1, 2, 3, 4, 5])
        #expect(try archive["lm_head.weight"]?.floats() == [0, 1, 2, 3, 4, 5])
        let transposed = try #require(archive["transposed"])
        #expect(transposed.shape == [3, 2] && transposed.strides == [1, 3])
        #expect(try transposed.floats() == [0, 3, 1, 4, 2, 5])
        #expect(try archive["half"]?.floats() == [1.5, -2])
        #expect(archive["scalar"]?.shape == [])
        #expect(try archive["scalar"]?.floats() == [5])
    }

    @Test func readsZip64Archive() throws {
        let path = try temporaryFile(storedZip(zipStateDict().files, zip64: true))
        let archive = try PyTorchCheckpoint.read(path: path)
        #expect(archive.tensors.count == 5)
        #expect(try archive["transposed"]?.floats() == [0, 3, 1, 4, 2, 5])
    }

    @Test func zip64RecordOutsideFileIsAZipError() throws {
        var zip = storedZip(zipStateDict().files, zip64: true)
        writeLE32(&zip, at: zip.count - 22 - 20 + 8, 0xffff_0000) // locator's record offset
        expectZipError(try temporaryFile(zip))
    }

    @Test func readsLegacyLayout() throws {
        let archive = try PyTorchCheckpoint.read(path: temporaryFile(legacyStateDict()))
        #expect(archive.format == .pytorchLegacy)
        #expect(archive.tensors.map(\.name) == ["wte.weight", "h.0.attn.bias", "h.0.attn.masked_bias", "tail"])
        #expect(try archive["wte.weight"]?.floats() == [0, 1, 2, 3])
        let bias = try #require(archive["h.0.attn.bias"])
        #expect(bias.dtype == .u8 && bias.shape == [1, 1, 2, 2] && Array(bias.bytes) == [1, 0, 1, 1])
        #expect(try archive["h.0.attn.masked_bias"]?.floats() == [-10_000])
        #expect(try archive["tail"]?.floats() == [2, 3])
    }

    // MARK: Real fixtures

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/models")

    @Test(arguments: ["tiny-zip", "tiny-legacy"])
    func fixtureMatchesSafetensors(model: String) throws {
        let binPath = Self.fixtures.appendingPathComponent("\(model)/pytorch_model.bin").path
        let reference = try SafeTensors.read(path: Self.fixtures.appendingPathComponent("tiny-safetensors/model.safetensors").path)
        let archive = try PyTorchCheckpoint.read(path: binPath)
        #expect(archive.format == (model == "tiny-zip" ? .pytorchZip : .pytorchLegacy))
        func plain(_ name: String) -> String {
            name.hasPrefix("transformer.") ? String(name.dropFirst("transformer.".count)) : name
        }
        let expected = Dictionary(uniqueKeysWithValues: reference.tensors.map { (plain($0.name), $0) })
        var compared = 0
        for tensor in archive.tensors {
            let name = plain(tensor.name)
            if name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") || name.hasPrefix("lm_head") { continue }
            let want = try #require(expected[name], "\(tensor.name) is not in the safetensors file")
            #expect(tensor.shape == want.shape, "\(tensor.name)")
            #expect(try tensor.floats() == want.floats(), "\(tensor.name)")
            compared += 1
        }
        #expect(compared == reference.tensors.count)
        if let head = archive["lm_head.weight"] {
            #expect(try head.floats() == archive["transformer.wte.weight"]?.floats())
        }
    }
}

// MARK: - Fixture builders

/// Writes the opcodes torch.save uses for a state dict (protocol 2).
private struct PickleBuilder {
    var bytes: [UInt8] = [0x80, 0x02]
    var memo = 0

    mutating func global(_ module: String, _ name: String) { bytes += [0x63] + ascii("\(module)\n\(name)\n") }
    mutating func string(_ text: String) { bytes += binunicode(text) }
    mutating func int(_ value: Int) { bytes += [0x4a] + le32(UInt32(truncatingIfNeeded: value)) }
    mutating func mark() { bytes.append(0x28) }
    mutating func tuple() { bytes.append(0x74) }
    mutating func reduce() { bytes.append(0x52) }
    mutating func put() -> Int { bytes += [0x71, UInt8(memo)]; memo += 1; return memo - 1 }
    mutating func get(_ index: Int) { bytes += [0x68, UInt8(index)] }

    mutating func beginStateDict() {
        global("collections", "OrderedDict")
        bytes.append(0x29)
        reduce()
        mark()
    }

    /// SETITEMS, then the `_metadata` attribute torch attaches with BUILD.
    mutating func endStateDict() {
        bytes += [0x75, 0x7d]
        string("_metadata")
        bytes += [0x7d, 0x73, 0x62]
    }

    /// `legacy` adds the sixth persistent-id field, the storage view (usually None).
    mutating func tensor(
        storage: String, key: String, count: Int, offset: Int, shape: [Int], strides: [Int],
        legacy: Bool = false, view: (String, Int, Int)? = nil
    ) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        mark()
        string("storage")
        global("torch", storage)
        string(key)
        string("cpu")
        int(count)
        if let (viewKey, viewOffset, viewCount) = view {
            mark(); string(viewKey); int(viewOffset); int(viewCount); tuple()
        } else if legacy {
            bytes.append(0x4e)
        }
        tuple()
        bytes.append(0x51) // BINPERSID
        int(offset)
        mark(); shape.forEach { int($0) }; tuple()
        mark(); strides.forEach { int($0) }; tuple()
        bytes.append(0x89)
        global("collections", "OrderedDict")
        bytes.append(0x29)
        reduce()
        tuple()
        reduce()
    }

    func finish() -> [UInt8] { bytes + [0x2e] }
}

/// A zip-layout state dict: a tied pair, a transposed view of the same storage, f16, a scalar.
private func zipStateDict() -> (pickle: [UInt8], storages: [(String, [UInt8])], files: [(String, [UInt8])]) {
    var pickle = PickleBuilder()
    pickle.beginStateDict()
    pickle.string("transformer.wte.weight")
    pickle.tensor(storage: "FloatStorage", key: "0", count: 6, offset: 0, shape: [2, 3], strides: [3, 1])
    let tied = pickle.put()
    pickle.string("lm_head.weight")
    pickle.get(tied)
    pickle.string("transposed")
    pickle.tensor(storage: "FloatStorage", key: "0", count: 6, offset: 0, shape: [3, 2], strides: [1, 3])
    pickle.string("half")
    pickle.tensor(storage: "HalfStorage", key: "1", count: 2, offset: 0, shape: [2], strides: [1])
    pickle.string("scalar")
    pickle.tensor(storage: "FloatStorage", key: "0", count: 6, offset: 5, shape: [], strides: [])
    pickle.string("step")
    pickle.int(7) // not a tensor: skipped
    pickle.endStateDict()
    let storages = [
        ("archive/data/0", (0..<6).flatMap { float32Bytes(Float($0)) }),
        ("archive/data/1", [Float16(1.5), Float16(-2)].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }),
    ]
    let pickleBytes = pickle.finish()
    return (pickleBytes, storages, [("archive/data.pkl", pickleBytes), ("archive/byteorder", ascii("little"))] + storages)
}

private func legacyHeader() -> [UInt8] {
    let magic = bytes(0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e)
    let version = bytes(0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e)
    let systemInfo = bytes(0x80, 0x02, 0x7d, 0x28) + binunicode("protocol_version") + [0x4d, 0xe9, 0x03]
        + binunicode("little_endian") + [0x88, 0x75, 0x2e]
    return magic + version + systemInfo
}

/// A legacy-layout state dict with the buffers old GPT-2 checkpoints carry, and a storage view.
private func legacyStateDict() -> [UInt8] {
    var pickle = PickleBuilder()
    pickle.beginStateDict()
    pickle.string("wte.weight")
    pickle.tensor(storage: "FloatStorage", key: "140", count: 4, offset: 0, shape: [4], strides: [1], legacy: true)
    pickle.string("h.0.attn.bias")
    pickle.tensor(storage: "ByteStorage", key: "141", count: 4, offset: 0, shape: [1, 1, 2, 2], strides: [4, 4, 2, 1], legacy: true)
    pickle.string("h.0.attn.masked_bias")
    pickle.tensor(storage: "FloatStorage", key: "15", count: 1, offset: 0, shape: [], strides: [], legacy: true)
    pickle.string("tail")
    pickle.tensor(storage: "FloatStorage", key: "140", count: 4, offset: 0, shape: [2], strides: [1], legacy: true, view: ("140v", 2, 2))
    pickle.endStateDict()
    // Keys in sorted order, as torch writes them.
    let keys = bytes(0x80, 0x02, 0x5d, 0x28) + binunicode("140") + binunicode("141") + binunicode("15") + [0x65, 0x2e]
    let data = le64(4) + (0..<4).flatMap { float32Bytes(Float($0)) }
        + le64(4) + [1, 0, 1, 1]
        + le64(1) + float32Bytes(-10_000)
    return legacyHeader() + pickle.finish() + keys + data
}

/// A zip archive of stored entries, as torch.save writes it (without its alignment padding).
/// With `zip64`, every size and offset is saturated and given in ZIP64 records instead, as
/// writers do for archives over 4 GiB.
private func storedZip(_ files: [(String, [UInt8])], zip64: Bool = false) -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    for (name, data) in files {
        let offset = out.count
        let nameBytes = ascii(name)
        let head = le16(zip64 ? 45 : 20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc32(data))
        let size = le32(UInt32(data.count))
        out += le32(0x0403_4b50) + head + size + size + le16(UInt16(nameBytes.count)) + le16(0) + nameBytes + data
        if zip64 {
            let extra = le16(1) + le16(24) + le64(UInt64(data.count)) + le64(UInt64(data.count)) + le64(UInt64(offset))
            central += le32(0x0201_4b50) + le16(45) + head + le32(.max) + le32(.max) + le16(UInt16(nameBytes.count))
                + le16(UInt16(extra.count)) + le16(0) + le16(0) + le16(0) + le32(0) + le32(.max) + nameBytes + extra
        } else {
            central += le32(0x0201_4b50) + le16(20) + head + size + size + le16(UInt16(nameBytes.count))
                + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(UInt32(offset)) + nameBytes
        }
    }
    let directoryOffset = out.count
    out += central
    if zip64 {
        let record = out.count
        out += le32(0x0606_4b50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
            + le64(UInt64(files.count)) + le64(UInt64(files.count)) + le64(UInt64(central.count)) + le64(UInt64(directoryOffset))
        out += le32(0x0706_4b50) + le32(0) + le64(UInt64(record)) + le32(1)
        out += le32(0x0605_4b50) + le16(0) + le16(0) + le16(.max) + le16(.max) + le32(.max) + le32(.max) + le16(0)
    } else {
        out += le32(0x0605_4b50) + le16(0) + le16(0) + le16(UInt16(files.count)) + le16(UInt16(files.count))
            + le32(UInt32(central.count)) + le32(UInt32(directoryOffset)) + le16(0)
    }
    return out
}

private func expectZipError(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try PyTorchCheckpoint.read(path: path)
        Issue.record("expected a zip error", sourceLocation: sourceLocation)
    } catch {
        guard case .zip = error else { Issue.record("expected a zip error, got \(error)", sourceLocation: sourceLocation); return }
    }
}

private func crc32(_ data: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xffff_ffff
    for byte in data {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
    }
    return ~crc
}

private func bytes(_ values: UInt8...) -> [UInt8] { values }
private func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }
private func binunicode(_ text: String) -> [UInt8] { [0x58] + le32(UInt32(text.utf8.count)) + ascii(text) }
private func le16(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
private func le32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
private func le64(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
private func float32Bytes(_ value: Float) -> [UInt8] { le32(value.bitPattern) }
private func readLE32(_ data: [UInt8], at offset: Int) -> UInt32 {
    (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[offset + $1]) << (8 * $1) }
}
private func writeLE32(_ data: inout [UInt8], at offset: Int, _ value: UInt32) {
    for i in 0..<4 { data[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
}
