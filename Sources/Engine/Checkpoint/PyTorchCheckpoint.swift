/// Reads `pytorch_model.bin` files written by `torch.save`, without running any of the
/// pickled code: only tensors of a state dict are accepted (see `Unpickler`).
public enum PyTorchCheckpoint {
    /// Detects the layout: a zip archive (PyTorch >= 1.6) or the legacy stream of pickles
    /// followed by raw storages (`_use_new_zipfile_serialization=False`, older hub models).
    public static func read(path: String) throws(CheckpointError) -> TensorArchive {
        let file = try MappedFile(path: path)
        let bytes = file.bytes
        if bytes.count >= 2, bytes[0] == 0x50, bytes[1] == 0x4b { // "PK"
            return try readZip(file)
        }
        if bytes.first == 0x80 { // pickle PROTO
            return try readLegacy(file)
        }
        let head = bytes.prefix(4).map { String($0, radix: 16) }.joined(separator: " ")
        throw .pickle(path: path, problem: "neither a zip archive nor a legacy PyTorch pickle (starts with \(head))")
    }

    // MARK: Zip layout

    private static func readZip(_ file: MappedFile) throws(CheckpointError) -> TensorArchive {
        let path = file.path
        let zip = try ZipReader(file: file)
        // The archive's single top-level folder is named by whoever saved it ("archive", the file stem, ...).
        guard let pickleEntry = zip.entries.first(where: {
            $0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/", omittingEmptySubsequences: false).count == 2
        }) else { throw .zip(path: path, problem: "no <folder>/data.pkl entry; not a torch.save archive") }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))

        if let order = zip.entry(named: prefix + "byteorder") {
            let text = String(decoding: try zip.data(of: order), as: UTF8.self)
            guard text == "little" else {
                throw .zip(path: path, problem: "storages are stored \(text)-endian; only little-endian is supported")
            }
        }

        let pickle = try Unpickler.load(try zip.data(of: pickleEntry), path: path, source: pickleEntry.name)
        return try archive(pickle, file: file, format: .pytorchZip) { (storage, tensor) throws(CheckpointError) in
            guard storage.view == nil else {
                throw .tensor(path: path, tensor: tensor, problem: "storage views exist only in legacy files")
            }
            let name = prefix + "data/" + storage.key
            guard let entry = zip.entry(named: name) else {
                throw .tensor(path: path, tensor: tensor, problem: "its storage '\(name)' is missing from the archive")
            }
            return try zip.data(of: entry)
        }
    }

    // MARK: Legacy layout

    /// `torch.serialization.MAGIC_NUMBER`, as the little-endian bytes of LONG1.
    private static let magicNumber: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
    private static let protocolVersion = 1001

    private static func readLegacy(_ file: MappedFile) throws(CheckpointError) -> TensorArchive {
        let path = file.path
        let bytes = file.bytes
        let magic = try Unpickler.load(bytes, path: path, source: "magic number")
        guard magic.root == .bigInt(magicNumber) else {
            throw .pickle(path: path, problem: "wrong magic number; not a legacy torch.save file")
        }
        let version = try Unpickler.load(bytes, from: magic.end, path: path, source: "protocol version")
        guard version.root == .int(protocolVersion) else {
            throw .pickle(path: path, problem: "unsupported legacy protocol version \(version.root) (expected \(protocolVersion))")
        }
        let systemInfo = try Unpickler.load(bytes, from: version.end, path: path, source: "sys_info")
        if case let .dict(id) = systemInfo.root, let littleEndian = systemInfo.objects.dicts[id]["little_endian"],
           littleEndian != .bool(true) {
            throw .pickle(path: path, problem: "saved on a big-endian machine; only little-endian storages are supported")
        }
        let main = try Unpickler.load(bytes, from: systemInfo.end, path: path, source: "main pickle")
        let keyList = try Unpickler.load(bytes, from: main.end, path: path, source: "storage key list")
        guard case let .list(listID) = keyList.root else {
            throw .pickle(path: path, problem: "storage key list is not a list")
        }

        // Each storage is an 8-byte element count and its bytes; only the pickle knows the element size.
        var elementSizes: [String: Int] = [:]
        for storage in main.storages where elementSizes[storage.key] == nil { elementSizes[storage.key] = storage.dtype.size }
        var storages: [String: UnsafeRawBufferPointer] = [:]
        var position = keyList.end
        for item in keyList.objects.lists[listID] {
            guard case let .string(key) = item else { throw .pickle(path: path, problem: "storage key list holds a non-string") }
            guard let elementSize = elementSizes[key] else {
                throw .pickle(path: path, problem: "storage '\(key)' is listed but no tensor uses it, so its element size is unknown")
            }
            guard let count = bytes.littleEndian(at: position, as: UInt64.self) else {
                throw .pickle(path: path, problem: "truncated: storage '\(key)' header at offset \(position) is past the end of the file")
            }
            let start = position + 8
            guard count <= UInt64(bytes.count - start) / UInt64(elementSize) else {
                throw .pickle(path: path, problem: "truncated: storage '\(key)' of \(count) elements at offset \(start) runs past the end of the file")
            }
            let end = start + Int(count) * elementSize
            storages[key] = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            position = end
        }

        return try archive(main, file: file, format: .pytorchLegacy) { (storage, tensor) throws(CheckpointError) in
            guard var data = storages[storage.key] else {
                throw .tensor(path: path, tensor: tensor, problem: "its storage '\(storage.key)' is not in the file's storage list")
            }
            if let view = storage.view {
                let size = storage.dtype.size
                guard view.offset <= data.count / size, view.count <= data.count / size - view.offset else {
                    throw .tensor(path: path, tensor: tensor, problem: "storage view [\(view.offset), +\(view.count)) lies outside storage '\(storage.key)'")
                }
                data = UnsafeRawBufferPointer(rebasing: data[(view.offset * size)..<((view.offset + view.count) * size)])
            }
            return data
        }
    }

    // MARK: State dict

    /// The bytes of a storage, given the storage and the name of the tensor that needs it.
    private typealias StorageBytes = (StorageRef, String) throws(CheckpointError) -> UnsafeRawBufferPointer

    private static func archive(
        _ pickle: Pickle, file: MappedFile, format: TensorArchive.Format, storageBytes: StorageBytes
    ) throws(CheckpointError) -> TensorArchive {
        var tensors: [TensorView] = []
        for (name, tensor) in try stateDict(pickle, path: file.path) {
            let storage = try storageBytes(tensor.storage, name)
            tensors.append(try view(tensor, named: name, storage: storage, file: file))
        }
        return TensorArchive(path: file.path, format: format, tensors: tensors)
    }

    /// The named tensors of the top-level dict, or of a checkpoint's "state_dict"/"model" entry.
    private static func stateDict(_ pickle: Pickle, path: String) throws(CheckpointError) -> [(String, TensorRef)] {
        let dicts = pickle.objects.dicts
        guard case var .dict(id) = pickle.root else {
            throw .pickle(path: path, problem: "the pickled object is not a dict of tensors")
        }
        let isTensor = { (entry: (key: PickleValue, value: PickleValue)) -> Bool in
            if case .tensor = entry.value { return true } else { return false }
        }
        if !dicts[id].entries.contains(where: isTensor) {
            for key in ["state_dict", "model"] {
                if case let .dict(nested)? = dicts[id][key] { id = nested; break }
            }
        }
        var result: [(String, TensorRef)] = []
        for (key, value) in dicts[id].entries {
            guard case let .tensor(tensor) = value else { continue } // step counters, None, ...
            guard case let .string(name) = key else {
                throw .pickle(path: path, problem: "state dict has a tensor under a key that is not a string")
            }
            result.append((name, tensor))
        }
        return result
    }

    /// Checks that every element the view can reach lies inside its storage.
    private static func view(
        _ tensor: TensorRef, named name: String, storage: UnsafeRawBufferPointer, file: MappedFile
    ) throws(CheckpointError) -> TensorView {
        let path = file.path
        let dtype = tensor.storage.dtype
        func fail(_ problem: String) -> CheckpointError { .tensor(path: path, tensor: name, problem: problem) }

        // A legacy view names a slice of its root storage, and `storage` is that slice.
        let capacity = tensor.storage.view?.count ?? tensor.storage.count
        guard capacity <= storage.count / dtype.size else {
            throw fail("storage '\(tensor.storage.key)' should hold \(capacity) \(dtype.rawValue) elements but has only \(storage.count) bytes")
        }
        var count = 1
        var last = tensor.offset // the highest element index the view reaches
        for (size, stride) in zip(tensor.shape, tensor.strides) {
            let product = count.multipliedReportingOverflow(by: size)
            guard !product.overflow else { throw fail("shape \(tensor.shape) overflows") }
            count = product.partialValue
            guard size > 0 else { continue }
            let reach = (size - 1).multipliedReportingOverflow(by: stride)
            let sum = last.addingReportingOverflow(reach.partialValue)
            guard !reach.overflow, !sum.overflow else { throw fail("shape \(tensor.shape) with strides \(tensor.strides) overflows") }
            last = sum.partialValue
        }
        let bytes: UnsafeRawBufferPointer
        if count == 0 {
            guard tensor.offset <= capacity else { throw fail("storage offset \(tensor.offset) is past its \(capacity)-element storage") }
            bytes = UnsafeRawBufferPointer(rebasing: storage[0..<0])
        } else {
            guard last < capacity else {
                throw fail("view (offset \(tensor.offset), shape \(tensor.shape), strides \(tensor.strides)) reaches element \(last) of a \(capacity)-element storage")
            }
            bytes = UnsafeRawBufferPointer(rebasing: storage[(tensor.offset * dtype.size)..<((last + 1) * dtype.size)])
        }
        let strided = TensorView(name: name, dtype: dtype, shape: tensor.shape, strides: tensor.strides, bytes: bytes, storage: file)
        guard strided.isContiguous else { return strided }
        return TensorView(name: name, dtype: dtype, shape: tensor.shape, strides: nil, bytes: bytes, storage: file)
    }
}
