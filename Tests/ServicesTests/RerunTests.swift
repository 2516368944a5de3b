import Foundation
import Testing

/// A second system on a data directory where one already runs: refused before it touches
/// anything (issue 17: `up` truncated the running coordinator's log, printed the other system's
/// workers and exited 0 after its own coordinator failed).
@Suite("Services: one system per data directory", .serialized)
struct RerunTests {
    @Test("a second coordinator, and `cuentista up`, on a data directory in use: refused naming the running pid; the first keeps serving, its log untouched")
    func secondSystemRefused() throws {
        let system = try LiveSystem()
        try system.startCoordinator()
        try system.waitUntilAnswering()
        let pid = try #require(system.processes["coordinator"]?.processIdentifier)
        let logBefore = system.log("coordinator")

        _ = try system.start("second", "cuentista", ["coordinator", "--bind", "tcp://127.0.0.1:\(LiveSystem.freePort())", "--data-dir", system.data])
        #expect(system.waitForExit("second", timeout: 20) != 0)
        #expect(system.log("second").contains("already running") && system.log("second").contains("pid \(pid)"), "\(system.log("second"))")

        _ = try system.start("up", "cuentista", ["up", "--data-dir", system.data, "--bind", "tcp://127.0.0.1:\(LiveSystem.freePort())"])
        #expect(system.waitForExit("up", timeout: 20) != 0)
        let up = system.log("up")
        #expect(up.contains("already running") && up.contains("pid \(pid)") && !up.contains("started "), "\(up)")
        #expect(system.log("coordinator").hasPrefix(logBefore), "the running coordinator's log was truncated")
        #expect(system.isRunning("coordinator"))
        #expect(system.stop("coordinator") == 0)
        // Once it is gone, the data directory is free again.
        try system.startCoordinator()
        try system.waitUntilAnswering()
        #expect(system.stop("coordinator") == 0)
    }
}

@Suite("cuentista deploy", .serialized)
struct DeployCommandTests {
    @Test("deploy switches the generators for the operator, and is refused to an ordinary client")
    func deploy() throws {
        let system = try GeneratorServiceTests.system()
        try system.addSlowModel(as: "other")
        let switched = try CommandLineTests.run(["deploy", "models/other", "--data-dir", system.data])
        #expect(switched.status == 0 && switched.output.contains("every generator serves models/other"), "\(switched.output)")
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("deploy-\(UUID().uuidString)").path
        let refused = try CommandLineTests.run(["deploy", "models/tiny", "--coordinator", system.endpoint, "--data-dir", elsewhere])
        #expect(refused.status != 0 && refused.output.contains("only an admin"), "\(refused.output)")
        #expect(system.stop("coordinator") == 0)
    }
}
