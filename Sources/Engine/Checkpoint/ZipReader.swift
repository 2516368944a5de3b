/// One file inside a zip archive, as its central directory describes it.
struct ZipEntry: Sendable {
    let name: String
    let flags: UInt16
    let method: UInt16
    let compressedSize: Int
    let size: Int
    let localHeaderOffset: Int
}

/// A read-only view of a zip archive that is memory-mapped whole. It reads only what
/// `torch.save` writes: one disk, entries "stored" without compression, possibly ZIP64.
/// Every offset comes from the file, so each one is checked before it is used.
struct ZipReader {
    let file: MappedFile
    /// In central-directory order.
    let entries: [ZipEntry]
    private let index: [String: Int]

    private static let eocdSignature: UInt32 = 0x0605_4b50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    private static let zip64EOCDSignature: UInt32 = 0x0606_4b50
    private static let centralSignature: UInt32 = 0x0201_4b50
    private static let localSignature: UInt32 = 0x0403_4b50
    private static let eocdSize = 22, centralSize = 46, localSize = 30

    init(file: MappedFile) throws(CheckpointError) {
        self.file = file
        let bytes = file.bytes
        let path = file.path
        func fail(_ problem: String) -> CheckpointError { .zip(path: path, problem: problem) }

        let eocd = try Self.findEndOfCentralDirectory(bytes, fail: fail)
        var entryCount = Int(bytes.littleEndian(at: eocd + 10, as: UInt16.self)!)
        var directorySize = Int(bytes.littleEndian(at: eocd + 12, as: UInt32.self)!)
        var directoryOffset = Int(bytes.littleEndian(at: eocd + 16, as: UInt32.self)!)
        // Where the central directory must end: at the ZIP64 record if there is one.
        var directoryLimit = eocd

        if eocd >= 20, bytes.littleEndian(at: eocd - 20, as: UInt32.self) == Self.zip64LocatorSignature {
            let recordOffset = try Self.int(bytes.littleEndian(at: eocd - 12, as: UInt64.self)!, "ZIP64 record offset", fail)
            guard recordOffset <= eocd - 20 - 56,
                  bytes.littleEndian(at: recordOffset, as: UInt32.self) == Self.zip64EOCDSignature
            else { throw fail("ZIP64 end-of-central-directory locator points to offset \(recordOffset), where there is no ZIP64 record") }
            entryCount = try Self.int(bytes.littleEndian(at: recordOffset + 32, as: UInt64.self)!, "entry count", fail)
            directorySize = try Self.int(bytes.littleEndian(at: recordOffset + 40, as: UInt64.self)!, "central directory size", fail)
            directoryOffset = try Self.int(bytes.littleEndian(at: recordOffset + 48, as: UInt64.self)!, "central directory offset", fail)
            directoryLimit = recordOffset
        } else if bytes.littleEndian(at: eocd + 4, as: UInt32.self) != 0 {
            throw fail("multi-disk archives are not supported")
        }

        guard directorySize <= directoryLimit, directoryOffset <= directoryLimit - directorySize else {
            throw fail("central directory [\(directoryOffset), +\(directorySize)) lies outside the file before offset \(directoryLimit)")
        }
        // Bounds the allocation below by what the directory can actually hold.
        guard entryCount <= directorySize / Self.centralSize else {
            throw fail("\(entryCount) entries cannot fit in a \(directorySize)-byte central directory")
        }

        let directoryEnd = directoryOffset + directorySize
        var entries: [ZipEntry] = []
        entries.reserveCapacity(entryCount)
        var position = directoryOffset
        for number in 0..<entryCount {
            let entry = try Self.readCentralEntry(bytes, at: &position, end: directoryEnd, number: number, fail: fail)
            entries.append(entry)
        }
        self.entries = entries
        var index: [String: Int] = [:]
        for (i, entry) in entries.enumerated() where index[entry.name] == nil { index[entry.name] = i }
        self.index = index
    }

    func entry(named name: String) -> ZipEntry? { index[name].map { entries[$0] } }

