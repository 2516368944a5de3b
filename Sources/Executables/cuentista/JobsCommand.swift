import ArgumentParser
import Foundation
import PreparedFormat
import GPT2
import Jobs
import Services
import Wire

struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Queue prepare and train jobs in the coordinator and watch them.",
        discussion: """
        Paths are relative to the coordinator's data directory, which every worker shares:
          cuentista jobs submit prepare --input corpus/products.jsonl --tokenizer models/base --out prepared/products --follow
          cuentista jobs submit train --model models/base --data prepared/products --out runs/ft --epochs 3 --follow
          cuentista jobs list;  cuentista jobs follow job-000002;  cuentista jobs cancel job-000002
        """,
        subcommands: [Submit.self, List.self, Status.self, Cancel.self, Follow.self])

    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue a job (the same options as the local command).", subcommands: [SubmitPrepare.self, SubmitTrain.self])
    }

    struct SubmitPrepare: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "prepare", abstract: "Queue a `prepare` job.")
        @OptionGroup var arguments: PrepareArguments
        @OptionGroup var connection: ClientArguments
        @Flag(help: "Stay and show the job's progress until it ends.") var follow = false

        func run() throws { try JobsCommand.submit(.prepare(arguments.spec), connection, follow: follow) }
    }

    struct SubmitTrain: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "train", abstract: "Queue a `train` job.")
        @OptionGroup var arguments: TrainArguments
        @OptionGroup var connection: ClientArguments
        @Flag(help: "Switch the generator service to the best model when the job succeeds.") var deploy = false
        @Flag(help: "Stay and show the job's progress until it ends.") var follow = false

        func run() throws {
            var spec = arguments.spec
            spec.deploy = deploy
            try JobsCommand.submit(.train(spec), connection, follow: follow)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every job the coordinator knows, oldest first.")
        @OptionGroup var connection: ClientArguments

        func run() throws {
            let reply = try JobsCommand.call(connection, JobRequest(version: .v1, request: .list(true)))
            guard case let .list(list) = reply.reply else { return }
            print("job          kind     state      attempts  worker                    result / error")
            for job in list.jobs {
                print("\(pad(job.jobId, 12)) \(pad(job.kind, 8)) \(pad(JobsCommand.name(job.state), 10)) \(pad(String(job.attempts), 9)) \(pad(job.worker, 25)) \(job.result.isEmpty ? job.error : job.result)")
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One job's state.")
        @Argument(help: "Job id.") var id: String
        @OptionGroup var connection: ClientArguments

        func run() throws {
            let reply = try JobsCommand.call(connection, JobRequest(version: .v1, request: .status(id)))
            if case let .status(status) = reply.reply { JobsCommand.printStatus(status) }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a queued or running job.")
        @Argument(help: "Job id.") var id: String
        @OptionGroup var connection: ClientArguments

        func run() throws {
            let reply = try JobsCommand.call(connection, JobRequest(version: .v1, request: .cancel(id)))
            if case let .status(status) = reply.reply { JobsCommand.printStatus(status) }
        }
    }

    struct Follow: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a job's progress (step, loss, tokens/s, ETA, evaluations) until it ends.")
        @Argument(help: "Job id.") var id: String
        @OptionGroup var connection: ClientArguments

        func run() throws { try JobsCommand.follow(id, connection) }
    }

    static func call(_ connection: ClientArguments, _ request: JobRequest, client: ServiceClient? = nil) throws -> JobReply {
        do { return try (client ?? connection.client()).jobs(request) } catch let error as ServiceError {
            throw ValidationError(error.field.isEmpty ? error.message : "\(error.message)")
        }
    }

    static func submit(_ spec: JobSpec, _ connection: ClientArguments, follow: Bool) throws {
        // The coordinator's own check, before anything is sent (paths relative to its data directory).
        do { try spec.checkValues(in: DataDirectory(root: "")) } catch { throw ValidationError(error.description) }
        try checkFiles(spec, dataDirectory: connection.dataDir)
        // One connection for the submission and the follow: without CurveZMQ the job belongs
        // to the connection that submitted it.
        let client = try connection.client()
        let reply = try call(connection, JobRequest(version: .v1, request: .submit(spec.wire)), client: client)
        guard case let .status(status) = reply.reply else { return }
        print("\(status.jobId) queued (\(status.kind))")
        if follow { try self.follow(status.jobId, connection, client: client) }
    }

    /// What the coordinator cannot check (it never reads the data volume) but this client can
    /// when it sees the same data directory: a train job whose prepared blocks are longer than
    /// the model's context would only fail on its worker. Files this client cannot read are
    /// left to the worker's own check.
    static func checkFiles(_ spec: JobSpec, dataDirectory: String) throws {
        guard case let .train(train) = spec, !train.model.hasPrefix("init:") else { return }
        let root = dataDirectory as NSString
        guard let config = try? GPT2Config.load(file: (root.appendingPathComponent(train.model) as NSString).appendingPathComponent("config.json")),
              let data = try? PreparedData(directory: root.appendingPathComponent(train.data)) else { return }
        if data.manifest.maxLength > config.nPositions {
            throw ValidationError("--data \(train.data) holds blocks of \(data.manifest.maxLength) tokens, longer than the context of --model \(train.model) (\(config.nPositions)): prepare it again with --max-length \(config.nPositions) or less")
        }
    }

    /// Streams progress; exits non-zero unless the job succeeded.
    static func follow(_ id: String, _ connection: ClientArguments, client: ServiceClient? = nil) throws {
        let result = try follow(id, client: client ?? connection.client())
        printEpochs(result.epochs)
        printStatus(result.status)
        guard result.status.state == .succeeded else { throw ExitCode(1) }
    }

    struct EpochRow {
        let epoch: UInt32
        let training: Float
        let validation: Float
        let perplexity: Float
    }

    /// Shows a job's progress (a bar on standard error) until it ends; its final status and
    /// the evaluations it reported, one row per evaluation.
    static func follow(_ id: String, client: ServiceClient) throws -> (status: JobStatus, epochs: [EpochRow]) {
        let line = ProgressLine()
        var epochs: [EpochRow] = []
        // A job may run for hours: no overall timeout, but the coordinator must stay reachable.
        let reply = try client.jobs(JobRequest(version: .v1, request: .follow(id)), timeoutMilliseconds: 24 * 3600 * 1000) { partial in
            switch partial.reply {
            case let .status(status):
                line.note("\(status.jobId): \(name(status.state))\(status.worker.isEmpty ? "" : " on \(status.worker)")")
            case let .progress(progress):
                if let eval = progress.eval {
                    epochs.append(EpochRow(epoch: progress.epoch + 1, training: progress.loss, validation: eval.loss, perplexity: eval.perplexity))
                    line.note(String(format: "eval after step %d (epoch %d): loss %.4f  perplexity %.2f", progress.step, progress.epoch + 1, eval.loss, eval.perplexity))
                } else if !progress.checkpoint.isEmpty {
                    line.note("checkpoint \(progress.checkpoint)")
                } else {
                    let fraction: Double = Double(progress.step) / Double(max(progress.totalSteps, 1))
                    let text: String = String(format: "step %d/%d  loss %.4f  %.0f tok/s  ETA %@", progress.step, progress.totalSteps,
                                              progress.loss, progress.tokensPerSecond, ProgressLine.clock(progress.etaSeconds))
                    line.show(fraction, text, last: progress.step == progress.totalSteps)
                }
            default: break
            }
        }
        line.finish()
        guard case let .status(status) = reply.reply else { throw ValidationError("\(id): the coordinator's last reply was not a status") }
        return (status, epochs)
    }

    static func printEpochs(_ epochs: [EpochRow]) {
        guard !epochs.isEmpty else { return }
        print(" Epoch | Training Loss | Validation Loss | Perplexity")
        for row in epochs {
            print(String(format: " %5d | %13.6f | %15.6f | %10.2f", row.epoch, row.training, row.validation, row.perplexity))
        }
    }

    static func printStatus(_ status: JobStatus) {
        print("\(status.jobId)  \(status.kind)  \(name(status.state))  attempts \(status.attempts)\(status.worker.isEmpty ? "" : "  worker \(status.worker)")")
        if !status.result.isEmpty { print("result: \(status.result)") }
        if !status.error.isEmpty { print("error: \(status.error)") }
    }

    static func name(_ state: JobState) -> String {
        switch state {
        case .unspecified: "unknown"
        case .queued: "queued"
        case .running: "running"
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .cancelled: "cancelled"
        }
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
