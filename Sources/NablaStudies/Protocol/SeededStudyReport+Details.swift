import Foundation
import NablaTensor
import NablaIO
import NablaTraining

extension SeededStudyReport {
    /// Fashion-MNIST's class names (Xiao, Rasul & Vollgraf, 2017).
    static let fashionClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    static func classNames(_ count: Int, dataSpec: String?) -> [String] {
        if count == 10, let spec = dataSpec, spec.lowercased().contains("fashion") { return fashionClasses }
        return (0..<count).map { "class \($0)" }
    }

    /// The confusion matrix of the best model (chosen on validation) summed over its seeds' single
    /// test evaluations, rows normalized to percentages; and its per-class test accuracy (mean and
    /// 95% CI over the seeds).
    public static func bestModelCharts(_ outcome: SeededStudyOutcome) -> (name: String, confusion: HeatmapChart, perClass: IntervalPlot)? {
        guard let best = bestModel(outcome), let variant = outcome.variant(best.key) else { return nil }
        let arm = variant.arm(best.kind)
        let matrices = arm.runs.compactMap { $0.test?.confusion }
        guard matrices.count == arm.runs.count, let first = matrices.first, !first.isEmpty else { return nil }
        let k = first.count
        var total = Array(repeating: Array(repeating: 0, count: k), count: k)
        for m in matrices { for r in 0..<k { for c in 0..<k { total[r][c] += m[r][c] } } }
        let names = classNames(k, dataSpec: arm.plans.first?.data.spec)
        let percentages: [[Double?]] = total.map { row in
            let sum = row.reduce(0, +)
            return row.map { sum == 0 ? nil : 100 * Double($0) / Double(sum) }
        }
        let confusion = HeatmapChart(title: "\(variant.name): confusion matrix (test split, \(arm.runs.count) seeds pooled)",
                                     xTitle: "predicted class", yTitle: "true class", rowLabels: names, columnLabels: names,
                                     values: percentages, colorTitle: "% of the row", colorRange: 0...100,
                                     cellLabel: { $0 < 0.05 ? "" : String(format: "%.0f", $0) }, width: 660, height: 560)
        let perClass = arm.runs.compactMap { $0.test?.perClassAccuracy }
        let points = (0..<k).map { c -> IntervalPlot.Point? in
            let values = perClass.map { $0[c] }.filter(\.isFinite)
            guard let s = try? SampleSummary(of: values) else { return nil }
            return IntervalPlot.Point(value: s.mean * 100, lower: (s.interval?.lower ?? s.mean) * 100, upper: (s.interval?.upper ?? s.mean) * 100)
        }
        let plot = IntervalPlot(title: "\(variant.name): test accuracy per class (mean and 95% CI over seeds)", xTitle: "test accuracy (%)",
                                rows: names, series: [.init(name: "", points: points, color: ChartPalette.color(forSeries: 0))],
                                reference: nil, width: 560)
        return (variant.name, confusion, plot)
    }

    /// Per-layer weight norms during training, mean over seeds: one chart per weight layer, one
    /// line per variant (variants whose weight layers differ from the baseline's are left out).
    public static func weightNormCharts(_ outcome: SeededStudyOutcome, family: ComparisonFamily, setting: SettingKind) -> [LineChart] {
        guard let baseline = outcome.variant(family.baseline), let names = baseline.arm(setting).runs.first?.weightNames, !names.isEmpty
        else { return [] }
        let keys = [family.baseline] + family.members
        let variants = keys.compactMap { outcome.variant($0) }.filter { $0.arm(setting).runs.first?.weightNames.count == names.count }
        return names.indices.map { layer in
            let series = variants.enumerated().compactMap { i, variant -> LineChart.Series? in
                let band = meanBand(variant.arm(setting).runs) { epoch in epoch.weightNorms.map { $0[layer] } }
                guard !band.x.isEmpty else { return nil }
                return LineChart.Series(name: variant.name, x: band.x, y: band.mean, color: ChartPalette.color(forSeries: keys.firstIndex(of: variant.key) ?? i),
                                        showsMarkers: false)
            }
            let shape = baseline.model.flatMap { model -> String? in
                let linear = model.layers.filter { $0.type == "Linear" || $0.type == "Conv2d" }
                guard layer < linear.count else { return nil }
                let a = linear[layer].arguments
                if case .int(let i)? = a["in_features"], case .int(let o)? = a["out_features"] { return "Linear \(i)→\(o)" }
                if case .int(let i)? = a["in_channels"], case .int(let o)? = a["out_channels"] { return "Conv \(i)→\(o)" }
                return nil
            }
            return LineChart(title: "‖W‖ of weight layer \(layer + 1)\(shape.map { " (\($0))" } ?? "")", xTitle: "epoch",
                             yTitle: "Frobenius norm", series: series, width: 480, height: 330)
        }
    }

