import Foundation

/// A value built by `Unpickler`. Containers are indices into `PickleObjects` rather than
/// nested values, so that hostile nesting or self-reference cannot recurse anywhere.
enum PickleValue: Equatable {
    case none
    case bool(Bool)
    case int(Int)
    /// Little-endian two's complement, for integers that do not fit in `Int`.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    /// Byte range in the unpickled buffer.
    case bytes(Range<Int>)
    case tuple(Int), list(Int), dict(Int)
    case global(TorchGlobal)
    case storage(StorageRef)
    case tensor(TensorRef)
}

/// The only globals a tensor state dict needs; anything else is refused by name.
enum TorchGlobal: Equatable {
    case orderedDict
    case rebuildTensor, rebuildTensorV2, rebuildParameter, rebuildParameterWithState
    /// `torch.FloatStorage` and friends: they only say which element type a storage holds.
    case storageType(DType)
    case dtype(DType)

    private static let storageTypes: [String: DType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool, "UntypedStorage": .u8,
    ]
    private static let dtypes: [String: DType] = [
        "float32": .f32, "float": .f32, "float16": .f16, "half": .f16, "bfloat16": .bf16,
        "float64": .f64, "double": .f64, "int64": .i64, "long": .i64, "int32": .i32, "int": .i32,
        "int16": .i16, "short": .i16, "int8": .i8, "uint8": .u8, "bool": .bool,
    ]

    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor"): self = .rebuildTensor
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("torch", _):
            if let dtype = Self.storageTypes[name] { self = .storageType(dtype) }
            else if let dtype = Self.dtypes[name] { self = .dtype(dtype) }
            else { return nil }
        default: return nil
        }
    }
}

/// A persistent id `('storage', type, key, location, numel[, view])`: storage bytes that
/// live outside the pickle, in a zip entry or after the pickles of a legacy file.
struct StorageRef: Equatable {
    /// Old legacy files may name a slice of the root storage, in elements.
    struct View: Equatable {
        let key: String
        let offset: Int
        let count: Int
    }

    let dtype: DType
    let key: String
    /// In elements of `dtype`.
    let count: Int
    let view: View?
}

/// The arguments of `_rebuild_tensor_v2`, checked for type but not yet against the storage.
struct TensorRef: Equatable {
    let storage: StorageRef
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// An insertion-ordered dict, as Python's. Only string keys are deduplicated, which is all
/// a state dict uses.
struct PickleDict {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var positions: [String: Int] = [:]

    mutating func set(_ key: PickleValue, _ value: PickleValue) {
        if case let .string(name) = key {
            if let i = positions[name] { entries[i].value = value; return }
            positions[name] = entries.count
        }
        entries.append((key, value))
    }

    subscript(name: String) -> PickleValue? { positions[name].map { entries[$0].value } }
}

struct PickleObjects {
    var tuples: [[PickleValue]] = []
    var lists: [[PickleValue]] = []
    var dicts: [PickleDict] = []
}

/// One unpickled object graph.
struct Pickle {
    let root: PickleValue
    let objects: PickleObjects
    /// Every persistent id seen, in order: legacy files need their element types.
    let storages: [StorageRef]
    /// Offset just past the STOP opcode, where a following pickle starts.
    let end: Int
}

/// A restricted unpickler in the spirit of `torch.load(weights_only=True)`: it builds plain
/// data, tensors and storages, calls nothing, and refuses any other global as soon as its
/// name is read.
struct Unpickler {
    static let maxStack = 1 << 20
    static let maxMemo = 1 << 22
    /// A state dict needs about six containers per tensor; this allows some 150,000 tensors
    /// while keeping a hostile file from turning each byte into a fresh allocation.
    static let maxContainers = 1 << 20

    private let bytes: UnsafeRawBufferPointer
    private let path: String
    private let source: String
    private var position: Int
    private var stack: [PickleValue] = []
    /// Stack heights at each MARK; nothing below the innermost one may be popped.
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var objects = PickleObjects()
    private var storages: [StorageRef] = []

    /// Unpickles the pickle starting at `start`; `source` names it in error messages.
    static func load(
        _ bytes: UnsafeRawBufferPointer, from start: Int = 0, path: String, source: String
    ) throws(CheckpointError) -> Pickle {
        var machine = Unpickler(bytes: bytes, path: path, source: source, position: start)
        let root = try machine.run()
        return Pickle(root: root, objects: machine.objects, storages: machine.storages, end: machine.position)
    }

