import Foundation
import Testing

/// `cuentista up`, `status` and `jobs` as a user types them, against live processes.
@Suite("Services: cuentista up / status / jobs", .serialized)
struct CommandLineTests {
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        // A watchdog, so that a hang fails the test instead of stopping the suite.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-k", "10", "600", LiveSystem.binaries.appendingPathComponent("cuentista").path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("up starts every process, status lists them, jobs submit --follow prints progress and the epoch table, Ctrl-C stops all")
    func upStatusJobs() throws {
        let system = try LiveSystem()
        try system.addModel("tiny-safetensors", as: "tiny")
        try system.addCorpus()
        let up = try system.start("up", "cuentista", ["up", "--data-dir", system.data, "--bind", system.endpoint, "--tokenizer", "models/tiny"])
        try system.waitForWorkers("train", count: 1)
        try system.waitForWorkers("prepare", count: 1)
        try system.waitForWorkers("tokenize", count: 1)
        // The operator: the CLI finds the coordinator's operator endpoint in the data directory.
        let connection = ["--data-dir", system.data]

        let status = try Self.run(["status"] + connection)
        #expect(status.status == 0)
        #expect(status.output.contains("tokenize   1") && status.output.contains("prepare    1") && status.output.contains("train      1"), "\(status.output)")

        let prepare = try Self.run(["jobs", "submit", "prepare", "--input", "corpus/products.jsonl", "--tokenizer", "models/tiny",
                                    "--out", "prepared/p", "--template", "{product_title}\\n{product_description}", "--max-length", "64",
                                    "--limit", "60", "--follow"] + connection)
        #expect(prepare.status == 0, "\(prepare.output)")
        #expect(prepare.output.contains("job-000001 queued (prepare)") && prepare.output.contains("succeeded"))

        let train = try Self.run(["jobs", "submit", "train", "--model", "models/tiny", "--data", "prepared/p", "--out", "runs/t",
                                  "--epochs", "2", "--batch-size", "4", "--lr", "1e-3", "--follow"] + connection)
        #expect(train.status == 0, "\(train.output)")
        #expect(train.output.contains("Epoch | Training Loss | Validation Loss"), "\(train.output)")
        #expect(train.output.contains("result: runs/t/final"))
        #expect(train.output.contains("eval after step"))

        let list = try Self.run(["jobs", "list"] + connection)
        #expect(list.output.split(separator: "\n").filter { $0.contains("succeeded") }.count == 2, "\(list.output)")
        let one = try Self.run(["jobs", "status", "job-000002"] + connection)
        #expect(one.output.contains("job-000002  train  succeeded"))
        let missing = try Self.run(["jobs", "status", "job-000099"] + connection)
        #expect(missing.status != 0 && missing.output.contains("no job job-000099"))
        let invalid = try Self.run(["jobs", "submit", "train", "--model", "models/tiny", "--data", "prepared/p", "--out", "runs/x", "--lr", "0"] + connection)
        #expect(invalid.status != 0 && invalid.output.contains("invalid --lr"), "\(invalid.output)")
        // An ordinary client (the TCP endpoint, no CurveZMQ: its connection is its identity) sees
        // none of the operator's jobs and cannot cancel them.
        let stranger = ["--coordinator", system.endpoint]
        #expect(try Self.run(["jobs", "list"] + stranger).output.split(separator: "\n").filter { $0.contains("succeeded") }.isEmpty)
        let foreign = try Self.run(["jobs", "cancel", "job-000002"] + stranger)
        #expect(foreign.status != 0 && foreign.output.contains("no job job-000002"), "\(foreign.output)")

        // Ctrl-C: every child stops, then `up` itself.
        kill(up.processIdentifier, SIGINT)
        up.waitUntilExit()
        let log = system.log("up")
        let pids = log.split(separator: "\n").compactMap { line -> Int32? in
            guard line.hasPrefix("started "), let open = line.range(of: "(pid ") else { return nil }
            return Int32(line[open.upperBound...].prefix { $0.isNumber })
        }
        #expect(pids.count == 4, "\(log)")
        #expect(pids.allSatisfy { kill($0, 0) != 0 }, "a child of up is still running")
        #expect(log.contains("stopped coordinator"))
    }
}
