import Checkpoint
import Foundation
import GPT2
import Testing
import TestSupport

@Suite("Model directories")
struct ModelDirectoryTests {
    @Test("a missing directory, a file, or a directory without weights gets a clear message")
    func clearMessages() throws {
        func message(_ path: String) -> String {
            do { _ = try ModelLoader.load(directory: path); return "loaded" } catch { return error.description }
        }
        #expect(message("/nonexistent/model").contains("no such file or directory"))
        #expect(message(Fixtures.model("tiny-safetensors") + "/config.json").contains("is a file"))
        let empty = Fixtures.temporaryDirectory()
        #expect(message(empty).contains("no config.json"))
        try FileManager.default.copyItem(atPath: Fixtures.model("tiny-safetensors") + "/config.json", toPath: empty + "/config.json")
        #expect(message(empty).contains("no model weights found (looked for model.safetensors, pytorch_model.bin)"))
    }

    @Test("a checkpoint whose shapes disagree with config.json is refused naming the tensor")
    func shapeMismatch() throws {
        let dir = Fixtures.temporaryDirectory()
        let fm = FileManager.default
        try fm.copyItem(atPath: Fixtures.model("tiny-safetensors") + "/model.safetensors", toPath: dir + "/model.safetensors")
        var config = try String(contentsOfFile: Fixtures.model("tiny-safetensors") + "/config.json", encoding: .utf8)
        config = config.replacingOccurrences(of: "\"n_positions\": 128", with: "\"n_positions\": 64")
        try config.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        do {
            _ = try ModelLoader.load(directory: dir)
            Issue.record("loaded a mismatched checkpoint")
        } catch {
            #expect(error.description.contains("wpe.weight") && error.description.contains("[128, 64]"))
        }
    }

    @Test("module tree matches PyTorch's repr of GPT2LMHeadModel")
    func moduleTree() throws {
        let config = try GPT2Config.load(file: Fixtures.model("tiny-safetensors") + "/config.json")
        let expected = try String(contentsOfFile: Fixtures.reference("module_tree.txt"), encoding: .utf8)
        #expect(ModuleTree.describe(config) + "\n" == expected)
    }
}