    private init(bytes: UnsafeRawBufferPointer, path: String, source: String, position: Int) {
        self.bytes = bytes
        self.path = path
        self.source = source
        self.position = position
    }

    private mutating func run() throws(CheckpointError) -> PickleValue {
        while true {
            let offset = position
            let opcode = try read(1)[0]
            switch opcode {
            case 0x80: // PROTO
                let version = try read(1)[0]
                guard version <= 5 else { throw fail("unsupported pickle protocol \(version)", at: offset) }
            case 0x95: _ = try integer(8, as: UInt64.self) // FRAME: a buffering hint only
            case 0x2e: return try pop(offset) // STOP
            case 0x28: // MARK
                guard marks.count < Self.maxStack else { throw fail("too many nested marks", at: offset) }
                marks.append(stack.count)
            case 0x30: _ = try pop(offset) // POP
            case 0x31: _ = try popMark(offset) // POP_MARK
            case 0x32: try push(try top(offset), offset) // DUP

            case 0x4e: try push(.none, offset)
            case 0x88: try push(.bool(true), offset)
            case 0x89: try push(.bool(false), offset)
            case 0x4a: try push(.int(Int(try integer(4, as: Int32.self))), offset) // BININT
            case 0x4b: try push(.int(Int(try read(1)[0])), offset) // BININT1
            case 0x4d: try push(.int(Int(try integer(2, as: UInt16.self))), offset) // BININT2
            case 0x8a: try push(try long(length: Int(try read(1)[0])), offset) // LONG1
            case 0x8b: // LONG4
                let length = try integer(4, as: Int32.self)
                guard length >= 0 else { throw fail("negative LONG4 length", at: offset) }
                try push(try long(length: Int(length)), offset)
            case 0x47: // BINFLOAT is big-endian, unlike everything else
                let bits = try read(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                try push(.float(Double(bitPattern: bits)), offset)

            case 0x8c: try push(try string(length: UInt64(try read(1)[0]), offset), offset) // SHORT_BINUNICODE
            case 0x58: try push(try string(length: UInt64(try integer(4, as: UInt32.self)), offset), offset) // BINUNICODE
            case 0x8d: try push(try string(length: try integer(8, as: UInt64.self), offset), offset) // BINUNICODE8
            // Python 2 `str`; torch.load decodes them as UTF-8.
            case 0x55: try push(try string(length: UInt64(try read(1)[0]), offset), offset) // SHORT_BINSTRING
            case 0x54: // BINSTRING
                let length = try integer(4, as: Int32.self)
                guard length >= 0 else { throw fail("negative BINSTRING length", at: offset) }
                try push(try string(length: UInt64(length), offset), offset)
            case 0x43: try push(try byteString(length: UInt64(try read(1)[0])), offset) // SHORT_BINBYTES
            case 0x42: try push(try byteString(length: UInt64(try integer(4, as: UInt32.self))), offset) // BINBYTES
            case 0x8e: try push(try byteString(length: try integer(8, as: UInt64.self)), offset) // BINBYTES8

            case 0x29: try push(try newTuple([]), offset) // EMPTY_TUPLE
            case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
                var items: [PickleValue] = []
                for _ in 0..<Int(opcode - 0x84) { items.insert(try pop(offset), at: 0) }
                try push(try newTuple(items), offset)
            case 0x74: try push(try newTuple(try popMark(offset)), offset) // TUPLE
            case 0x5d: try push(try newList([]), offset) // EMPTY_LIST
            case 0x6c: try push(try newList(try popMark(offset)), offset) // LIST
            case 0x7d: try push(try newDict(), offset) // EMPTY_DICT
            case 0x64: // DICT
                let items = try popMark(offset)
                let dict = try newDict()
                try setItems(items, in: dict, offset)
                try push(dict, offset)
            case 0x61: // APPEND
                let item = try pop(offset)
                try append([item], to: try top(offset), offset)
            case 0x65: // APPENDS
                let items = try popMark(offset)
                try append(items, to: try top(offset), offset)
            case 0x73: // SETITEM
                let value = try pop(offset), key = try pop(offset)
                try setItems([key, value], in: try top(offset), offset)
            case 0x75: // SETITEMS
                let items = try popMark(offset)
                try setItems(items, in: try top(offset), offset)

            case 0x71: try remember(Int(try read(1)[0]), offset) // BINPUT
            case 0x72: try remember(Int(try integer(4, as: UInt32.self)), offset) // LONG_BINPUT
            case 0x94: try remember(memo.count, offset) // MEMOIZE
            case 0x68: try recall(Int(try read(1)[0]), offset) // BINGET
            case 0x6a: try recall(Int(try integer(4, as: UInt32.self)), offset) // LONG_BINGET

            case 0x63: // GLOBAL "module\nname\n"
                let module = try line(offset), name = try line(offset)
                try push(.global(try allowedGlobal(module, name)), offset)
            case 0x93: // STACK_GLOBAL
                let name = try pop(offset), module = try pop(offset)
                guard case let .string(moduleName) = module, case let .string(globalName) = name else {
                    throw fail("STACK_GLOBAL needs two strings", at: offset)
                }
                try push(.global(try allowedGlobal(moduleName, globalName)), offset)
            case 0x52: // REDUCE
                let arguments = try pop(offset), callable = try pop(offset)
                try push(try reduce(callable, arguments, offset), offset)
            case 0x81: // NEWOBJ: cls.__new__(cls, *args)
                _ = try pop(offset)
                guard try pop(offset) == .global(.orderedDict) else {
                    throw fail("NEWOBJ is only supported for collections.OrderedDict", at: offset)
                }
                try push(try newDict(), offset)
            case 0x62: // BUILD
                _ = try pop(offset)
                // State dicts carry a `_metadata` attribute that loading weights does not need.
                guard case .dict = try top(offset) else {
                    throw fail("BUILD is only supported on a dict (to set state dict metadata)", at: offset)
                }
            case 0x51: // BINPERSID
                let id = try pop(offset)
                let storage = try persistentLoad(id, offset)
                storages.append(storage)
                try push(.storage(storage), offset)
            default:
                let printable = (0x21...0x7e).contains(opcode) ? " ('\(Character(Unicode.Scalar(opcode)))')" : ""
                let hex = String(opcode, radix: 16)
                throw fail("unknown or unsupported opcode 0x\(hex.count == 1 ? "0" : "")\(hex)\(printable)", at: offset)
            }
        }
    }

    // MARK: Reading bytes

    private func fail(_ problem: String, at offset: Int) -> CheckpointError {
        .pickle(path: path, problem: "\(source), offset \(offset): \(problem)")
    }

    private mutating func read(_ count: Int) throws(CheckpointError) -> UnsafeRawBufferPointer {
        guard count <= bytes.count - position else {
            throw fail("truncated: needs \(count) more bytes but only \(bytes.count - position) remain", at: position)
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    private mutating func integer<T: FixedWidthInteger>(_ size: Int, as type: T.Type) throws(CheckpointError) -> T {
        let start = position
        _ = try read(size)
        return bytes.littleEndian(at: start, as: T.self)!
    }

    private mutating func length(_ length: UInt64) throws(CheckpointError) -> Int {
        guard length <= UInt64(bytes.count - position) else {
            throw fail("truncated: a \(length)-byte value but only \(bytes.count - position) bytes remain", at: position)
        }
        return Int(length)
    }

    private mutating func string(length: UInt64, _ offset: Int) throws(CheckpointError) -> PickleValue {
        let raw = try read(try self.length(length))
        guard let text = String(bytes: raw, encoding: .utf8) else { throw fail("string is not valid UTF-8", at: offset) }
        return .string(text)
    }

    private mutating func byteString(length: UInt64) throws(CheckpointError) -> PickleValue {
        let count = try self.length(length)
        defer { position += count }
        return .bytes(position..<(position + count))
    }

    /// A line of GLOBAL's argument, without its newline.
    private mutating func line(_ offset: Int) throws(CheckpointError) -> String {
        guard let newline = bytes[position...].firstIndex(of: 0x0a) else {
            throw fail("truncated: GLOBAL name has no terminating newline", at: offset)
        }
        // Lossy on purpose: a name that is not UTF-8 can only be refused, and must be named.
        defer { position = newline + 1 }
        return String(decoding: bytes[position..<newline], as: UTF8.self)
    }

    /// LONG1/LONG4: little-endian two's complement of any length.
    private mutating func long(length: Int) throws(CheckpointError) -> PickleValue {
        var digits = Array(try read(length))
        // Drop bytes that only repeat the sign, so that equal numbers compare equal.
        while let last = digits.last, digits.count > 1,
              (last == 0 && digits[digits.count - 2] < 0x80) || (last == 0xff && digits[digits.count - 2] >= 0x80) {
            digits.removeLast()
        }
        guard !digits.isEmpty else { return .int(0) }
        guard digits.count <= 8 else { return .bigInt(digits) }
        var value: UInt64 = digits.last! >= 0x80 ? ~0 : 0
        for digit in digits.reversed() { value = value << 8 | UInt64(digit) }
        return .int(Int(Int64(bitPattern: value)))
    }

    // MARK: Stack and memo

    private mutating func push(_ value: PickleValue, _ offset: Int) throws(CheckpointError) {
        guard stack.count < Self.maxStack else { throw fail("stack exceeds \(Self.maxStack) items", at: offset) }
        stack.append(value)
    }

    private mutating func pop(_ offset: Int) throws(CheckpointError) -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw fail("stack underflow", at: offset) }
        return stack.removeLast()
    }

    private func top(_ offset: Int) throws(CheckpointError) -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw fail("stack underflow", at: offset) }
        return stack[stack.count - 1]
    }

