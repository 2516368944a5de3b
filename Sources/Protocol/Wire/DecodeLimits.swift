#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CProtobufC

/// What any received message may cost to decode, whoever sent it.
///
/// protobuf-c allocates every string, array, sub-message and unknown field of a message
/// separately, so a body of tiny fields costs many times its size: 15 MB of one-byte unknown
/// fields took 845 MB and 0.9 s to unpack (measured), long enough to starve a broker's
/// heartbeats. Two checks bound that for every type, before and during unpacking:
/// - a scan of the bytes against the message's descriptor (allocation-free, linear) refuses
///   more than `maxUnknownFields` fields this build does not know (a newer peer's few extra
///   fields pass) and any string holding a NUL byte (protobuf-c measures strings with strlen,
///   so the text after it would silently vanish);
/// - protobuf-c allocates through a budget of `fixedBytes + bytesPerByte × size`, counting each
///   allocation with malloc's overhead; past it, the decode fails instead of growing.
public enum DecodeLimits {
    public static let maxUnknownFields = 256
    static let fixedBytes = 1 << 20
    static let bytesPerByte = 8
    /// What malloc adds to each block (header and rounding), charged so that many tiny
    /// allocations cost what they really cost.
    static let allocationOverhead = 32

    static func budget(forBodyOf count: Int) -> Int {
        fixedBytes &+ count.multipliedReportingOverflow(by: bytesPerByte).partialValue
    }
}

/// Walks protobuf wire bytes with the message's descriptor. Stops quietly at anything malformed:
/// refusing malformed bytes is protobuf-c's job, with its own error.
struct WireScan {
    private(set) var unknownFields = 0

    /// Checks `bytes` as `descriptor`'s message (and its sub-messages, against theirs).
    mutating func check(_ bytes: UnsafeRawBufferPointer, _ descriptor: UnsafePointer<ProtobufCMessageDescriptor>) throws(WireDecodingError) {
        var reader = Reader(bytes: bytes)
        while !reader.atEnd {
            guard let key = reader.varint(), key >> 3 > 0, key >> 3 <= UInt64(Int32.max) else { return }
            let number = UInt32(key >> 3), wireType = key & 7
            let field = protobuf_c_message_descriptor_get_field(descriptor, number)
            if field == nil {
                unknownFields += 1
                if unknownFields > DecodeLimits.maxUnknownFields {
                    throw .tooManyUnknownFields(type: String(cString: descriptor.pointee.short_name), limit: DecodeLimits.maxUnknownFields)
                }
            }
            switch wireType {
            case 0: guard reader.varint() != nil else { return }
            case 1: guard reader.skip(8) else { return }
            case 5: guard reader.skip(4) else { return }
            case 2:
                guard let length = reader.varint(), let payload = reader.take(length) else { return }
                guard let field else { continue }
                switch field.pointee.type {
                case PROTOBUF_C_TYPE_STRING:
                    if payload.contains(0) {
                        throw .nulInString(field: String(cString: descriptor.pointee.short_name) + "." + String(cString: field.pointee.name))
                    }
                case PROTOBUF_C_TYPE_MESSAGE:
                    guard let nested = field.pointee.descriptor?.assumingMemoryBound(to: ProtobufCMessageDescriptor.self) else { continue }
                    try check(payload, nested)
                default: break
                }
            default: return  // groups (3, 4) and reserved types: protobuf-c refuses them
            }
        }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0
        var atEnd: Bool { position >= bytes.count }

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                guard position < bytes.count else { return nil }
                let byte = bytes[position]
                position += 1
                value |= UInt64(byte & 0x7F) << UInt64(shift)
                if byte & 0x80 == 0 { return value }
            }
            return nil
        }

        mutating func skip(_ count: Int) -> Bool {
            guard bytes.count - position >= count else { return false }
            position += count
            return true
        }

        mutating func take(_ count: UInt64) -> UnsafeRawBufferPointer? {
            guard count <= UInt64(bytes.count - position) else { return nil }
            let start = position
            position += Int(count)
            return UnsafeRawBufferPointer(rebasing: bytes[start..<position])
        }
    }
}

/// protobuf-c's allocator with a byte budget: `remaining` goes down with every allocation
/// (never up: it bounds the peak, as protobuf-c frees only at the end).
struct BudgetAllocatorState {
    var remaining: Int
    var exhausted = false
}

/// Runs `body` with a protobuf-c allocator drawing on `budget` bytes; tells whether the budget
/// ran out.
func withBudgetAllocator<R>(budget: Int, _ body: (UnsafeMutablePointer<ProtobufCAllocator>) -> R) -> (R, exhausted: Bool) {
    var state = BudgetAllocatorState(remaining: budget)
    return withUnsafeMutablePointer(to: &state) { statePointer in
        var allocator = ProtobufCAllocator(
            alloc: { data, size in
                let state = data!.assumingMemoryBound(to: BudgetAllocatorState.self)
                let cost = size &+ DecodeLimits.allocationOverhead
                guard size < Int.max / 2, cost <= state.pointee.remaining else {
                    state.pointee.exhausted = true
                    return nil
                }
                state.pointee.remaining -= cost
                // malloc(0) may return NULL, which protobuf-c would read as out of memory.
                return malloc(max(size, 1))
            },
            free: { _, pointer in free(pointer) },
            allocator_data: UnsafeMutableRawPointer(statePointer))
        let result = body(&allocator)
        return (result, statePointer.pointee.exhausted)
    }
}
