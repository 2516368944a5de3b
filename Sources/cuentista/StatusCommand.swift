import ArgumentParser
import Foundation
import Services
import Wire

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Registered workers per service and the jobs queued or running.")
    @OptionGroup var connection: ClientArguments

    func run() throws {
        let status: StatusReply
        do { status = try connection.client().status() } catch {
            throw ValidationError("\(error)")
        }
        StatusCommand.show(status)
    }

    static func show(_ status: StatusReply) {
        print("service    workers")
        for name in ["tokenize", "prepare", "train", "generate"] + status.services.map(\.service).filter({ !["tokenize", "prepare", "train", "generate"].contains($0) }) {
            let workers = status.services.first { $0.service == name }?.workers ?? []
            print("\(pad(name, 10)) \(workers.count)\(workers.isEmpty ? "" : "  " + workers.map { $0.workerId + ($0.model.isEmpty ? "" : " (\($0.model))") }.joined(separator: ", "))")
        }
        print("jobs waiting or running: \(status.jobs.count)")
        for job in status.jobs {
            print("  \(job.jobId)  \(job.kind)  \(JobsCommand.name(job.state))\(job.worker.isEmpty ? "" : "  on \(job.worker)")")
        }
    }
}
