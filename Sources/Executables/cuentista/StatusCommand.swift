import ArgumentParser
import Foundation
import Services
import Wire

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Registered workers per service and the jobs queued or running.")
    @OptionGroup var connection: ClientArguments
    @Option(help: "Exit 1 unless a worker with this id is registered (a readiness probe).") var requireWorker: String?

    func run() throws {
        let status: StatusReply
        do { status = try connection.client().status() } catch {
            throw ValidationError("\(error)")
        }
        if let requireWorker {
            guard status.services.contains(where: { $0.workers.contains { $0.workerId == requireWorker } }) else {
                print("\(requireWorker) is not registered")
                throw ExitCode(1)
            }
            print("\(requireWorker) is registered")
            return
        }
        StatusCommand.show(status)
    }

    static func show(_ status: StatusReply) {
        print("service    workers")
        for name in ["tokenize", "prepare", "train", "generate"] + status.services.map(\.service).filter({ !["tokenize", "prepare", "train", "generate"].contains($0) }) {
            let workers = status.services.first { $0.service == name }?.workers ?? []
            print("\(pad(name, 10)) \(workers.count)\(workers.isEmpty ? "" : "  " + workers.map { $0.workerId + ($0.model.isEmpty ? "" : " (\($0.model))") }.joined(separator: ", "))")
        }
        print("jobs waiting or running: \(status.jobs.count + Int(status.jobsNotListed))")
        for job in status.jobs {
            print("  \(job.jobId)  \(job.kind)  \(JobsCommand.name(job.state))\(job.worker.isEmpty ? "" : "  on \(job.worker)")")
        }
        if status.jobsNotListed > 0 { print("  … and \(status.jobsNotListed) more queued (cuentista jobs list shows every job)") }
    }
}
