import Kernels
import Foundation
import Tokenizer

/// Paths and readers for Tests/Fixtures/tokenizer (written by Tests/Fixtures/make_fixtures.py).
enum Fixtures {
    static let directory: String = {
        let here = URL(fileURLWithPath: #filePath)  // Tests/TokenizerTests/Fixtures.swift
        return here.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tokenizer").path
    }()

    /// The novel lives outside the repo (<repo>/../shared/corpus); CI does not have it.
    static let quijotePath: String = {
        let repo = URL(fileURLWithPath: directory).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.deletingLastPathComponent().appendingPathComponent("shared/corpus/quijote.txt").path
    }()

    static var hasQuijote: Bool { FileManager.default.fileExists(atPath: quijotePath) }

    static func path(_ name: String) -> String { directory + "/" + name }

    static func bytes(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw FixtureError.missing(path) }
        return [UInt8](data)
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(path(name)), as: UTF8.self)
    }

    static func json(_ name: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(try bytes(path(name))))
        guard let dict = object as? [String: Any] else { throw FixtureError.missing(name) }
        return dict
    }

    static func ids(_ value: Any?) -> [Int32] { (value as? [Int] ?? []).map { Int32($0) } }

    /// Offsets are stored as (start - previous end, end - start) pairs.
    static func offsets(_ value: Any?) -> [[Int]] {
        let flat = value as? [Int] ?? []
        var result = [[Int]]()
        var previousEnd = 0
        for k in stride(from: 0, to: flat.count - 1, by: 2) {
            let start = previousEnd + flat[k]
            let end = start + flat[k + 1]
            result.append([start, end])
            previousEnd = end
        }
        return result
    }

    static let testText: String = (try? text("test_text.txt")) ?? ""
    static var reference: [String: Any] { (try? json("test_text.hf.json")) ?? [:] }
    static var meta: [String: Any] { (try? json("reference.json")) ?? [:] }

    /// The 22k-token BPE HF trained on the novel (50,257 were asked for; the novel stops at 22,414 with min_frequency 2).
    static let big: BPETokenizer = try! BPETokenizer(tokenizerJSON: path("quijote-22k/tokenizer.json"))
    static let bigFromVocab: BPETokenizer = try! BPETokenizer(
        vocabJSON: path("quijote-22k/vocab.json"), mergesTXT: path("quijote-22k/merges.txt"))

    /// The novel's lines, each with its "\n", as HF's trainer reads a file.
    static func linesWithEndings(_ bytes: [UInt8]) -> [String] { BPETrainer.linesKeepingEndings(bytes) }

    static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

enum FixtureError: Error { case missing(String) }


