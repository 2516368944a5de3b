import Foundation
import FoundationXML
import Testing

/// The README's first command, small: `cuentista pipeline --quick` through real services.
@Suite("cuentista pipeline")
struct PipelineTests {
    @Test("pipeline --quick finishes in under 2 minutes with a report holding the tables, the texts and a loss plot")
    func quick() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cuentista-pipeline-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let started = Date()
        let result = try CommandLineTests.run(["pipeline", "--quick", "--data-dir", folder, "--bind", "tcp://127.0.0.1:\(LiveSystem.freePort())"])
        let seconds = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result.output.suffix(4000))")
        #expect(seconds < 120, "took \(seconds) s")
        for step in 1...8 { #expect(result.output.contains("[\(step)/8]")) }
        let report = try String(contentsOfFile: "\(folder)/report.md", encoding: .utf8)
        #expect(report.contains("### Top 10 next tokens after \"Había una vez\""))
        #expect(report.contains("### Greedy decoding, step by step"))
        #expect(report.components(separatedBy: "| Epoch | Training Loss | Validation Loss | Perplexity |").count == 3, "pre-training and fine-tuning tables")
        #expect(report.contains("## Before and after, same prompts and seeds"))
        let rows = report.split(separator: "\n").filter { $0.hasPrefix("| Había una vez | ") || $0.hasPrefix("| Este bolso | ") }
        #expect(rows.count == 6)
        #expect(report.contains("Validation perplexity on the product descriptions: **"))
        // The plot is an SVG a browser opens: well-formed XML with the two curves.
        let svg = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/loss.svg"))
        let parser = XMLParser(data: svg)
        #expect(parser.parse(), "loss.svg is not well-formed: \(String(describing: parser.parserError))")
        let text = String(decoding: svg, as: UTF8.self)
        #expect(text.components(separatedBy: "<polyline").count == 3)
        #expect(FileManager.default.fileExists(atPath: "\(folder)/runs/finetune/final/model.safetensors"))
        #expect(FileManager.default.fileExists(atPath: "\(folder)/logs/coordinator.log"))
        // Every service it started has stopped.
        #expect(!result.output.contains("still running"))
    }

    @Test("pipeline --model fine-tunes a given model directory (the user's download) instead of pre-training")
    func givenModel() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cuentista-pipeline-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let model = LiveSystem.repository.appendingPathComponent("Tests/Fixtures/models/tiny-safetensors").path
        let result = try CommandLineTests.run(["pipeline", "--quick", "--model", model, "--data-dir", folder, "--bind", "tcp://127.0.0.1:\(LiveSystem.freePort())"])
        #expect(result.status == 0, "\(result.output.suffix(3000))")
        for step in 1...7 { #expect(result.output.contains("[\(step)/7]")) }
        let report = try String(contentsOfFile: "\(folder)/report.md", encoding: .utf8)
        #expect(report.contains("Base model: the user's model \(model)"))
        #expect(report.contains("lr 2e-05"))
        #expect(report.components(separatedBy: "| Epoch | Training Loss | Validation Loss | Perplexity |").count == 2)
        #expect(FileManager.default.fileExists(atPath: "\(folder)/runs/finetune/final/model.safetensors"))
        // Again into the same folder: refused at once, the first run untouched; --overwrite
        // replaces it with a run of its own (one run in the fine-tune log, not two).
        let reportBefore = try String(contentsOfFile: "\(folder)/report.md", encoding: .utf8)
        let again = try CommandLineTests.run(["pipeline", "--quick", "--model", model, "--data-dir", folder, "--bind", "tcp://127.0.0.1:\(LiveSystem.freePort())"])
        #expect(again.status != 0 && again.output.contains("already holds a pipeline run") && again.output.contains("--overwrite"), "\(again.output.suffix(1000))")
        #expect(!again.output.contains("[1/7]"))
        #expect(try String(contentsOfFile: "\(folder)/report.md", encoding: .utf8) == reportBefore)
        let replaced = try CommandLineTests.run(["pipeline", "--quick", "--model", model, "--data-dir", folder, "--overwrite",
                                                 "--bind", "tcp://127.0.0.1:\(LiveSystem.freePort())"])
        #expect(replaced.status == 0, "\(replaced.output.suffix(3000))")
        let log = try String(contentsOfFile: "\(folder)/runs/finetune/log.jsonl", encoding: .utf8)
        let steps = log.split(separator: "\n").compactMap { line -> Int? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["kind"] as? String == "train" else { return nil }
            return object["step"] as? Int
        }
        #expect(!steps.isEmpty && steps == steps.sorted() && Set(steps).count == steps.count, "\(steps)")
    }

    @Test("bad options are refused before anything starts; a failing step is named, with the log to read")
    func failure() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cuentista-pipeline-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (arguments, named) in [(["--model", "/nonexistent/model"], "--model /nonexistent/model"), (["--epochs", "0"], "epochs"), (["--lr", "-1"], "lr")] {
            let refused = try CommandLineTests.run(["pipeline", "--quick", "--data-dir", folder] + arguments + ["--bind", "tcp://127.0.0.1:\(LiveSystem.freePort())"])
            #expect(refused.status != 0 && refused.output.contains(named) && !refused.output.contains("[1/"), "\(refused.output.suffix(1000))")
            #expect(!FileManager.default.fileExists(atPath: folder), "a refused run wrote its folder")
        }
        // A model directory that passes the check but cannot be loaded fails at its step.
        let broken = folder + "-model"
        defer { try? FileManager.default.removeItem(atPath: broken) }
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: LiveSystem.repository.appendingPathComponent("Tests/Fixtures/models/tiny-safetensors/config.json").path,
                                         toPath: broken + "/config.json")
        try Data("not safetensors".utf8).write(to: URL(fileURLWithPath: broken + "/model.safetensors"))
        let result = try CommandLineTests.run(["pipeline", "--quick", "--data-dir", folder, "--model", broken,
                                               "--bind", "tcp://127.0.0.1:\(LiveSystem.freePort())"])
        #expect(result.status != 0)
        #expect(result.output.contains("step 'Using the base model \(broken)' failed"), "\(result.output.suffix(2000))")
    }
}
