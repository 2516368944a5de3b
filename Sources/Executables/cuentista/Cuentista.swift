import ArgumentParser
import Messaging

@main
struct Cuentista: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cuentista",
        abstract: "GPT-2 text generation and fine-tuning on CPUs.",
        discussion: """
        Loads Hugging Face GPT-2 model directories (config.json with model.safetensors or \
        pytorch_model.bin) exactly as downloaded from the hub.
        """,
        subcommands: [InspectCommand.self, ConvertCommand.self, TokenizeCommand.self, TokenizerCommand.self,
                      NextCommand.self, GenerateCommand.self, CorpusCommand.self, PrepareCommand.self, TrainCommand.self,
                      PipelineCommand.self, CoordinatorCommand.self, JobsCommand.self, StatusCommand.self, UpCommand.self, KeysCommand.self, DeployCommand.self])

    /// A bare `--remote` means the coordinator on this machine.
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        for index in arguments.indices.reversed() where arguments[index] == "--remote" {
            if index + 1 == arguments.count || arguments[index + 1].hasPrefix("-") {
                arguments.insert(CoordinatorEndpoint.local, at: index + 1)
            }
        }
        Self.main(arguments)
    }
}
