import Messaging
import Services
import WorkerCommandLine
import Testing

/// One spelling for where the coordinator is, one default, and the old spelling still taken.
@Suite("The coordinator endpoint option")
struct EndpointOptionTests {
    @Test("workers take --coordinator, default to the worker endpoint in the data directory, and still accept --connect")
    func workerSpellings() throws {
        // Workers connect to the worker endpoint, found in the data directory by default.
        #expect(try WorkerArguments.parse(["--data-dir", "/srv/data"]).connect == "ipc:///srv/data/coordinator/workers.ipc")
        #expect(try WorkerArguments.parse(["--coordinator", "tcp://10.0.0.1:5555"]).connect == "tcp://10.0.0.1:5555")
        #expect(try WorkerArguments.parse(["--connect", "tcp://10.0.0.2:5555"]).connect == "tcp://10.0.0.2:5555")
        // The old spelling stays out of --help.
        #expect(!WorkerArguments.helpMessage().contains("--connect"))
        #expect(WorkerArguments.helpMessage().contains("--coordinator"))
        // Both spellings, disagreeing (an old override file and a new unit): refused, not guessed.
        #expect(throws: (any Error).self) { try WorkerArguments.parse(["--connect", "tcp://a:1", "--coordinator", "tcp://b:2"]) }
    }
}
