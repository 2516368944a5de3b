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
}
