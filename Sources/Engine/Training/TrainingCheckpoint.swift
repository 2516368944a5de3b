import Checkpoint
import Foundation
import GPT2

/// Everything needed to continue a run exactly where it stopped.
public struct TrainerState: Codable, Sendable, Equatable {
    public var step: Int
    public var epoch: Int
    /// Micro-batches of the current epoch already consumed.
    public var cursor: Int
    public var optimizerStep: Int
    public var bestEvalLoss: Float?
    /// The best checkpoint's directory name (`checkpoint-N`), relative to the output directory
    /// so that a run resumed under another root still finds (and never prunes) it. States
    /// written before this held an absolute path; only its last component is used.
    public var bestCheckpoint: String?
    public var history: [LogEntry]
}

/// A checkpoint directory: a model `transformers` loads (model.safetensors, config.json, the
/// tokenizer files) plus the training state. Written under a temporary name, every file
/// fsynced, a COMPLETE marker last, then renamed: a crash leaves no half checkpoint under
/// a real name, and loading ignores anything without the marker.
public enum TrainingCheckpoint {
    public static let marker = "COMPLETE"

    public static func save(model: GPT2, optimizer: AdamW, state: TrainerState, tokenizerFiles: [String],
                            to directory: String) throws {
        let fm = FileManager.default
        let temporary = directory + ".tmp"
        try? fm.removeItem(atPath: temporary)
        try ModelLoader.save(model, to: temporary)
        for file in tokenizerFiles where fm.fileExists(atPath: file) {
            try AtomicFile.write(try Data(contentsOf: URL(fileURLWithPath: file)),
                                 to: (temporary as NSString).appendingPathComponent((file as NSString).lastPathComponent))
        }
        let layout = optimizer.m.layout
        try SafeTensors.write([
            .init(name: "adamw.m", shape: [layout.totalCount], values: UnsafeBufferPointer(optimizer.m.storage)),
            .init(name: "adamw.v", shape: [layout.totalCount], values: UnsafeBufferPointer(optimizer.v.storage)),
        ], metadata: ["format": "cuentista-optimizer"], to: (temporary as NSString).appendingPathComponent("optimizer.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(state), to: (temporary as NSString).appendingPathComponent("trainer_state.json"))
        try AtomicFile.write(Data("ok\n".utf8), to: (temporary as NSString).appendingPathComponent(marker))
        try? fm.removeItem(atPath: directory)
        guard rename(temporary, directory) == 0 else {
            throw TrainingError.checkpoint("\(directory): rename failed: \(String(cString: strerror(errno)))")
        }
        let parent = open((directory as NSString).deletingLastPathComponent, O_RDONLY)
        if parent >= 0 { fsync(parent); close(parent) }
    }

    /// Complete checkpoints under `directory`, oldest first.
    public static func list(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("checkpoint-"), !name.hasSuffix(".tmp"), let step = Int(name.dropFirst("checkpoint-".count)) else { return nil }
            let path = (directory as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(marker)) else { return nil }
            return (step, path)
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    public static func loadState(_ directory: String) throws -> (TrainerState, m: [Float], v: [Float]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("trainer_state.json")))
        let state = try JSONDecoder().decode(TrainerState.self, from: data)
        let archive = try SafeTensors.read(path: (directory as NSString).appendingPathComponent("optimizer.safetensors"))
        guard let m = archive["adamw.m"], let v = archive["adamw.v"] else {
            throw TrainingError.checkpoint("\(directory): optimizer.safetensors lacks the AdamW moments")
        }
        return (state, try m.floats(), try v.floats())
    }
}
