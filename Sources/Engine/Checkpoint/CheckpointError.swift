/// Everything that can be wrong with a checkpoint file. Each case names the file and says
/// what was found, so that a user can tell a truncated download from a hostile file.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case io(path: String, reason: String)
    case missingModel(directory: String, looked: [String])
    case safetensors(path: String, problem: SafetensorsProblem)
    case pickle(path: String, problem: String)
    case forbiddenGlobal(path: String, module: String, name: String)
    case zip(path: String, problem: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case tensor(path: String, tensor: String, problem: String)

    public var description: String {
        switch self {
        case let .io(path, reason): return "\(path): \(reason)"
        case let .missingModel(directory, looked):
            return "\(directory): no model weights found (looked for \(looked.joined(separator: ", ")))"
        case let .safetensors(path, problem): return "\(path): invalid safetensors file: \(problem)"
        case let .pickle(path, problem): return "\(path): invalid PyTorch pickle: \(problem)"
        case let .forbiddenGlobal(path, module, name):
            return "\(path): refused to load: the pickle asks for global '\(module).\(name)', "
                + "which is not part of a tensor state dict (nothing was executed)"
        case let .zip(path, problem): return "\(path): invalid zip archive: \(problem)"
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has dtype \(dtype), which cannot be converted to float32"
        case let .tensor(path, tensor, problem): return "\(path): tensor '\(tensor)': \(problem)"
        }
    }
}

/// The distinct ways a safetensors file can violate the format (mirrors the checks of the
/// reference `safetensors` implementation).
public enum SafetensorsProblem: Equatable, CustomStringConvertible, Sendable {
    case tooSmall(size: Int)
    case headerTooLarge(length: UInt64, limit: Int)
    case headerOutOfBounds(length: UInt64, fileSize: Int)
    case headerNotUTF8
    case headerNotJSON(String)
    case headerNotObject
    case invalidEntry(tensor: String, reason: String)
    case unknownDType(tensor: String, dtype: String)
    case shapeOverflow(tensor: String)
    case sizeMismatch(tensor: String, expected: Int, actual: Int)
    case invalidOffsets(tensor: String, begin: Int, end: Int)
    case notContiguous(tensor: String, expectedBegin: Int, begin: Int)
    case dataSizeMismatch(lastOffset: Int, dataSize: Int)
    case metadataNotStrings

    public var description: String {
        switch self {
        case let .tooSmall(size): return "file is \(size) bytes, shorter than the 8-byte header length"
        case let .headerTooLarge(length, limit): return "header length \(length) exceeds the limit of \(limit) bytes"
        case let .headerOutOfBounds(length, fileSize):
            return "header length \(length) runs past the end of the \(fileSize)-byte file"
        case .headerNotUTF8: return "header is not valid UTF-8"
        case let .headerNotJSON(reason): return "header is not valid JSON (\(reason))"
        case .headerNotObject: return "header is not a JSON object"
        case let .invalidEntry(tensor, reason): return "tensor '\(tensor)': \(reason)"
        case let .unknownDType(tensor, dtype): return "tensor '\(tensor)': unknown dtype '\(dtype)'"
        case let .shapeOverflow(tensor): return "tensor '\(tensor)': shape size overflows"
        case let .sizeMismatch(tensor, expected, actual):
            return "tensor '\(tensor)': shape and dtype need \(expected) bytes but its offsets span \(actual)"
        case let .invalidOffsets(tensor, begin, end): return "tensor '\(tensor)': invalid offsets [\(begin), \(end))"
        case let .notContiguous(tensor, expectedBegin, begin):
            return "tensor '\(tensor)': data starts at \(begin) but the previous tensor ends at \(expectedBegin) (gap or overlap)"
        case let .dataSizeMismatch(lastOffset, dataSize):
            return "tensors end at byte \(lastOffset) but the data section is \(dataSize) bytes"
        case .metadataNotStrings: return "__metadata__ must map strings to strings"
        }
    }
}
