import Checkpoint
import Foundation
import GPT2
import Testing
import TestSupport

@Suite("Saving models")
struct SaveLoadTests {
    @Test("save then load round-trips bit-exactly, in the layout transformers writes")
    func roundTrip() throws {
        let original = try ModelLoader.load(directory: Fixtures.model("tiny-legacy"))
        let out = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        try ModelLoader.save(original.model, to: out)
        let reloaded = try ModelLoader.load(directory: out)
        #expect(reloaded.format == .safetensors)
        #expect(reloaded.model.config == original.model.config)
        #expect(Array(reloaded.model.parameters.storage) == Array(original.model.parameters.storage))

        // Same tensor names, shapes and metadata as transformers' own save_pretrained.
        let ours = try SafeTensors.read(path: out + "/model.safetensors")
        let theirs = try SafeTensors.read(path: Fixtures.model("tiny-safetensors") + "/model.safetensors")
        #expect(ours.metadata["format"] == "pt")
        #expect(Set(ours.tensors.map(\.name)) == Set(theirs.tensors.map(\.name)))
        for tensor in theirs.tensors { #expect(ours[tensor.name]?.shape == tensor.shape) }
        #expect(FileManager.default.fileExists(atPath: out + "/config.json"))
        // Nothing temporary is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["config.json", "model.safetensors"])
    }
}
