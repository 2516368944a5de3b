import Foundation
import Testing

let canMakeNamespaces = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")

/// deploy/multihost-test.sh: hosts in network namespaces, TCP and CurveZMQ between them.
@Suite("Services: several hosts (network namespaces)")
struct MultiHostTests {
    @Test("a job survives kill -9 of its trainer across hosts, the generator serves the result, an unlisted key gets nothing",
          .enabled(if: canMakeNamespaces, "needs root and iproute2 (CI has both)"))
    func multiHost() throws {
        let process = Process()
        // A watchdog: whatever happens across the namespaces, the script ends (and cleans up).
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-k", "10", "300", LiveSystem.repository.appendingPathComponent("deploy/multihost-test.sh").path, LiveSystem.binaries.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output.suffix(6000))")
        #expect(output.contains("multihost-test: PASSED"))
    }
}
