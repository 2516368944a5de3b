import ArgumentParser
import Services
import WorkerCommandLine

@main
struct TrainerWorker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cuentista-trainer",
        abstract: "The trainer worker: runs `train` jobs queued in the coordinator.",
        discussion: """
        Start the coordinator first (`cuentista coordinator --data-dir DATA`), then:
          cuentista-trainer --coordinator tcp://127.0.0.1:5555 --data-dir DATA
        Jobs come from `cuentista jobs submit train ...`; models, data and checkpoints live under
        DATA, which every worker must see. If this worker dies, the job resumes on another one
        from its last complete checkpoint. Ctrl-C or SIGTERM stops at the next step with a
        checkpoint and hands the job back.
        """)

    @OptionGroup var worker: WorkerArguments

    func run() throws { try JobWorkerMain.run(kind: "train", worker.settings) }
}
