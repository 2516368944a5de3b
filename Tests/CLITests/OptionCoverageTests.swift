import Jobs
import Testing

/// Every option of a job kind is a flag of the commands that take it (`prepare`, `train`,
/// `jobs submit ...`), found by reflecting over the one declaration (`PrepareJobSpec`,
/// `TrainJobSpec`): a field added there without a flag fails here.
@Suite("Every job option has its flag")
struct OptionCoverageTests {
    static func flag(_ property: String) -> String {
        if property == "inputs" { return "--input" }
        return "--" + property.reduce(into: "") { text, character in
            if character.isUppercase { text += "-" + character.lowercased() } else { text.append(character) }
        }
    }

    static func properties<T>(_ value: T) -> [String] { Mirror(reflecting: value).children.compactMap(\.label) }

    @Test("prepare, train and jobs submit list a flag for every field", arguments: [
        (["prepare", "--help"], "prepare"), (["jobs", "submit", "prepare", "--help"], "prepare"),
        (["train", "--help"], "train"), (["jobs", "submit", "train", "--help"], "train"),
    ])
    func flags(command: [String], kind: String) throws {
        let help = try CLI.run(command)
        #expect(help.status == 0)
        var fields = kind == "prepare" ? Self.properties(PrepareJobSpec.defaults) : Self.properties(TrainJobSpec.defaults)
        // Deploying the result is what a queued job can do; a local run has no generator.
        if command.first == "train" { fields.removeAll { $0 == "deploy" } }
        for field in fields {
            #expect(help.stdout.contains(Self.flag(field) + " ") || help.stdout.contains(Self.flag(field) + "\n"),
                    "\(command.joined(separator: " ")) has no \(Self.flag(field)) for \(field)")
        }
    }
}