    /// The entry's bytes, pointing into the mapped file.
    func data(of entry: ZipEntry) throws(CheckpointError) -> UnsafeRawBufferPointer {
        let bytes = file.bytes
        func fail(_ problem: String) -> CheckpointError { .zip(path: file.path, problem: "entry '\(entry.name)': \(problem)") }
        guard entry.flags & 1 == 0 else { throw fail("is encrypted") }
        guard entry.method == 0 else {
            throw fail("is compressed (method \(entry.method)); only stored entries are supported, as torch.save writes them")
        }
        guard entry.compressedSize == entry.size else {
            throw fail("is stored but its compressed size \(entry.compressedSize) differs from its size \(entry.size)")
        }
        let header = entry.localHeaderOffset
        guard bytes.littleEndian(at: header, as: UInt32.self) == Self.localSignature,
              let nameLength = bytes.littleEndian(at: header + 26, as: UInt16.self),
              let extraLength = bytes.littleEndian(at: header + 28, as: UInt16.self)
        else { throw fail("no local file header at offset \(header)") }
        // The local extra field differs from the central one: PyTorch pads it to align data.
        let start = header + Self.localSize + Int(nameLength) + Int(extraLength)
        guard start <= bytes.count, entry.size <= bytes.count - start else {
            throw fail("data [\(start), +\(entry.size)) runs past the end of the \(bytes.count)-byte file")
        }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<(start + entry.size)])
    }

    /// The record sits at the very end, followed only by a comment of at most 64 KiB.
    private static func findEndOfCentralDirectory(
        _ bytes: UnsafeRawBufferPointer, fail: (String) -> CheckpointError
    ) throws(CheckpointError) -> Int {
        guard bytes.count >= eocdSize else {
            throw fail("file is \(bytes.count) bytes, too short for an end-of-central-directory record")
        }
        let last = bytes.count - eocdSize
        for offset in stride(from: last, through: max(0, last - Int(UInt16.max)), by: -1)
        where bytes.littleEndian(at: offset, as: UInt32.self) == eocdSignature {
            let commentLength = Int(bytes.littleEndian(at: offset + 20, as: UInt16.self)!)
            if commentLength <= last - offset { return offset }
        }
        throw fail("no end-of-central-directory record (not a zip file, or truncated)")
    }

    private static func readCentralEntry(
        _ bytes: UnsafeRawBufferPointer, at position: inout Int, end: Int, number: Int,
        fail: (String) -> CheckpointError
    ) throws(CheckpointError) -> ZipEntry {
        let p = position
        guard p <= end - centralSize, bytes.littleEndian(at: p, as: UInt32.self) == centralSignature else {
            throw fail("central directory entry \(number) at offset \(p) is missing or damaged")
        }
        let field16 = { (offset: Int) in Int(bytes.littleEndian(at: p + offset, as: UInt16.self)!) }
        let field32 = { (offset: Int) in bytes.littleEndian(at: p + offset, as: UInt32.self)! }
        let nameLength = field16(28), extraLength = field16(30), commentLength = field16(32)
        let variableLength = nameLength + extraLength + commentLength
        guard variableLength <= end - p - centralSize else {
            throw fail("central directory entry \(number) runs past the end of the directory")
        }
        let nameStart = p + centralSize
        let name = String(decoding: bytes[nameStart..<(nameStart + nameLength)], as: UTF8.self)

        var compressedSize = UInt64(field32(20)), size = UInt64(field32(24)), offset = UInt64(field32(42))
        // ZIP64 keeps the real values in extra field 0x0001, only for fields saturated above.
        var extra = nameStart + nameLength
        let extraEnd = extra + extraLength
        while extra + 4 <= extraEnd {
            let id = bytes.littleEndian(at: extra, as: UInt16.self)!
            let length = Int(bytes.littleEndian(at: extra + 2, as: UInt16.self)!)
            var field = extra + 4
            let fieldEnd = field + length
            guard fieldEnd <= extraEnd else { throw fail("entry '\(name)' has an extra field past its end") }
            if id == 1 {
                if size == 0xFFFF_FFFF { size = try zip64Field(bytes, &field, fieldEnd, name, fail) }
                if compressedSize == 0xFFFF_FFFF { compressedSize = try zip64Field(bytes, &field, fieldEnd, name, fail) }
                if offset == 0xFFFF_FFFF { offset = try zip64Field(bytes, &field, fieldEnd, name, fail) }
            }
            extra = fieldEnd
        }
        position = p + centralSize + variableLength
        let flags = UInt16(field16(8)), method = UInt16(field16(10))
        return ZipEntry(
            name: name, flags: flags, method: method,
            compressedSize: try int(compressedSize, "compressed size of '\(name)'", fail),
            size: try int(size, "size of '\(name)'", fail),
            localHeaderOffset: try int(offset, "offset of '\(name)'", fail))
    }

    private static func zip64Field(
        _ bytes: UnsafeRawBufferPointer, _ field: inout Int, _ end: Int, _ name: String,
        _ fail: (String) -> CheckpointError
    ) throws(CheckpointError) -> UInt64 {
        guard field + 8 <= end, let value = bytes.littleEndian(at: field, as: UInt64.self) else {
            throw fail("entry '\(name)' has a ZIP64 extra field too short for its saturated sizes")
        }
        field += 8
        return value
    }

    private static func int(_ value: UInt64, _ what: String, _ fail: (String) -> CheckpointError) throws(CheckpointError) -> Int {
        guard value <= UInt64(Int.max) else { throw fail("\(what) \(value) is out of range") }
        return Int(value)
    }
}

extension UnsafeRawBufferPointer {
    /// The little-endian integer at `offset`, or nil when it does not lie inside the buffer.
    func littleEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type = T.self) -> T? {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size, let base = baseAddress else { return nil }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
