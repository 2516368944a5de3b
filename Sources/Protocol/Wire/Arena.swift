#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CProtobufC

/// Owns every C allocation made while one message is encoded, so a nested message can point at
/// strings, arrays and sub-messages without anyone tracking them one by one: all of it lives
/// until the arena goes away, which the encoder guarantees happens only after packing.
final class Arena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit {
        for block in blocks { free(block) }
    }

    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        // malloc(0) may return NULL, which would read as "absent".
        guard let raw = malloc(max(1, count) * MemoryLayout<T>.stride) else {
            fatalError("Wire: out of memory encoding a message")
        }
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: count)
    }

    /// A zeroed-by-protobuf-c message: `initialise` is the generated `..._init`, which sets the
    /// descriptor that packing relies on (the `*_INIT` macros are not imported into Swift).
    func message<C>(_ initialise: (UnsafeMutablePointer<C>?) -> Void) -> UnsafeMutablePointer<C> {
        let message = allocate(C.self, count: 1)
        initialise(message)
        return message
    }

    /// A NUL-terminated copy. A string with an embedded NUL is cut there: protobuf-c measures
    /// strings with strlen, so nothing after it could be sent anyway.
    func string(_ value: String) -> UnsafeMutablePointer<CChar> {
        guard let copy = strdup(value) else { fatalError("Wire: out of memory encoding a message") }
        blocks.append(UnsafeMutableRawPointer(copy))
        return copy
    }

    /// A repeated field of trivial values (scalars or pointers) as protobuf-c's count and pointer.
    func array<T>(_ values: [T]) -> (Int, UnsafeMutablePointer<T>?) {
        guard !values.isEmpty else { return (0, nil) }
        let storage = allocate(T.self, count: values.count)
        _ = UnsafeMutableBufferPointer(start: storage, count: values.count).initialize(from: values)
        return (values.count, storage)
    }

    func strings(_ values: [String]) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        array(values.map { Optional(string($0)) })
    }

    func messages<M: CMessage>(_ values: [M]) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<M.C>?>?) {
        array(values.map { Optional($0.c(in: self)) })
    }

    func bytes(_ values: [UInt8]) -> ProtobufCBinaryData {
        let (count, data) = array(values)
        return ProtobufCBinaryData(len: count, data: data)
    }
}
