import Foundation
import JobSpecs
import Messaging
import Services
import Testing
import Wire

/// Workers and the coordinator dying, stopping and restarting: no job is lost.
@Suite("Services: faults", .serialized)
struct FaultTests {
    /// A system with prepared data in place (prepared through a real prepare job).
    static func systemWithData(trainers: [String]) throws -> LiveSystem {
        let system = try LiveSystem()
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.addCorpus()
        try system.startCoordinator()
        try system.startWorker("prep", "cuentista-prep")
        let prepared = try system.submit(.submit(JobSubmit(version: .v1, spec: .prepare(JobFlowTests.prepareSpec(limit: 200).wire))))
        try system.waitForWorkers("prepare", count: 1)
        #expect(try system.waitForJob(prepared.jobId).state == .succeeded)
        for (index, name) in trainers.enumerated() {
            try system.startWorker(name, "cuentista-trainer")
            try system.waitForWorkers("train", count: index + 1)
        }
        return system
    }

    /// Follows a job until `until` says so, from its progress events.
    static func follow(_ system: LiveSystem, _ id: String, until: @escaping (JobProgress) -> Bool) throws {
        let client = try system.client(timeoutMilliseconds: 60_000)
        try client.client.send(service: InternalService.jobs, body: JobRequest(version: .v1, request: .follow(id)).wire())
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, let reply = try client.client.receive(timeoutMilliseconds: 30_000) {
            if reply.final { return }
            if case let .progress(progress) = try JobReply(wire: reply.body).reply, until(progress) { return }
        }
    }

    @Test("kill -9 of the trainer mid-job: the job resumes from its checkpoint on the second trainer and completes")
    func killedTrainer() throws {
        let system = try Self.systemWithData(trainers: ["trainer-a", "trainer-b"])
        let job = try system.submit(.submit(JobSubmit(version: .v1, spec: .train(JobFlowTests.trainSpec(epochs: 4, saveEvery: 10).wire))))
        try Self.follow(system, job.jobId) { !$0.checkpoint.isEmpty }
        let running = try system.jobStatus(job.jobId)
        #expect(running.state == .running)
        let victim = running.worker, survivor = victim == "trainer-a" ? "trainer-b" : "trainer-a"
        system.kill9(victim)
        let final = try system.waitForJob(job.jobId)
        #expect(final.state == .succeeded, "\(final.error)\n\(system.log("coordinator"))")
        #expect(final.attempts == 2)
        #expect(final.worker == survivor)
        #expect(system.log(survivor).contains("resuming"))
        #expect(system.log("coordinator").contains("\(job.jobId) requeued"))
        #expect(FileManager.default.fileExists(atPath: "\(system.data)/runs/ft/final/model.safetensors"))
    }

    @Test("SIGTERM hands the running job back at a checkpoint; another trainer finishes it without an extra attempt")
    func handBack() throws {
        let system = try Self.systemWithData(trainers: ["trainer-a"])
        let job = try system.submit(.submit(JobSubmit(version: .v1, spec: .train(JobFlowTests.trainSpec(epochs: 6).wire))))
        try Self.follow(system, job.jobId) { $0.step >= 3 }
        #expect(system.stop("trainer-a") == 0)
        let handedBack = try system.jobStatus(job.jobId)
        #expect(handedBack.state == .queued)
        #expect(handedBack.attempts == 0)
        #expect(system.log("trainer-a").contains("handing \(job.jobId) back"))
        try system.startWorker("trainer-b", "cuentista-trainer")
        let final = try system.waitForJob(job.jobId)
        #expect(final.state == .succeeded, "\(final.error)")
        #expect(final.attempts == 1)
        #expect(system.log("trainer-b").contains("resuming"))
    }

    @Test("kill -9 of the coordinator with jobs queued and finished: a restarted one has them all, and runs the queued ones")
    func coordinatorRestart() throws {
        let system = try LiveSystem()
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.addCorpus()
        try system.startCoordinator()
        let prepare = try system.submit(.submit(JobSubmit(version: .v1, spec: .prepare(JobFlowTests.prepareSpec().wire))))
        let train = try system.submit(.submit(JobSubmit(version: .v1, spec: .train(JobFlowTests.trainSpec(epochs: 1).wire))))
        system.kill9("coordinator")
        try system.startCoordinator()
        let reply = try system.client().jobs(JobRequest(version: .v1, request: .list(true)))
        guard case let .list(list) = reply.reply else { Issue.record("no list"); return }
        #expect(list.jobs.map(\.jobId) == [prepare.jobId, train.jobId])
        #expect(list.jobs.allSatisfy { $0.state == .queued })

        try system.startWorker("prep", "cuentista-prep")
        try system.startWorker("trainer", "cuentista-trainer")
        #expect(try system.waitForJob(train.jobId).state == .succeeded)
        system.kill9("coordinator")
        try system.startCoordinator()
        #expect(try system.jobStatus(prepare.jobId).state == .succeeded)
        #expect(try system.jobStatus(train.jobId).state == .succeeded)
        // New ids continue after the stored ones.
        let next = try system.submit(.submit(JobSubmit(version: .v1, spec: .prepare(JobFlowTests.prepareSpec().wire))))
        #expect(next.jobId == "job-000003")
    }