    /// A dot plot of a per-run figure over a family's variants (mean and 95% CI over seeds), colored
    /// by the verdict of `comparison` when given.
    public static func dotPlot(_ outcome: SeededStudyOutcome, family: ComparisonFamily, setting: SettingKind, title: String, xTitle: String,
                               scale: Double = 100, comparison: StudyComparison? = nil, value: (StudyRunResult) -> Double?) -> IntervalPlot {
        let keys = [family.baseline] + family.members
        let variants = keys.compactMap { outcome.variant($0) }
        let points = variants.map { variant -> IntervalPlot.Point? in
            let values = variant.arm(setting).runs.compactMap(value).filter(\.isFinite)
            guard let s = try? SampleSummary(of: values) else { return nil }
            let verdict = comparison?.members.first { $0.key == variant.key }?.verdict
            return IntervalPlot.Point(value: s.mean * scale, lower: (s.interval?.lower ?? s.mean) * scale, upper: (s.interval?.upper ?? s.mean) * scale,
                                      color: variant.key == family.baseline ? "#1f77b4" : (comparison == nil ? nil : color(verdict)))
        }
        return IntervalPlot(title: title, xTitle: xTitle, rows: variants.map(\.name),
                            series: [.init(name: "", points: points, color: "#444444")], reference: nil, width: 560)
    }

    /// The tuning trials of every variant: each grid point's validation score (the split it was
    /// chosen on), the chosen one in bold.
    public static func tuningTable(_ outcome: SeededStudyOutcome, variant: SeededStudyOutcome.Variant) -> ReportTable {
        var table = ReportTable(columns: ["setting", "validation accuracy (%)", ""],
                                caption: "\(variant.name): \(variant.trials.count) grid points, \(outcome.tuningSeeds.count) tuning seed(s) "
                                    + "(\(outcome.tuningSeeds.map(String.init).joined(separator: ", "))), final validation accuracy")
        for trial in variant.trials {
            let chosen = trial.setting == variant.tuned?.setting
            let score = trial.score.map { number($0 * 100) } ?? "diverged"
            var marks: [String] = []
            if chosen { marks.append("chosen") }
            if trial.setting == variant.textbook.setting { marks.append("textbook") }
            let cell = ReportTable.Cell(text: score, isNumeric: true)
            table.append([.text(trial.setting.label), chosen ? cell.emphasized() : cell, .text(marks.joined(separator: ", "))])
        }
        return table
    }

    /// Writes each variant's model file beside its runs (`<runs>/<study>/<variant>/<setting>/model.yaml`)
    /// and each final run's plan (`…/seed-<s>/plan.json`, for `nabla train --plan`).
    public static func writeRunFiles(_ outcome: SeededStudyOutcome) throws {
        guard let runs = outcome.runsDirectory else { return }
        for variant in outcome.variants {
            for arm in [variant.textbook] + (variant.tuned.map { [$0] } ?? []) {
                let folder = SeededStudy.runDirectory(runs: runs, study: outcome.name, tuning: false, variant: variant.key,
                                                      setting: arm.setting, seed: 0).deletingLastPathComponent()
                if let model = arm.plans.first?.model.description {
                    try AtomicFile.write(Data(model.yaml.utf8), to: folder.appendingPathComponent("model.yaml"))
                }
                for (seed, plan) in zip(outcome.seeds, arm.plans) {
                    var clean = plan
                    clean.output = TrainingPlan.Output()
                    try AtomicFile.write(Data(clean.prettyJSON.utf8), to: folder.appendingPathComponent("seed-\(seed)/plan.json"))
                }
            }
        }
    }

