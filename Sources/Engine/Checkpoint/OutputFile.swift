import Foundation

/// Files written in place (not through `AtomicFile`), with every failure thrown as `.io` naming
/// the file and errno's reason. `FileManager.createFile` only returns false (its result was
/// being dropped: `keys generate` reported files it had not written), and `FileHandle.write(_:)`
/// cannot report a failure at all.
public enum OutputFile {
    /// Opens `path` for writing, created if missing and emptied unless `appending`. With
    /// `permissions`, the file has exactly those (whatever the umask, and even if it existed)
    /// before anything is written to it: a secret is never readable by others, even for a moment.
    public static func open(_ path: String, appending: Bool = false, permissions: mode_t? = nil) throws(CheckpointError) -> FileHandle {
        FileHandle(fileDescriptor: try descriptor(path, appending: appending, permissions: permissions), closeOnDealloc: true)
    }

    /// Writes `contents` as the whole of `path` (created, or emptied first).
    public static func create(_ path: String, contents: Data, permissions: mode_t? = nil) throws(CheckpointError) {
        try put(contents, into: path, appending: false, permissions: permissions)
    }

    /// Appends `contents` to `path`, creating it; with empty `contents`, proves that `path` can
    /// be written before the work that will append to it starts.
    public static func append(_ contents: Data, to path: String) throws(CheckpointError) {
        try put(contents, into: path, appending: true)
    }

    /// All of `bytes` to `handle`, whose file is `path` (for the message).
    public static func write(_ bytes: some ContiguousBytes, to handle: FileHandle, path: String) throws(CheckpointError) {
        try AtomicFile.Sink(fd: handle.fileDescriptor, path: path).write(contentsOf: bytes)
    }

    /// Flushes `handle`'s file to the disk and closes it: a full disk or an I/O error that
    /// `write` did not see is reported now, naming `path`.
    public static func finish(_ handle: FileHandle, path: String) throws(CheckpointError) {
        guard fsync(handle.fileDescriptor) == 0 else { throw .io(path: path, reason: "fsync failed: \(reason(errno))") }
        do { try handle.close() } catch { throw .io(path: path, reason: "close failed: \(error.localizedDescription)") }
    }

    private static func descriptor(_ path: String, appending: Bool, permissions: mode_t?) throws(CheckpointError) -> Int32 {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (appending ? O_APPEND : O_TRUNC)
        let fd = Foundation.open(path, flags, permissions ?? 0o666)
        guard fd >= 0 else { throw .io(path: path, reason: "cannot open for writing: \(reason(errno))") }
        if let permissions, fchmod(fd, permissions) != 0 {
            let failure = errno
            close(fd)
            throw .io(path: path, reason: "cannot set its permissions to \(String(permissions, radix: 8)): \(reason(failure))")
        }
        return fd
    }

    /// Writes and closes: close can report a failure that write did not (NFS, quotas).
    private static func put(_ contents: Data, into path: String, appending: Bool, permissions: mode_t? = nil) throws(CheckpointError) {
        let fd = try descriptor(path, appending: appending, permissions: permissions)
        do throws(CheckpointError) {
            try AtomicFile.Sink(fd: fd, path: path).write(contentsOf: contents)
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw .io(path: path, reason: "close failed: \(reason(errno))") }
    }

    static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }
}
