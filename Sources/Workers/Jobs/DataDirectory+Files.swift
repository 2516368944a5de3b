import Foundation
import JobSpecs

extension DataDirectory {
    public func requireExisting(_ path: String, field: String) throws(JobSpecError) -> String {
        let resolved = try resolve(path, field: field)
        guard FileManager.default.fileExists(atPath: resolved) else {
            throw JobSpecError(field: field, "\(path) does not exist\(confined ? " in the data directory \(root)" : "")")
        }
        return resolved
    }

    /// A path a job will write, resolved; for a confined directory also checked on disk: the
    /// deepest part that exists, symlinks followed, is inside the data directory (a symlink
    /// planted in it cannot send a job's output elsewhere).
    public func writable(_ path: String, field: String) throws(JobSpecError) -> String {
        let resolved = try resolve(path, field: field)
        guard confined else { return resolved }
        var existing = resolved
        while !FileManager.default.fileExists(atPath: existing) && existing != "/" && !existing.isEmpty {
            existing = (existing as NSString).deletingLastPathComponent
        }
        guard let real = Self.realPath(existing), let realRoot = Self.realPath(root),
              real == realRoot || real.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/") else {
            throw JobSpecError(field: field, "\(path) leads outside the data directory (a symbolic link?)")
        }
        return resolved
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(decoding: UnsafeRawBufferPointer(start: resolved, count: strlen(resolved)), as: UTF8.self)
    }
}
