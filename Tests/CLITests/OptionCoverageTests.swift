import Testing
import Wire

/// Every option of a job kind is a flag of the commands that take it (`prepare`, `train`,
/// `jobs submit ...`), found by reading the fields of jobs.proto's PrepareSpec and TrainSpec
/// (which SpecAgreementTests holds equal to the specifications' properties): a field added
/// without a flag fails here.
@Suite("Every job option has its flag")
struct OptionCoverageTests {
    static func flag(_ field: String) -> String {
        field == "inputs" ? "--input" : "--" + field.replacingOccurrences(of: "_", with: "-")
    }

    @Test("prepare, train and jobs submit list a flag for every field", arguments: [
        (["prepare", "--help"], "prepare"), (["jobs", "submit", "prepare", "--help"], "prepare"),
        (["train", "--help"], "train"), (["jobs", "submit", "train", "--help"], "train"),
    ])
    func flags(command: [String], kind: String) throws {
        let help = try CLI.run(command)
        #expect(help.status == 0)
        var fields = kind == "prepare" ? PrepareSpec.fieldNames : TrainSpec.fieldNames
        // Deploying the result is what a queued job can do; a local run has no generator.
        if command.first == "train" { fields.removeAll { $0 == "deploy" } }
        for field in fields {
            #expect(help.stdout.contains(Self.flag(field) + " ") || help.stdout.contains(Self.flag(field) + "\n"),
                    "\(command.joined(separator: " ")) has no \(Self.flag(field)) for \(field)")
        }
    }

    @Test("jobs submit runs the coordinator's value checks before sending: nothing is sent, the option is named")
    func submitChecksValues() throws {
        // Port 9 (discard): were anything sent, the command would wait for a reply instead.
        let base = ["jobs", "submit", "train", "--model", "init:tiny", "--data", "prepared/x", "--coordinator", "tcp://127.0.0.1:9"]
        for (extra, message) in [(["--out", "runs/a", "--epochs", "0"], "invalid --epochs: must be between 1 and 100000, got 0"),
                                 (["--out", "/etc/evil"], "invalid --out: /etc/evil must be relative to the data directory"),
                                 (["--out", "runs/a", "--lr-schedule", "zigzag"], "zigzag")] {
            let result = try CLI.run(base + extra)
            #expect(result.status == 64 && result.stderr.contains(message), "\(extra): \(result.status) \(result.stderr)")
        }
    }
}