    private mutating func popMark(_ offset: Int) throws(CheckpointError) -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("no MARK to pop to", at: offset) }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private mutating func remember(_ index: Int, _ offset: Int) throws(CheckpointError) {
        let value = try top(offset)
        guard memo.count < Self.maxMemo || memo[index] != nil else {
            throw fail("memo exceeds \(Self.maxMemo) entries", at: offset)
        }
        memo[index] = value
    }

    private mutating func recall(_ index: Int, _ offset: Int) throws(CheckpointError) {
        guard let value = memo[index] else { throw fail("memo has no entry \(index)", at: offset) }
        try push(value, offset)
    }

    // MARK: Objects

    private func checkContainerCount() throws(CheckpointError) {
        guard objects.tuples.count + objects.lists.count + objects.dicts.count < Self.maxContainers else {
            throw fail("more than \(Self.maxContainers) tuples, lists and dicts", at: position)
        }
    }

    private mutating func newTuple(_ items: [PickleValue]) throws(CheckpointError) -> PickleValue {
        try checkContainerCount()
        objects.tuples.append(items)
        return .tuple(objects.tuples.count - 1)
    }

    private mutating func newList(_ items: [PickleValue]) throws(CheckpointError) -> PickleValue {
        try checkContainerCount()
        objects.lists.append(items)
        return .list(objects.lists.count - 1)
    }

    private mutating func newDict() throws(CheckpointError) -> PickleValue {
        try checkContainerCount()
        objects.dicts.append(PickleDict())
        return .dict(objects.dicts.count - 1)
    }

    private mutating func append(_ items: [PickleValue], to target: PickleValue, _ offset: Int) throws(CheckpointError) {
        guard case let .list(id) = target else { throw fail("APPEND to something that is not a list", at: offset) }
        objects.lists[id].append(contentsOf: items)
    }

    private mutating func setItems(_ items: [PickleValue], in target: PickleValue, _ offset: Int) throws(CheckpointError) {
        guard case let .dict(id) = target else { throw fail("SETITEM on something that is not a dict", at: offset) }
        guard items.count % 2 == 0 else { throw fail("odd number of items for a dict", at: offset) }
        for i in stride(from: 0, to: items.count, by: 2) { objects.dicts[id].set(items[i], items[i + 1]) }
    }

    private func allowedGlobal(_ module: String, _ name: String) throws(CheckpointError) -> TorchGlobal {
        guard let global = TorchGlobal(module: module, name: name) else {
            throw .forbiddenGlobal(path: path, module: module, name: name)
        }
        return global
    }

    private func tupleItems(_ value: PickleValue) -> [PickleValue]? {
        guard case let .tuple(id) = value else { return nil }
        return objects.tuples[id]
    }

    /// Applies an allowed callable. Nothing here runs code: each case builds plain data.
    private mutating func reduce(_ callable: PickleValue, _ arguments: PickleValue, _ offset: Int) throws(CheckpointError) -> PickleValue {
        guard case let .global(function) = callable else { throw fail("REDUCE on something that is not a global", at: offset) }
        guard let args = tupleItems(arguments) else { throw fail("REDUCE arguments are not a tuple", at: offset) }
        switch function {
        case .orderedDict:
            let dict = try newDict()
            guard args.count <= 1 else { throw fail("OrderedDict takes at most one argument", at: offset) }
            if let pairs = args.first {
                let items: [PickleValue]
                switch pairs {
                case let .list(id): items = objects.lists[id]
                case let .tuple(id): items = objects.tuples[id]
                default: throw fail("OrderedDict argument is not a list of pairs", at: offset)
                }
                for item in items {
                    guard let pair = tupleItems(item), pair.count == 2 else { throw fail("OrderedDict item is not a pair", at: offset) }
                    try setItems(pair, in: dict, offset)
                }
            }
            return dict
        case .rebuildTensorV2, .rebuildTensor:
            // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
            let expected = function == .rebuildTensor ? 4...4 : 6...7
            guard expected.contains(args.count) else {
                throw fail("tensor rebuild expects \(expected) arguments, got \(args.count)", at: offset)
            }
            return .tensor(try tensor(args, offset))
        case .rebuildParameter, .rebuildParameterWithState:
            // (data, requires_grad, backward_hooks[, state]): a parameter is just its tensor here.
            guard args.count == (function == .rebuildParameter ? 3 : 4), case .tensor = args[0] else {
                throw fail("parameter rebuild expects a tensor and \(function == .rebuildParameter ? 2 : 3) more arguments", at: offset)
            }
            return args[0]
        case .storageType, .dtype:
            throw fail("a storage type or dtype cannot be called", at: offset)
        }
    }

    private func tensor(_ args: [PickleValue], _ offset: Int) throws(CheckpointError) -> TensorRef {
        guard case let .storage(storage) = args[0] else { throw fail("tensor storage is not a persistent storage", at: offset) }
        guard case let .int(storageOffset) = args[1], storageOffset >= 0 else {
            throw fail("tensor storage offset is not a non-negative integer", at: offset)
        }
        let shape = try naturals(args[2], "size", offset)
        let strides = try naturals(args[3], "stride", offset)
        guard shape.count == strides.count else {
            throw fail("tensor has \(shape.count) sizes but \(strides.count) strides", at: offset)
        }
        return TensorRef(storage: storage, offset: storageOffset, shape: shape, strides: strides)
    }

    private func naturals(_ value: PickleValue, _ what: String, _ offset: Int) throws(CheckpointError) -> [Int] {
        guard let items = tupleItems(value) else { throw fail("tensor \(what) is not a tuple", at: offset) }
        var result: [Int] = []
        for item in items {
            guard case let .int(n) = item, n >= 0 else { throw fail("tensor \(what) holds something other than a non-negative integer", at: offset) }
            result.append(n)
        }
        return result
    }

    private func persistentLoad(_ id: PickleValue, _ offset: Int) throws(CheckpointError) -> StorageRef {
        guard let fields = tupleItems(id), fields.count == 5 || fields.count == 6 else {
            throw fail("persistent id is not a ('storage', type, key, location, numel[, view]) tuple", at: offset)
        }
        guard asciiText(fields[0]) == "storage" else { throw fail("persistent id is not a storage", at: offset) }
        guard case let .global(.storageType(dtype)) = fields[1] else {
            throw fail("persistent id does not name a storage type", at: offset)
        }
        guard let key = asciiText(fields[2]) else { throw fail("storage key is not a string", at: offset) }
        guard case let .int(count) = fields[4], count >= 0 else { throw fail("storage size is not a non-negative integer", at: offset) }
        var view: StorageRef.View?
        if fields.count == 6, fields[5] != .none {
            guard let parts = tupleItems(fields[5]), parts.count == 3, let viewKey = asciiText(parts[0]),
                  case let .int(viewOffset) = parts[1], case let .int(viewCount) = parts[2], viewOffset >= 0, viewCount >= 0
            else { throw fail("storage view is not a (key, offset, size) tuple", at: offset) }
            view = StorageRef.View(key: viewKey, offset: viewOffset, count: viewCount)
        }
        return StorageRef(dtype: dtype, key: key, count: count, view: view)
    }

    /// Python 2 pickles may carry keys as byte strings.
    private func asciiText(_ value: PickleValue) -> String? {
        switch value {
        case let .string(text): return text
        case let .bytes(range): return String(bytes: bytes[range], encoding: .ascii)
        default: return nil
        }
    }
}
