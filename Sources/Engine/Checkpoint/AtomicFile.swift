import Foundation

/// Writes a file under a temporary name, fsyncs it, renames it into place and fsyncs the
/// directory: readers see either the old file or the complete new one.
public enum AtomicFile {
    public struct Sink {
        let fd: Int32
        let path: String
        public func write(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) {
            var done = 0
            while done < bytes.count {
                let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .io(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }

        /// All of `bytes` (`Data`, an array: their storage is lent only to a closure).
        public func write(contentsOf bytes: some ContiguousBytes) throws(CheckpointError) {
            var failure: CheckpointError?
            bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                if raw.count > 0 { do throws(CheckpointError) { try write(raw) } catch { failure = error } }
            }
            if let failure { throw failure }
        }
    }

    public static func write(to path: String, _ body: (Sink) throws(CheckpointError) -> Void) throws(CheckpointError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw .io(path: temporary, reason: String(cString: strerror(errno))) }
        do throws(CheckpointError) {
            try body(Sink(fd: fd, path: temporary))
            guard fsync(fd) == 0 else { throw CheckpointError.io(path: temporary, reason: "fsync failed") }
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .io(path: path, reason: "rename failed: \(reason)")
        }
        let directory = (path as NSString).deletingLastPathComponent
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if dirfd >= 0 { fsync(dirfd); close(dirfd) }
    }

    public static func write(_ data: Data, to path: String) throws(CheckpointError) {
        try write(to: path) { (sink: Sink) throws(CheckpointError) in try sink.write(contentsOf: data) }
    }
}
