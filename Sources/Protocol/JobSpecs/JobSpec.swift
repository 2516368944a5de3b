import Foundation

/// A job's specification named a bad value: `field` is the option's name as the CLI spells it.
public struct JobSpecError: Error, CustomStringConvertible, Equatable, Sendable {
    public let field: String
    public let message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "invalid --\(field): \(message)" }
}

/// The folder all workers share (a local folder on one machine, a shared volume in a cluster).
/// Remote jobs name their inputs and outputs relative to it and may not leave it; local
/// commands use the working directory and may name any path. Resolving a path is string work
/// only: the coordinator checks confinement without the volume, the workers check existence
/// (`Jobs`).
public struct DataDirectory: Sendable, Equatable {
    public let root: String
    public let confined: Bool

    public init(root: String, confined: Bool = true) {
        self.root = root
        self.confined = confined
    }

    /// Local commands: paths as the user typed them.
    public static let workingDirectory = DataDirectory(root: FileManager.default.currentDirectoryPath, confined: false)

    public func resolve(_ path: String, field: String) throws(JobSpecError) -> String {
        if path.isEmpty { throw JobSpecError(field: field, "is missing") }
        if confined {
            if path.hasPrefix("/") { throw JobSpecError(field: field, "\(path) must be relative to the data directory") }
            if Self.components(path).contains("..") { throw JobSpecError(field: field, "\(path) may not leave the data directory") }
            if path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { throw JobSpecError(field: field, "\(path) holds control characters") }
        } else if path.hasPrefix("/") {
            return path
        }
        return (root as NSString).appendingPathComponent(path)
    }

    /// A path's components as the kernel reads it: split at every '/' byte. (Swift splits
    /// Characters, and a '/' joined to a combining mark is not one: "a\u{600}/../b" would be
    /// one component to Swift and three to the file system.) "." and empty ones are dropped.
    public static func components(_ path: String) -> [String] {
        path.utf8.split(separator: UInt8(ascii: "/")).map { String(decoding: $0, as: UTF8.self) }.filter { $0 != "." }
    }

    /// A relative path in one spelling: `./runs//a/` is `runs/a`.
    public static func normalized(_ path: String) -> String { components(path).joined(separator: "/") }
}

/// What a queued job runs.
public enum JobSpec: Codable, Sendable, Equatable {
    case prepare(PrepareJobSpec)
    case train(TrainJobSpec)

    /// The coordinator's check (values and confinement, no file read): the CLI runs it too
    /// before submitting, so a value the wire cannot carry (a negative count) is refused at
    /// once rather than sent as "unset".
    public func checkValues(in data: DataDirectory) throws(JobSpecError) {
        switch self {
        case let .prepare(spec): try spec.checkValues(in: data)
        case let .train(spec): try spec.checkValues(in: data)
        }
    }

    /// The folder the job writes (relative to the data directory).
    public var out: String {
        switch self {
        case let .prepare(spec): spec.out
        case let .train(spec): spec.out
        }
    }

    /// The paths the job reads (relative to the data directory; an `init:` model reads none).
    public var inputs: [String] {
        switch self {
        case let .prepare(spec): spec.inputs + [spec.tokenizer]
        case let .train(spec): (spec.model.hasPrefix("init:") ? [] : [spec.model]) + [spec.data]
        }
    }

    /// Where a job of an ordinary client may write: its `out` must be inside one of these
    /// folders of the data directory (models, tokenizers and corpora elsewhere are the
    /// operator's; an admin may write anywhere but the coordinator's folder).
    public static let clientOutputFolders = ["runs", "prepared"]

    public var kind: String {
        switch self {
        case .prepare: "prepare"
        case .train: "train"
        }
    }
}
