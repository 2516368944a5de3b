/// Element types found in checkpoints, with the safetensors spelling as raw value.
public enum DType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"
    case u16 = "U16", u32 = "U32", u64 = "U64", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
        }
    }

    public var isConvertibleToFloat: Bool { [.f32, .f16, .bf16, .f64].contains(self) }
}

/// A tensor inside a loaded checkpoint: typed view of bytes owned by `storage` (a memory map
/// or an owned buffer). `strides` are in elements; nil means contiguous row-major.
public struct TensorView: @unchecked Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public let strides: [Int]?
    /// Bytes from the first element on; a strided view may use fewer than `count * dtype.size`.
    public let bytes: UnsafeRawBufferPointer
    let storage: AnyObject

    public init(name: String, dtype: DType, shape: [Int], strides: [Int]? = nil,
                bytes: UnsafeRawBufferPointer, storage: AnyObject) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.bytes = bytes
        self.storage = storage
    }

    public var count: Int { shape.reduce(1, *) }

    var isContiguous: Bool {
        guard let strides else { return true }
        var expected = 1
        for (dim, stride) in zip(shape, strides).reversed() {
            if dim != 1 && stride != expected { return false }
            expected *= dim
        }
        return true
    }

    /// Converts to float32 into `out` (exactly `count` elements), following strides.
    public func copyAsFloat32(into out: UnsafeMutableBufferPointer<Float>, path: String) throws(CheckpointError) {
        precondition(out.count == count, "destination has \(out.count) elements, tensor has \(count)")
        guard dtype.isConvertibleToFloat else {
            throw .unsupportedDType(path: path, tensor: name, dtype: dtype.rawValue)
        }
        if isContiguous {
            DTypeConversion.convert(bytes, dtype: dtype, count: count, into: out.baseAddress!)
            return
        }
        // Strided (a view sharing a storage): walk the index space element by element.
        let strides = self.strides!
        var index = [Int](repeating: 0, count: shape.count)
        for flat in 0..<count {
            var offset = 0
            for d in 0..<shape.count { offset += index[d] * strides[d] }
            let source = UnsafeRawBufferPointer(rebasing: bytes[(offset * dtype.size)...])
            DTypeConversion.convert(source, dtype: dtype, count: 1, into: out.baseAddress! + flat)
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }

    /// The tensor as a fresh float32 array.
    public func floats(path: String = "") throws(CheckpointError) -> [Float] {
        var result = [Float](repeating: 0, count: count)
        var failure: CheckpointError?
        result.withUnsafeMutableBufferPointer { buffer in
            do throws(CheckpointError) { try copyAsFloat32(into: buffer, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
        return result
    }
}

enum DTypeConversion {
    /// Unaligned-safe conversion of little-endian `dtype` elements to float32.
    static func convert(_ source: UnsafeRawBufferPointer, dtype: DType, count: Int, into out: UnsafeMutablePointer<Float>) {
        guard let base = source.baseAddress else { return }
        switch dtype {
        case .f32:
            UnsafeMutableRawPointer(out).copyMemory(from: base, byteCount: count * 4)
        case .f16:
            for i in 0..<count {
                out[i] = Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .bf16:
            for i in 0..<count {
                let bits = UInt32(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
                out[i] = Float(bitPattern: bits)
            }
        case .f64:
            for i in 0..<count { out[i] = Float(base.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        default:
            preconditionFailure("not a float dtype: \(dtype)")
        }
    }
}

/// Tensors read from one checkpoint file, in file order.
public struct TensorArchive: Sendable {
    public enum Format: String, Sendable {
        case safetensors
        case pytorchZip = "pytorch-zip"
        case pytorchLegacy = "pytorch-legacy"
    }

    public let path: String
    public let format: Format
    public let tensors: [TensorView]
    public let metadata: [String: String]

    public init(path: String, format: Format, tensors: [TensorView], metadata: [String: String] = [:]) {
        self.path = path
        self.format = format
        self.tensors = tensors
        self.metadata = metadata
    }

    public subscript(name: String) -> TensorView? { tensors.first { $0.name == name } }
}
