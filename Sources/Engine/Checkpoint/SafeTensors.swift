import Foundation

/// Reader and writer for the safetensors format: an 8-byte little-endian header length, a
/// JSON header, then the raw data. Reading validates like the reference implementation and
/// maps the file instead of copying it.
public enum SafeTensors {
    /// Same limit as the reference implementation (100 MB).
    public static let maxHeaderLength = 100_000_000

    public static func read(path: String) throws(CheckpointError) -> TensorArchive {
        let file = try MappedFile(path: path)
        func fail(_ problem: SafetensorsProblem) -> CheckpointError { .safetensors(path: path, problem: problem) }
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw fail(.tooSmall(size: bytes.count)) }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(maxHeaderLength) else {
            throw fail(.headerTooLarge(length: headerLength, limit: maxHeaderLength))
        }
        guard 8 + Int(headerLength) <= bytes.count else {
            throw fail(.headerOutOfBounds(length: headerLength, fileSize: bytes.count))
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + Int(headerLength))])
        guard let headerText = String(validating: headerBytes, as: UTF8.self) else { throw fail(.headerNotUTF8) }
        let json: JSONValue
        do {
            json = try JSONDecoder().decode(JSONValue.self, from: Data(headerText.utf8))
        } catch {
            throw fail(.headerNotJSON(String(describing: error).prefix(200).description))
        }
        guard case let .object(header) = json else { throw fail(.headerNotObject) }

        let dataStart = 8 + Int(headerLength)
        let dataSize = bytes.count - dataStart
        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard case let .object(map) = value else { throw fail(.metadataNotStrings) }
                for (key, item) in map {
                    guard case let .string(text) = item else { throw fail(.metadataNotStrings) }
                    metadata[key] = text
                }
                continue
            }
            entries.append(try parseEntry(name: name, value: value, fail: fail))
        }
        // The reference sorts by offsets and demands that they tile the data exactly.
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expectedBegin = 0
        var tensors: [TensorView] = []
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            guard entry.begin == expectedBegin else {
                throw fail(.notContiguous(tensor: entry.name, expectedBegin: expectedBegin, begin: entry.begin))
            }
            var elements = 1
            for dim in entry.shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow else { throw fail(.shapeOverflow(tensor: entry.name)) }
                elements = product
            }
            let (needed, overflow) = elements.multipliedReportingOverflow(by: entry.dtype.size)
            guard !overflow else { throw fail(.shapeOverflow(tensor: entry.name)) }
            guard needed == entry.end - entry.begin else {
                throw fail(.sizeMismatch(tensor: entry.name, expected: needed, actual: entry.end - entry.begin))
            }
            guard entry.end <= dataSize else { throw fail(.dataSizeMismatch(lastOffset: entry.end, dataSize: dataSize)) }
            let slice = UnsafeRawBufferPointer(rebasing: bytes[(dataStart + entry.begin)..<(dataStart + entry.end)])
            tensors.append(TensorView(name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes: slice, storage: file))
            expectedBegin = entry.end
        }
        guard expectedBegin == dataSize else { throw fail(.dataSizeMismatch(lastOffset: expectedBegin, dataSize: dataSize)) }
        return TensorArchive(path: path, format: .safetensors, tensors: tensors, metadata: metadata)
    }

    private static func parseEntry(
        name: String, value: JSONValue, fail: (SafetensorsProblem) -> CheckpointError
    ) throws(CheckpointError) -> (name: String, dtype: DType, shape: [Int], begin: Int, end: Int) {
        guard case let .object(info) = value else {
            throw fail(.invalidEntry(tensor: name, reason: "entry is not an object"))
        }
        guard case let .string(dtypeName)? = info["dtype"] else {
            throw fail(.invalidEntry(tensor: name, reason: "missing 'dtype'"))
        }
        guard let dtype = DType(rawValue: dtypeName) else { throw fail(.unknownDType(tensor: name, dtype: dtypeName)) }
        guard case let .array(shapeValues)? = info["shape"] else {
            throw fail(.invalidEntry(tensor: name, reason: "missing 'shape'"))
        }
        var shape: [Int] = []
        for item in shapeValues {
            guard case let .integer(dim) = item, dim >= 0 else {
                throw fail(.invalidEntry(tensor: name, reason: "shape entries must be non-negative integers"))
            }
            shape.append(dim)
        }
        guard case let .array(offsets)? = info["data_offsets"], offsets.count == 2,
              case let .integer(begin) = offsets[0], case let .integer(end) = offsets[1] else {
            throw fail(.invalidEntry(tensor: name, reason: "'data_offsets' must be two integers"))
        }
        guard begin >= 0, end >= begin else { throw fail(.invalidOffsets(tensor: name, begin: begin, end: end)) }
        return (name, dtype, shape, begin, end)
    }

    /// A tensor to write: float32 values in row-major order.
    public struct OutputTensor {
        public let name: String
        public let shape: [Int]
        public let values: UnsafeBufferPointer<Float>
        public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) {
            precondition(shape.reduce(1, *) == values.count, "\(name): shape \(shape) does not match \(values.count) values")
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// Writes F32 tensors in the given order. The file is written to a temporary name, fsynced
    /// and renamed, so a crash never leaves a half-written model under the real name.
    public static func write(_ tensors: [OutputTensor], metadata: [String: String], to path: String) throws(CheckpointError) {
        var header = "{"
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            header += "\"__metadata__\":{\(pairs.joined(separator: ","))},"
        }
        var offset = 0
        var fields: [String] = []
        for tensor in tensors {
            let size = tensor.values.count * 4
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            fields.append("\(jsonString(tensor.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        header += fields.joined(separator: ",") + "}"
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        while (8 + header.utf8.count) % 8 != 0 { header += " " }

        var prefix = Data(count: 8)
        prefix.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(header.utf8.count).littleEndian, as: UInt64.self) }
        prefix.append(contentsOf: Array(header.utf8))
        try AtomicFile.write(to: path) { (sink: AtomicFile.Sink) throws(CheckpointError) in
            var failure: CheckpointError?
            prefix.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                do throws(CheckpointError) { try sink.write(raw) } catch { failure = error }
            }
            if let failure { throw failure }
            for tensor in tensors where tensor.values.count > 0 { try sink.write(UnsafeRawBufferPointer(tensor.values)) }
        }
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