    /// The `nabla train` command of a variant's run at `kind` and the first seed, with its model file.
    public static func reproduceCommand(_ outcome: SeededStudyOutcome, variant: SeededStudyOutcome.Variant, kind: SettingKind) -> String? {
        let arm = variant.arm(kind)
        guard var plan = arm.plans.first else { return nil }
        plan.output = TrainingPlan.Output()
        let folder = outcome.runsDirectory.map {
            SeededStudy.runDirectory(runs: $0, study: outcome.name, tuning: false, variant: variant.key, setting: arm.setting, seed: 0)
                .deletingLastPathComponent().relativePath
        } ?? "\(outcome.name)/\(variant.key)/\(arm.setting.slug)"
        return plan.commandLine(modelFile: "\(folder)/model.yaml")
    }

    /// For every variant: what it changes, its settings, the reproduce command and where its files
    /// are — folded into `<details>`.
    public static func appendConfigurations(_ outcome: SeededStudyOutcome, to page: inout HTMLReport) {
        page.details("Configurations, tuning grids and reproduce commands (\(outcome.title))") { page in
            page.paragraph(outcome.description)
            if outcome.budget > 0 {
                page.paragraph("Tuning budget, the same for every variant: \(outcome.budget) grid points × \(outcome.tuningSeeds.count) tuning seed(s), "
                               + "each trained with the final runs' epochs and scored by its final validation accuracy. Final seeds: "
                               + outcome.seeds.map(String.init).joined(separator: ", ") + ".")
            }
            for variant in outcome.variants {
                page.heading("\(variant.name) (\(variant.key))", level: 3)
                page.paragraph(variant.summary)
                var items = ["textbook setting: \(variant.textbook.setting.label)"]
                if let tuned = variant.tuned { items.append("tuned setting (chosen on validation): \(tuned.setting.label)") }
                if let model = variant.model { items.append("model: \(model.name)") }
                page.list(items)
                if !variant.trials.isEmpty { page.table(tuningTable(outcome, variant: variant)) }
                for kind in outcome.settingKinds where kind == .tuned || variant.tuningChangedTheSetting || outcome.settingKinds.count == 1 {
                    if let command = reproduceCommand(outcome, variant: variant, kind: kind) {
                        page.preformatted(StudyReport.wrappedCommand(command),
                                          caption: "Repeat the \(kind.rawValue) run of seed \(outcome.seeds[0]) (change --seed for the others; or nabla train --plan …/seed-N/plan.json)")
                    }
                }
            }
        }
    }
}

extension SeededStudyReport {
    /// Every final run as a CSV row: regime, variant, setting kind and values, seed, and its final
    /// figures with their splits in the column names.
    public static func csv(_ outcomes: [SeededStudyOutcome]) -> String {
        var lines = ["regime,variant,setting_kind,setting,seed,epochs,train_accuracy,validation_accuracy,test_accuracy,test_loss,test_ece,sparsity,seconds,diverged"]
        func v(_ x: Double?) -> String { x.map { String(format: "%.6g", $0) } ?? "" }
        for outcome in outcomes {
            for variant in outcome.variants {
                for kind in outcome.settingKinds {
                    let arm = variant.arm(kind)
                    for (seed, run) in zip(outcome.seeds, arm.runs) {
                        lines.append([outcome.name, variant.key, kind.rawValue, "\"\(arm.setting.label)\"", String(seed), String(run.epochs.count),
                                      v(run.final?.trainAccuracy), v(run.final?.validationAccuracy), v(run.test?.accuracy), v(run.test?.loss),
                                      v(run.test?.calibrationError), v(run.sparsity), v(run.seconds), run.divergence == nil ? "0" : "1"]
                            .joined(separator: ","))
                    }
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
