import Checkpoint
import Foundation
import Logging
import Messaging

public enum ServiceLogging {
    /// Log lines go to standard error; bootstrapping twice is harmless here.
    public static func bootstrap() {
        _ = bootstrapped
    }

    static let bootstrapped: Bool = {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        return true
    }()
}

/// A key file that cannot be used; the message names the file (or the options) and why.
public struct KeyFileError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// A CurveZMQ key file: two lines, `public: <z85>` and (for own keys) `secret: <z85>`.
public enum KeyFile {
    public static func read(_ path: String) throws -> CurveKeys {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw KeyFileError(description: "\(path): cannot read the key file") }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        guard let publicKey = values["public"], CurveKeys.isValid(publicKey) else { throw KeyFileError(description: "\(path): no valid `public:` key") }
        let secret = values["secret"] ?? ""
        if !secret.isEmpty && !CurveKeys.isValid(secret) { throw KeyFileError(description: "\(path): the `secret:` key is not valid Z85") }
        return CurveKeys(publicKey: publicKey, secretKey: secret)
    }

    /// A client's CurveZMQ settings from its two options: both or neither.
    public static func clientKeys(serverKey: String?, keys: String?) throws -> (serverKey: String?, keys: CurveKeys?) {
        let serverPublic = try serverKey.map { try read($0).publicKey }
        let own = try keys.map(read)
        if (serverPublic == nil) != (own == nil) { throw KeyFileError(description: "--server-key and --keys go together") }
        return (serverPublic, own)
    }

    /// Throws, naming the file, when it cannot be written (a missing folder, say).
    public static func write(_ keys: CurveKeys, to path: String, includeSecret: Bool) throws {
        let text = "public: \(keys.publicKey)\n" + (includeSecret ? "secret: \(keys.secretKey)\n" : "")
        try OutputFile.create(path, contents: Data(text.utf8), permissions: includeSecret ? 0o600 : 0o644)
    }
}
