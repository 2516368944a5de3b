import Foundation
import Jobs
import Training

/// report.md and the loss plots of a pipeline run.
struct PipelineReport {
    var quick = false
    var corpus = (products: 0, general: 0)
    var tokenizer: (vocabulary: Int, merges: Int)?
    var baseDescription = ""
    var pretrainEpochs: [JobsCommand.EpochRow] = []
    var pretrainLog: String?
    var finetuneEpochs: [JobsCommand.EpochRow] = []
    var finetune: TrainJobSpec?
    var perplexityBefore: Float?
    var perplexityAfter: Float?
    var before: GenerationViews?
    var after: GenerationViews?
    var timings: [(String, Double)] = []
    var totalSeconds = 0.0

    func write(to root: String) throws {
        let plotted = try LossPlot(log: (root as NSString).appendingPathComponent("runs/finetune/log.jsonl"),
                                   title: "Fine-tuning on the product descriptions")
        try plotted.svg().write(toFile: (root as NSString).appendingPathComponent("loss.svg"), atomically: true, encoding: .utf8)
        if let pretrainLog {
            let pretrain = try LossPlot(log: (root as NSString).appendingPathComponent(pretrainLog), title: "Pre-training on the general corpus")
            try pretrain.svg().write(toFile: (root as NSString).appendingPathComponent("pretrain-loss.svg"), atomically: true, encoding: .utf8)
        }
        try markdown(hasPretrainPlot: pretrainLog != nil).write(toFile: (root as NSString).appendingPathComponent("report.md"), atomically: true, encoding: .utf8)
    }

    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: "⏎ ").replacingOccurrences(of: "\t", with: " ")
    }

    func epochTable(_ rows: [JobsCommand.EpochRow]) -> String {
        var out = "| Epoch | Training Loss | Validation Loss | Perplexity |\n|---:|---:|---:|---:|\n"
        for row in rows {
            out += String(format: "| %d | %.4f | %.4f | %.2f |\n", row.epoch, row.training, row.validation, row.perplexity)
        }
        return out
    }

    func markdown(hasPretrainPlot: Bool) -> String {
        var md = "# Cuentista pipeline report\n\n"
        md += "Run on \(ISO8601DateFormatter().string(from: Date()))\(quick ? " with `--quick`" : ""), in \(Int(totalSeconds.rounded())) s. "
        md += "Everything below went through the services: prepare and train jobs queued in the coordinator and run by the workers, "
        md += "generations served by the generator.\n\n"
        md += "## Corpus and base model\n\n"
        md += "- Embedded corpus (written by the project): \(corpus.general) general documents (stories, jokes, notes) and \(corpus.products) product rows.\n"
        if let tokenizer { md += "- Tokenizer: byte-level BPE trained on corpus/general.txt, \(tokenizer.vocabulary) tokens (\(tokenizer.merges) merges).\n" }
        md += "- Base model: \(baseDescription).\n\n"
        if !pretrainEpochs.isEmpty {
            md += "### Pre-training\n\n" + epochTable(pretrainEpochs) + "\n"
            if hasPretrainPlot { md += "![pre-training loss](pretrain-loss.svg)\n\n" }
        }
        if let before {
            md += "## Inside the base model\n\n### Top 10 next tokens after \"\(PipelineRun.prompts[0])\"\n\n| # | token | probability |\n|---:|---|---:|\n"
            for (i, candidate) in before.next.enumerated() {
                md += String(format: "| %d | `%@` | %.2f %% |\n", i + 1, Self.cell(PipelineRun.shown(candidate.text)), candidate.probability * 100)
            }
            md += "\n### Greedy decoding, step by step (first 10 steps, top 5 candidates, chosen in bold)\n\n| step | candidates |\n|---:|---|\n"
            for step in before.greedyTrace {
                let row = step.candidates.map { c -> String in
                    let text = "`\(Self.cell(PipelineRun.shown(c.text)))` \(String(format: "%.1f%%", c.probability * 100))"
                    return c.token == step.chosen ? "**\(text)**" : text
                }
                md += "| \(step.step + 1) | \(row.joined(separator: " · ")) |\n"
            }
            md += "\nStrategies (30 new tokens; greedy with no repeated 3-grams; epsilon-greedy takes the argmax with probability 0.5, "
            md += "else samples; seeds fixed at 1):\n\n"
        }
        md += "## Fine-tuning on the product descriptions\n\n"
        if let finetune {
            md += "Causal LM, blocks of 128 tokens (one description each, padding masked), 90/10 split, \(finetune.epochs) epochs, "
            md += String(format: "lr %g, weight decay %g, batch %d, evaluation and a checkpoint every epoch, the best model kept and deployed.\n\n",
                         finetune.lr, finetune.weightDecay, finetune.batchSize)
        }
        md += epochTable(finetuneEpochs) + "\n![training and validation loss](loss.svg)\n\n"
        md += String(format: "Validation perplexity on the product descriptions: **%.2f before, %.2f after**.\n\n",
                     perplexityBefore ?? .nan, perplexityAfter ?? .nan)
        if let before, let after {
            md += "## Before and after, same prompts and seeds\n\n| prompt | strategy | before (base model) | after (fine-tuned) |\n|---|---|---|---|\n"
            for prompt in PipelineRun.prompts {
                for strategy in PipelineRun.strategies {
                    md += "| \(prompt) | \(strategy.name) | \(Self.cell(prompt + before.texts[prompt]![strategy.name]!)) | \(Self.cell(prompt + after.texts[prompt]![strategy.name]!)) |\n"
                }
            }
            md += "\n"
        }
        md += "## Steps\n\n| step | seconds |\n|---|---:|\n"
        for (title, seconds) in timings { md += String(format: "| %@ | %.1f |\n", Self.cell(title), seconds) }
        md += "\nLogs: `logs/` (one per process); training logs: `runs/*/log.jsonl`; models: `models/base`, `runs/finetune/final`.\n"
        return md
    }
}

