import ArgumentParser
import Services
import WorkerCommandLine

@main
struct PrepWorker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cuentista-prep",
        abstract: "The dataset-prep worker: runs `prepare` jobs queued in the coordinator.",
        discussion: """
        Start the coordinator first (`cuentista coordinator --data-dir DATA`), then:
          cuentista-prep --coordinator tcp://127.0.0.1:5555 --data-dir DATA
        Jobs come from `cuentista jobs submit prepare ...`; their paths are relative to DATA,
        which every worker must see (a shared volume across machines). Ctrl-C or SIGTERM stops
        the worker; a job in progress goes back to the queue.
        """)

    @OptionGroup var worker: WorkerArguments

    func run() throws { try JobWorkerMain.run(kind: "prepare", worker.settings) }
}
