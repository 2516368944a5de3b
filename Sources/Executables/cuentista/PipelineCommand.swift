import ArgumentParser
import Foundation
import GPT2
import Jobs
import Messaging
import Prep
import RunOptions
import Services
import Tokenizer
import Training
import Wire

/// The notebook's whole story on the embedded corpus, through the real services.
struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "The whole story on the embedded corpus: a model learns Spanish, we look at its next-token choices, generate with each strategy, fine-tune it on product descriptions through the services, and see the style change.",
        discussion: """
          cuentista pipeline                        # about 4 minutes on 2 cores; writes cuentista-run/
          cuentista pipeline --quick                # under 2 minutes, smaller everything
          cuentista pipeline --model ~/models/gpt2-small-spanish   # fine-tune your downloaded model instead
          cuentista pipeline --coordinator tcp://host:5555 --data-dir /shared/data   # use running services
        The run folder holds the models, the logs, loss.svg and report.md.
        """)

    @Option(help: "The run folder (with our own services, also their data directory).") var dataDir = "cuentista-run"
    @Option(help: "A base model directory to fine-tune instead of pre-training one on the embedded corpus.") var model: String?
    @Option(help: "Use running services at this coordinator endpoint (their --data-dir must be this run's --data-dir).") var coordinator: String?
    @Option(help: "Endpoint for the services this command starts.") var bind = CoordinatorEndpoint.local
    @Flag(help: "A small run (under 2 minutes): tiny model, fewer epochs, fewer products.") var quick = false
    @Option(help: "Fine-tune epochs (default 8; --quick 3).") var epochs: Int?
    @Flag(help: "Replace the run already in --data-dir (its models, runs, data, logs and report; with --coordinator, only this pipeline's own).")
    var overwrite = false
    @Option(help: "Fine-tune learning rate (default 5e-4 with 30 warmup steps for the embedded model; 2e-5 for --model, as the notebook).") var lr: Float?

    /// Bad options are refused before any service starts or any file is written.
    func validate() throws {
        var options = TrainingOptions()
        if let epochs { options.epochs = epochs }
        if let lr { options.lr = lr }
        do { try options.validate() } catch { throw ValidationError("\(error)") }
        if let model {
            let config = ((model as NSString).standardizingPath as NSString).appendingPathComponent("config.json")
            guard FileManager.default.fileExists(atPath: config) else {
                throw ValidationError("--model \(model): not a model directory (no config.json there)")
            }
        }
    }

    func run() throws {
        let pipeline = try PipelineRun(options: self)
        do {
            try pipeline.run()
        } catch let failure as PipelineFailure {
            pipeline.stopServices()
            throw ValidationError(failure.description)
        }
        pipeline.stopServices()
    }
}

/// The pipeline will not start here; nothing was changed.
struct PipelineRefused: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct PipelineFailure: Error, CustomStringConvertible {
    let step: String
    let reason: String
    let log: String?
    var description: String { "step '\(step)' failed: \(reason)" + (log.map { "\nsee \($0)" } ?? "") }
}