/// Training and validation loss per step, from a trainer's JSONL log, as an SVG line chart.
struct LossPlot {
    let title: String
    var training: [(step: Int, loss: Float)] = []
    var validation: [(step: Int, loss: Float)] = []

    init(log: String, title: String) throws {
        self.title = title
        let text = try String(contentsOfFile: log, encoding: .utf8)
        for line in text.split(separator: "\n") {
            guard let entry = try? JSONDecoder().decode(LogEntry.self, from: Data(line.utf8)) else { continue }
            if entry.kind == "eval" { validation.append((entry.step, entry.loss)) } else { training.append((entry.step, entry.loss)) }
        }
    }

    func svg(width: Double = 720, height: Double = 360) -> String {
        let left = 60.0, right = 20.0, top = 40.0, bottom = 50.0
        let steps = (training.map(\.step) + validation.map(\.step)).max() ?? 1
        let losses = (training.map(\.loss) + validation.map(\.loss)).filter(\.isFinite)
        let low = Double(losses.min() ?? 0), high = Double(losses.max() ?? 1)
        let span = max(high - low, 1e-6)
        let (yMin, yMax) = (max(0, low - span * 0.05), high + span * 0.05)
        func x(_ step: Int) -> Double { left + Double(step) / Double(max(steps, 1)) * (width - left - right) }
        func y(_ loss: Float) -> Double { top + (1 - (Double(loss) - yMin) / (yMax - yMin)) * (height - top - bottom) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        svg += "<text x=\"\(Int(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(title)</text>\n"
        for i in 0...4 {
            let value = yMin + (yMax - yMin) * Double(i) / 4, py = y(Float(value))
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", left, py, width - right, py)
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", left - 6, py + 4, value)
        }
        for i in 0...4 {
            let step = steps * i / 4, px = x(step)
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n", px, height - bottom + 18, step)
        }
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">optimizer step</text>\n", (left + width - right) / 2, height - 10)
        svg += String(format: "<text x=\"16\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.1f)\">loss</text>\n", (top + height - bottom) / 2, (top + height - bottom) / 2)
        svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n", left, top, width - left - right, height - top - bottom)
        if !training.isEmpty {
            svg += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"" + training.map { String(format: "%.1f,%.1f", x($0.step), y($0.loss)) }.joined(separator: " ") + "\"/>\n"
        }
        if !validation.isEmpty {
            svg += "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" points=\"" + validation.map { String(format: "%.1f,%.1f", x($0.step), y($0.loss)) }.joined(separator: " ") + "\"/>\n"
            for point in validation { svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#d62728\"/>\n", x(point.step), y(point.loss)) }
        }
        let legendX = width - right - 170
        svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\" stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\">training loss</text>\n", legendX, top + 16, legendX + 24, top + 16, legendX + 30, top + 20)
        svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\">validation loss</text>\n", legendX, top + 34, legendX + 24, top + 34, legendX + 30, top + 38)
        svg += "</svg>\n"
        return svg
    }
}
