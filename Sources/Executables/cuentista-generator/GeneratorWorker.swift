import ArgumentParser
import Kernels
import Services
import WorkerCommandLine

extension WeightPrecision: ExpressibleByArgument {}

@main
struct GeneratorWorker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cuentista-generator",
        abstract: "The generator service: streams generations for clients of the coordinator (service 'generate').",
        discussion: """
        Start the coordinator first (`cuentista coordinator --data-dir DATA`), then:
          cuentista-generator --coordinator tcp://127.0.0.1:5555 --data-dir DATA --model models/base
        Requests that arrive while others decode join the batch at the next step (continuous
        batching, --max-batch sequences at once); past --max-queue waiting requests, new ones are
        refused with OVERLOADED. `cuentista jobs submit train ... --deploy` (or a switch_model
        request) moves it to another model; requests in flight finish on the one they started
        with. --bind also serves clients directly, without the coordinator. SIGTERM or Ctrl-C
        finishes the requests in flight, refuses new ones, then exits.
        """)

    @OptionGroup var worker: WorkerArguments
    @Option(help: "Model directory to serve, relative to --data-dir.") var model: String
    @Option(help: "Sequences decoded together (KV-cache slots).") var maxBatch = 8
    @Option(help: "Requests waiting for a slot before new ones are refused with OVERLOADED.") var maxQueue = 32
    @Option(help: "Precision of the weights decode steps read: fp32 | bf16.") var precision: WeightPrecision = .fp32
    @Option(help: "Positions per slot (default: the model's context); lowers the KV cache's memory.") var maxLength: Int?
    @Option(help: "Also accept clients directly on this endpoint, for development: loopback or ipc:// only, no keys, no model switches (Majordomo client framing, service 'generate').") var bind: String?

    func run() throws {
        var options = GeneratorOptions()
        options.slots = maxBatch
        options.maxQueue = maxQueue
        options.precision = precision
        options.maxLength = maxLength
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be at least 1") }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue must not be negative") }
        try GeneratorMain.run(worker.settings, model: model, options: options, bind: bind)
    }
}
