import ArgumentParser
import GPT2

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Rewrite any supported model directory as config.json + model.safetensors.",
        discussion: """
        Useful for old hub uploads that only have pytorch_model.bin: the result loads faster \
        (memory-mapped) and needs no pickle. Example:
          cuentista convert --model ~/models/gpt2-small-spanish --out ~/models/gpt2-small-spanish-st
        """)

    @Option(help: "The model directory to read.")
    var model: String

    @Option(help: "The directory to write (created if needed).")
    var out: String

    func run() throws {
        do {
            let loaded = try ModelLoader.load(directory: model)
            try ModelLoader.save(loaded.model, to: out)
            print("wrote \(out)/model.safetensors and \(out)/config.json (\(loaded.model.parameterCount) parameters)")
        } catch {
            throw ValidationError(error.description)
        }
    }
}
