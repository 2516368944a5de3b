import Foundation

/// One coordinator per data directory: two would hand the same jobs to two workers, and a
/// second `cuentista up` would truncate the first one's logs. The running coordinator holds an
/// exclusive `flock` on DATA/coordinator/coordinator.lock for its whole life (the kernel drops it
/// when the process ends, however it ends) and writes its pid there for the message others get.
public final class CoordinatorLock {
    private let descriptor: Int32

    public static func path(in dataDirectory: String) -> String {
        (((dataDirectory as NSString).standardizingPath as NSString).appendingPathComponent("coordinator") as NSString)
            .appendingPathComponent("coordinator.lock")
    }

    public init(dataDirectory: String) throws {
        let path = Self.path(in: dataDirectory)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CoordinatorError("\(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw CoordinatorError(Self.runningMessage(pid: Self.recordedPid(path), dataDirectory: dataDirectory))
        }
        let pid = Array("\(getpid())\n".utf8)
        guard ftruncate(descriptor, 0) == 0, pid.withUnsafeBytes({ pwrite(descriptor, $0.baseAddress, $0.count, 0) }) == pid.count else {
            close(descriptor)
            throw CoordinatorError("\(path): cannot record this coordinator's pid: \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// The pid of the coordinator running on `dataDirectory`, if one is (without taking the lock
    /// from it: a shared probe that fails while it is held).
    public static func holder(dataDirectory: String) -> Int32?? {
        let path = Self.path(in: dataDirectory)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_SH | LOCK_NB) != 0 else { return nil }
        return .some(recordedPid(path))
    }

    static func recordedPid(_ path: String) -> Int32? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    public static func runningMessage(pid: Int32?, dataDirectory: String) -> String {
        "a coordinator\(pid.map { " (pid \($0))" } ?? "") is already running on \(dataDirectory): stop it first (Ctrl-C where it runs\(pid.map { ", or kill \($0)" } ?? "")), or use another --data-dir"
    }
}
