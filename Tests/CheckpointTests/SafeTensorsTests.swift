import Checkpoint
import Foundation
import Testing

@Suite("safetensors")
struct SafeTensorsTests {
    /// Builds a file from a header text and a data section.
    func file(header: String, data: [UInt8] = [], lengthOverride: UInt64? = nil) -> String {
        var bytes = [UInt8]()
        let length = lengthOverride ?? UInt64(header.utf8.count)
        withUnsafeBytes(of: length.littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(contentsOf: data)
        return write(bytes)
    }

    func write(_ bytes: [UInt8]) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString).safetensors").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func problem(_ path: String) -> SafetensorsProblem? {
        do {
            _ = try SafeTensors.read(path: path)
            return nil
        } catch {
            if case let .safetensors(errorPath, problem) = error, errorPath == path { return problem }
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("every violation of the format is a distinct error")
    func malformed() {
        let f32x4 = [UInt8](repeating: 0, count: 16)
        #expect(problem(write([1, 2, 3])) == .tooSmall(size: 3))
        #expect(problem(file(header: "{}", lengthOverride: 200_000_000)) == .headerTooLarge(length: 200_000_000, limit: 100_000_000))
        #expect(problem(file(header: "{}", lengthOverride: 50)) == .headerOutOfBounds(length: 50, fileSize: 10))
        var invalidUTF8 = [UInt8]()
        withUnsafeBytes(of: UInt64(4).littleEndian) { invalidUTF8.append(contentsOf: $0) }
        invalidUTF8 += [0x7B, 0xFF, 0xFE, 0x7D]
        #expect(problem(write(invalidUTF8)) == .headerNotUTF8)
        if case .headerNotJSON? = problem(file(header: "{\"a\": ")) {} else { Issue.record("not JSON accepted") }
        #expect(problem(file(header: "[1, 2]")) == .headerNotObject)
        #expect(problem(file(header: #"{"w": {"shape": [2, 2], "data_offsets": [0, 16]}}"#, data: f32x4))
            == .invalidEntry(tensor: "w", reason: "missing 'dtype'"))
        #expect(problem(file(header: #"{"w": {"dtype": "F33", "shape": [2, 2], "data_offsets": [0, 16]}}"#, data: f32x4))
            == .unknownDType(tensor: "w", dtype: "F33"))
        #expect(problem(file(header: #"{"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 16]}}"#, data: f32x4))
            == .shapeOverflow(tensor: "w"))
        #expect(problem(file(header: #"{"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}"#, data: f32x4))
            == .sizeMismatch(tensor: "w", expected: 16, actual: 12))
        #expect(problem(file(header: #"{"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}"#, data: f32x4))
            == .invalidOffsets(tensor: "w", begin: 8, end: 4))
        #expect(problem(file(header: #"{"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0.5, 16]}}"#, data: f32x4))
            == .invalidEntry(tensor: "w", reason: "'data_offsets' must be two integers"))
        #expect(problem(file(header: #"{"w": {"dtype": "F32", "shape": [-2, 2], "data_offsets": [0, 16]}}"#, data: f32x4))
            == .invalidEntry(tensor: "w", reason: "shape entries must be non-negative integers"))
        // A gap before the first tensor, an overlap between two, bytes past the last one.
        #expect(problem(file(header: #"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [4, 16]}}"#, data: f32x4))
            == .notContiguous(tensor: "w", expectedBegin: 0, begin: 4))
        #expect(problem(file(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#, data: f32x4))
            == .notContiguous(tensor: "b", expectedBegin: 8, begin: 4))
        #expect(problem(file(header: #"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}}"#, data: f32x4))
            == .dataSizeMismatch(lastOffset: 12, dataSize: 16))
        #expect(problem(file(header: #"{"w": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}"#, data: f32x4))
            == .dataSizeMismatch(lastOffset: 32, dataSize: 16))
        #expect(problem(file(header: #"{"__metadata__": {"format": 1}}"#)) == .metadataNotStrings)
    }

    @Test("F16 and BF16 tensors convert to float32; order in the file is by offset")
    func halfPrecision() throws {
        let values: [Float] = [1.5, -2.25, 0.0078125, 57344]
        var data = [UInt8]()
        for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { data += $0 } }
        for v in values { withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian) { data += $0 } }
        let path = file(header: #"{"b": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [8, 16]}, "a": {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]}, "__metadata__": {"format": "pt"}}"#, data: data)
        let archive = try SafeTensors.read(path: path)
        #expect(archive.tensors.map(\.name) == ["a", "b"])
        #expect(archive.metadata == ["format": "pt"])
        #expect(try archive["a"]!.floats() == values)
        #expect(try archive["b"]!.floats() == values)
        #expect(archive["b"]!.shape == [2, 2])
    }

    @Test("written files read back identically")
    func writeRead() throws {
        let values: [Float] = (0..<12).map { Float($0) * 0.5 - 3 }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("w-\(UUID().uuidString).safetensors").path
        try values.withUnsafeBufferPointer { buffer in
            let a = SafeTensors.OutputTensor(name: "a\"quoted\"", shape: [3, 2], values: UnsafeBufferPointer(rebasing: buffer[0..<6]))
            let b = SafeTensors.OutputTensor(name: "b", shape: [6], values: UnsafeBufferPointer(rebasing: buffer[6..<12]))
            try SafeTensors.write([a, b], metadata: ["format": "pt"], to: path)
        }
        let archive = try SafeTensors.read(path: path)
        #expect(archive.tensors.map(\.name) == ["a\"quoted\"", "b"])
        #expect(try archive["a\"quoted\""]!.floats() == Array(values[0..<6]))
        #expect(try archive["b"]!.floats() == Array(values[6..<12]))
        // The data section starts 8-byte aligned, as the reference writer does.
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = raw.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect((8 + headerLength) % 8 == 0)
    }

    @Test("a missing file is an I/O error naming it")
    func missing() {
        #expect(throws: CheckpointError.io(path: "/nonexistent.safetensors", reason: "No such file or directory")) {
            try SafeTensors.read(path: "/nonexistent.safetensors")
        }
    }
}
