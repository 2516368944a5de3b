import ArgumentParser

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
                      CoordinatorCommand.self, JobsCommand.self, StatusCommand.self, UpCommand.self, KeysCommand.self])
}