    @Test("cancel: a queued job at once, a running one within a step")
    func cancel() throws {
        let system = try Self.systemWithData(trainers: ["trainer-a"])
        let running = try system.submit(.submit(JobSubmit(version: .v1, spec: .train(JobFlowTests.trainSpec(out: "runs/a", epochs: 50).wire))))
        let queued = try system.submit(.submit(JobSubmit(version: .v1, spec: .train(JobFlowTests.trainSpec(out: "runs/b", epochs: 1).wire))))
        try Self.follow(system, running.jobId) { $0.step >= 2 }
        #expect(try system.submit(.cancel(queued.jobId)).state == .cancelled)
        _ = try system.submit(.cancel(running.jobId))
        let final = try system.waitForJob(running.jobId, timeout: 30)
        #expect(final.state == .cancelled)
        #expect(try system.jobStatus(queued.jobId).state == .cancelled)
        // The worker is free again.
        let after = try system.submit(.submit(JobSubmit(version: .v1, spec: .train(JobFlowTests.trainSpec(out: "runs/c", epochs: 1).wire))))
        #expect(try system.waitForJob(after.jobId).state == .succeeded)
    }

    @Test("a job whose workers keep dying fails after the last attempt, with the reason")
    func attemptsRunOut() throws {
        let system = try LiveSystem(coordinatorArguments: ["--max-attempts", "2"])
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.addCorpus()
        try system.startCoordinator()
        try system.startWorker("prep", "cuentista-prep")
        try system.waitForWorkers("prepare", count: 1)
        let prepared = try system.submit(.submit(JobSubmit(version: .v1, spec: .prepare(JobFlowTests.prepareSpec(limit: 200).wire))))
        #expect(try system.waitForJob(prepared.jobId).state == .succeeded)
        let job = try system.submit(.submit(JobSubmit(version: .v1, spec: .train(JobFlowTests.trainSpec(epochs: 50).wire))))
        for (attempt, name) in ["trainer-a", "trainer-b"].enumerated() {
            try system.startWorker(name, "cuentista-trainer")
            try Self.follow(system, job.jobId) { $0.step >= 1 }
            #expect(try system.jobStatus(job.jobId).attempts == UInt32(attempt + 1))
            system.kill9(name)
            if attempt == 0 {
                // Back in the queue once the coordinator has missed the heartbeats.
                let deadline = Date().addingTimeInterval(10)
                while try system.jobStatus(job.jobId).state == .running && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
                #expect(try system.jobStatus(job.jobId).state == .queued)
            }
        }
        let final = try system.waitForJob(job.jobId, timeout: 15)
        #expect(final.state == .failed)
        #expect(final.error.contains("attempt 2 of 2"), "\(final.error)")
    }

    @Test("a frozen trainer (SIGSTOP: connected, silent) loses its job after 3 missed heartbeats; thawed, it gives it up")
    func frozenTrainer() throws {
        let system = try Self.systemWithData(trainers: ["trainer-a", "trainer-b"])
        let job = try system.submit(.submit(JobSubmit(version: .v1, spec: .train(JobFlowTests.trainSpec(epochs: 4, saveEvery: 10).wire))))
        try Self.follow(system, job.jobId) { !$0.checkpoint.isEmpty }
        let frozen = try system.jobStatus(job.jobId).worker, other = frozen == "trainer-a" ? "trainer-b" : "trainer-a"
        let stoppedAt = Date()
        system.signal(frozen, SIGSTOP)
        var status = try system.jobStatus(job.jobId)
        while status.worker != other && Date().timeIntervalSince(stoppedAt) < 15 {
            Thread.sleep(forTimeInterval: 0.1)
            status = try system.jobStatus(job.jobId)
        }
        let takeover = Date().timeIntervalSince(stoppedAt)
        #expect(status.worker == other, "\(system.log("coordinator"))")
        #expect(takeover >= 2.5 && takeover < 6, "took \(takeover) s")
        system.signal(frozen, SIGCONT)
        let final = try system.waitForJob(job.jobId)
        #expect(final.state == .succeeded, "\(final.error)")
        #expect(final.worker == other)
        #expect(final.attempts == 2)
        // The thawed worker reconnected and was told to drop its copy.
        let deadline = Date().addingTimeInterval(10)
        while !system.log(frozen).contains("cancelling \(job.jobId)") && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(system.log(frozen).contains("cancelling \(job.jobId)"), "\(system.log(frozen))")
    }

    @Test("kill -9 of the coordinator while a job runs: the restarted one lets the trainer keep it; no other trainer starts it")
    func coordinatorRestartWithRunningJob() throws {
        let system = try Self.systemWithData(trainers: ["trainer-a", "trainer-b"])
        let job = try system.submit(.submit(JobSubmit(version: .v1, spec: .train(JobFlowTests.trainSpec(epochs: 6, saveEvery: 10).wire))))
        try Self.follow(system, job.jobId) { $0.step >= 2 }
        let holder = try system.jobStatus(job.jobId).worker, other = holder == "trainer-a" ? "trainer-b" : "trainer-a"
        system.kill9("coordinator")
        try system.startCoordinator()
        let final = try system.waitForJob(job.jobId)
        #expect(final.state == .succeeded, "\(final.error)")
        #expect(final.attempts == 1)
        #expect(final.worker == holder)
        #expect(!system.log(other).contains("running \(job.jobId)"), "\(system.log(other))")
        #expect(system.log("coordinator").contains("worker \(holder) is still running \(job.jobId)"))
    }
}
