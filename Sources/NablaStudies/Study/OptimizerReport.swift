import Foundation
import NablaTensor

extension StudyMetric {
    /// Cross-entropy on the clean training part after the last epoch (evaluation mode): how far an
    /// optimizer got on the objective it minimizes. Smaller is better; a non-finite loss (a diverged
    /// run) counts as missing.
    public static let finalTrainLoss = StudyMetric(name: "train_loss", title: "final training loss", split: "train",
                                                   higherIsBetter: false) { run in
        run.final?.trainLoss.flatMap { $0.isFinite ? $0 : nil }
    }
}

extension OptimizerStudy {
    /// The works the optimizer report cites besides ``StudyReferences/all``.
    public static let references = [
        "Chen, X. et al. (2023). Symbolic Discovery of Optimization Algorithms (Lion). NeurIPS.",
        "Choi, D., Shallue, C. J., Nado, Z., Lee, J., Maddison, C. J. & Dahl, G. E. (2019). On Empirical Comparisons of Optimizers for Deep Learning. arXiv:1910.05446.",
        "Dozat, T. (2016). Incorporating Nesterov Momentum into Adam. ICLR Workshop.",
        "Duchi, J., Hazan, E. & Singer, Y. (2011). Adaptive Subgradient Methods for Online Learning and Stochastic Optimization. JMLR 12.",
        "Kingma, D. P. & Ba, J. (2015). Adam: A Method for Stochastic Optimization. ICLR.",
        "Liu, L. et al. (2020). On the Variance of the Adaptive Learning Rate and Beyond (RAdam). ICLR.",
        "Saito, K. (2016). Deep Learning from Scratch (ゼロから作る Deep Learning), §6.1. O'Reilly Japan.",
        "Schmidt, R. M., Schneider, F. & Hennig, P. (2021). Descending through a Crowded Valley — Benchmarking Deep Learning Optimizers. ICML.",
        "Smith, L. N. (2017). Cyclical Learning Rates for Training Neural Networks. WACV.",
        "Smith, L. N. & Topin, N. (2019). Super-Convergence: Very Fast Training of Neural Networks Using Large Learning Rates. SPIE.",
        "Sutskever, I., Martens, J., Dahl, G. & Hinton, G. (2013). On the Importance of Initialization and Momentum in Deep Learning. ICML.",
        "Tieleman, T. & Hinton, G. (2012). Lecture 6.5 — RMSProp. COURSERA: Neural Networks for Machine Learning.",
        "Wilson, A. C., Roelofs, R., Stern, M., Srebro, N. & Recht, B. (2017). The Marginal Value of Adaptive Gradient Methods in Machine Learning. NeurIPS.",
        "You, Y. et al. (2020). Large Batch Optimization for Deep Learning: Training BERT in 76 Minutes (LAMB). ICLR.",
        "Zeiler, M. D. (2012). ADADELTA: An Adaptive Learning Rate Method. arXiv:1212.5701.",
    ]

    /// The groups of the curve charts (each with the reference): SGD and its schedules, Adam and its
    /// relatives, the rest.
    static let curveGroups: [(title: String, keys: [String])] = [
        ("SGD, momentum and schedules", ["sgd", "nesterov", "momentum-onecycle", "momentum-cyclic"]),
        ("Adam and its relatives", ["adam", "adamw", "adamax", "nadam", "radam", "adam-restarts"]),
        ("Other adaptive methods", ["adagrad", "rmsprop", "adadelta", "lion", "lamb"]),
    ]
}

extension OptimizerStudy.Result {
    /// The comparisons of the study: test accuracy (tuned and textbook), final training loss, the
    /// train − test gap and the calibration error (tuned).
    public func comparisons() throws -> [StudyComparison] {
        try SeededStudyReport.comparisons(outcome, metrics: [.testAccuracy, .finalTrainLoss, .generalizationGap, .calibrationError])
    }

    /// `results.json` for the comparisons, with the best model chosen on validation.
    public func resultsFile(command: String, comparisons: [StudyComparison]) -> StudyResultsFile {
        let best = SeededStudyReport.bestModel(outcome).map { [(outcome, $0.key, $0.kind)] } ?? []
        return StudyResultsFile(outcomes: [outcome], comparisons: comparisons, bestModels: best, command: command)
    }

    /// Runs of the study: tuning runs plus final runs at each variant's one or two settings.
    public var runCount: Int {
        let tuning = outcome.variants.reduce(0) { $0 + $1.trials.count } * outcome.tuningSeeds.count
        return tuning + outcome.variants.reduce(0) { $0 + ($1.tuningChangedTheSetting ? 2 : 1) } * outcome.seeds.count
    }

    /// The positions on `f(x, y)` after the last step.
    public var pathTable: ReportTable {
        var table = ReportTable(columns: ["optimizer", "settings", "final x", "final y", "f(x, y)"],
                                caption: "After \(configuration.pathSteps) steps from (−7, 2); the minimum is f(0, 0) = 0")
        for path in paths {
            guard let last = path.points.last else { continue }
            table.append([.text(path.name), .text(path.settings), .number(last.x, .fixed(4)), .number(last.y, .fixed(4)),
                          .number(OptimizerPaths.function(last.x, last.y), .significant(3))])
        }
        return table
    }

    /// The final training loss of every optimizer (tuned): mean ± sd [95% CI], the paired
    /// difference to the reference, Holm p and the verdict.
    func trainLossTable(_ comparison: StudyComparison) -> ReportTable {
        var table = ReportTable(columns: ["optimizer", "setting", "final training loss", "difference", "Holm p", "verdict"],
                                caption: "Cross-entropy on the clean training part after the last epoch (evaluation mode); mean ± sd [95% CI] over "
                                    + "\(outcome.seeds.count) seeds; differences paired against \(comparison.baseline.name); lower is better")
        for (i, row) in ([comparison.baseline] + comparison.members).enumerated() {
            var cells: [ReportTable.Cell] = [.text(row.name), .text(row.setting.label),
                                             .text(SeededStudyReport.meanText(row.summary, comparison.metric))]
            if let c = row.comparison, let v = row.verdict {
                cells += [.text(SeededStudyReport.difference(c, comparison.metric)),
                          .text(SeededStudyReport.pValue(v.adjustedPValue ?? 1).replacingOccurrences(of: "p = ", with: "").replacingOccurrences(of: "p ", with: "")),
                          v.label == .noDetectableDifference ? .text(v.text) : ReportTable.Cell.text(v.text).emphasized()]
            } else {
                cells += [.text(i == 0 ? "reference" : "—"), .text(""), .text(i == 0 ? "reference" : "not computable")]
            }
            table.append(cells)
        }
        return table
    }

    /// The takeaway on the final training loss, from its verdicts.
    func trainLossTakeaway(_ comparison: StudyComparison) -> (lead: String, text: String)? {
        guard let base = comparison.baseline.summary else { return nil }
        func names(_ label: Verdict.Label) -> [String] { comparison.members.filter { $0.verdict?.label == label }.map(\.name) }
        var parts: [String] = []
        if !names(.better).isEmpty { parts.append("lower with \(names(.better).joined(separator: ", "))") }
        if !names(.worse).isEmpty { parts.append("higher with \(names(.worse).joined(separator: ", "))") }
        if !names(.noDetectableDifference).isEmpty { parts.append("no detectable change with \(names(.noDetectableDifference).joined(separator: ", "))") }
        return ("training loss", "Final training loss (\(comparison.baseline.name): \(String(format: "%.3g", base.mean))): "
                + parts.joined(separator: "; ") + " (paired t-tests, Holm over the family).")
    }

    /// The takeaways, all written from the statistics: each optimizer better or worse than the
    /// reference on test accuracy, then the others in one item (those whose textbook verdict
    /// differs keep their own), what tuning changed, then the training loss, the gap and the best model.
    func takeaways(_ comparisons: [StudyComparison]) -> [(lead: String, text: String)] {
        var items = SeededStudyReport.takeaways(outcome, comparisons: comparisons)
        let primary = outcome.settingKinds[0]
        func accuracy(_ kind: SettingKind) -> StudyComparison? {
            comparisons.first { $0.setting == kind && $0.metric.name == StudyMetric.testAccuracy.name }
        }
        if let main = accuracy(primary) {
            // Optimizers within noise of the reference (and not differing at the textbook rate): one item.
            let quiet = main.members.filter { row in
                guard row.verdict?.label == .noDetectableDifference else { return false }
                return !items.contains { $0.text.hasPrefix("\(row.name) vs ") && $0.text.contains("At the textbook setting") }
            }
            if quiet.count > 1, let first = items.firstIndex(where: { item in quiet.contains { item.text.hasPrefix("\($0.name) vs ") } }) {
                items.removeAll { item in quiet.contains { item.text.hasPrefix("\($0.name) vs ") } }
                let ordered = quiet.sorted { abs($0.comparison?.meanDifference ?? 0) > abs($1.comparison?.meanDifference ?? 0) }
                let list = ordered.compactMap { row in row.comparison.map { "\(row.name) \(SeededStudyReport.difference($0, main.metric))" } }
                var text = "\(primary == .tuned ? "Tuned, these" : "These") optimizers' test accuracy is within noise of \(main.baseline.name)'s "
                    + "(largest differences first): " + list.joined(separator: "; ")
                    + " (mean paired difference [95% CI], Holm-adjusted p ≥ 0.05 or an interval that includes 0)."
                let uncorrected = ordered.filter { $0.comparison?.interval?.excludesZero == true }.map(\.name)
                if !uncorrected.isEmpty {
                    text += " The uncorrected intervals of \(uncorrected.joined(separator: ", ")) exclude 0, but after Holm's correction over "
                        + "\(main.members.count) comparisons with \(main.seeds.count) seeds their adjusted p-values are all ≥ 0.05: suggestive, not shown."
                }
                items.insert((quiet[0].verdict!.text, text), at: min(first, items.count))
            }
            // What tuning changed: the verdicts at the textbook rates against the tuned ones.
            if primary == .tuned, let textbook = accuracy(.textbook) {
                func counts(_ c: StudyComparison) -> String {
                    let labels = c.members.compactMap { $0.verdict?.label }
                    return "\(labels.filter { $0 == .better }.count) better, \(labels.filter { $0 == .worse }.count) worse, "
                        + "\(labels.filter { $0 == .noDetectableDifference }.count) within noise"
                }
                let changed = main.members.filter { row in textbook.members.first { $0.key == row.key }?.verdict?.label != row.verdict?.label }
                var text = "Against \(main.baseline.name) at the textbook learning rates: \(counts(textbook)); with every learning rate tuned on "
                    + "validation: \(counts(main))."
                text += changed.isEmpty ? " Tuning changed no verdict."
                    : " Comparing at fixed learning rates would have given a different verdict for \(changed.map(\.name).joined(separator: ", ")) (Choi et al., 2019)."
                items.insert(("tuning", text), at: items.firstIndex { $0.lead == "gap" || $0.lead == "best model" } ?? items.count)
            }
        }
        if let loss = comparisons.first(where: { $0.metric.name == StudyMetric.finalTrainLoss.name }), let item = trainLossTakeaway(loss) {
            items.insert(item, at: items.firstIndex { $0.lead == "gap" || $0.lead == "best model" } ?? items.count)
        }
        return items
    }

    /// Mean curves over the final seeds with 95% bands: `metric` per epoch of the reference and the
    /// variants of one group.
    func curves(_ keys: [String], title: String, yTitle: String, logarithmic: Bool, setting: SettingKind,
                metric: (StudyRunResult.Epoch) -> Double?) -> LineChart? {
        let chosen = ([OptimizerStudy.baseline] + keys).compactMap { outcome.variant($0) }
        guard chosen.count > 1 else { return nil }
        let series = chosen.enumerated().compactMap { i, variant -> LineChart.Series? in
            let band = SeededStudyReport.meanBand(variant.arm(setting).runs, metric: metric)
            guard !band.x.isEmpty else { return nil }
            return LineChart.Series(name: variant.name, x: band.x, y: band.mean, lower: band.lower, upper: band.upper,
                                    color: ChartPalette.color(forSeries: i))
        }
        return LineChart(title: title, xTitle: "epoch", yTitle: yTitle, series: series, yScale: logarithmic ? .logarithmic : .linear,
                         width: 560, height: 380)
    }

    /// What this invocation chose and scaled down, for the report.
    var tradeOffs: String {
        let c = configuration
        var text = "This run: \(outcome.variants.count) optimizers, \(c.seedCount) final seeds each"
        if c.tunes {
            text += ", learning rate tuned over ×" + c.grid.factors.map { StudyRunPlan.format($0) }.joined(separator: ", ×")
                + " of each textbook rate (\(outcome.budget) points per optimizer, \(c.tuningSeedCount) tuning seed\(c.tuningSeedCount == 1 ? "" : "s"))"
        } else {
            text += ", no tuning (textbook learning rates only)"
        }
        text += ", \(c.epochs) epochs per run: \(runCount) runs in all (\(trainedRuns) trained now, \(cachedRuns) read from the cache)."
        let scores = outcome.variants.flatMap(\.trials).compactMap(\.score)
        if c.tunes, validationCount > 0, !scores.isEmpty {
            let p = scores.reduce(0, +) / Double(scores.count)
            let standardError = (p * (1 - p) / Double(validationCount * c.tuningSeedCount)).squareRoot() * 100
            text += " Each tuning score is the accuracy on \(validationCount) validation images × \(c.tuningSeedCount) seed\(c.tuningSeedCount == 1 ? "" : "s"): "
                + "at about \(SeededStudyReport.number(p * 100, digits: 0))% its binomial standard error is ±\(SeededStudyReport.number(standardError, digits: 1)) "
                + "points, so grid points closer than about twice that are chosen between by chance (--tuning-seeds lowers it)."
        }
        if c.tunes {
            let edges = outcome.variants.filter { v in v.tuned.map { $0.setting == v.trials.first?.setting || $0.setting == v.trials.last?.setting } ?? false }
            text += " A grid of \(c.grid.factors.count) points is a small budget: an optimizer whose best rate lies outside it is judged at the grid's edge"
                + (edges.isEmpty ? " (no choice fell on an edge here)" : " — here the choice fell on an edge for \(edges.map(\.name).joined(separator: ", "))")
                + (c.grid == .small ? "; --grid full widens it to ×0.1 … ×10." : ".")
        }
        text += " With one family of \(max(0, outcome.variants.count - 1)) comparisons, Holm's correction asks for small p-values, and with "
            + "\(c.seedCount) seeds only effects of about twice the seed-to-seed spread of the paired difference are detectable."
        return text
    }

    /// The self-contained HTML report: takeaways, the forest plot, the tables, the mean curves, the
    /// best model, the paths on f(x, y); configurations, reproduce commands and sources folded away.
    public func report(command: String, outputDirectory: URL?, comparisons: [StudyComparison]) throws -> HTMLReport {
        var subtitle = StudyReport.subtitle(seconds: seconds)
        subtitle += " · \(trainedRuns) runs trained, \(cachedRuns) from the cache · \(execution)"
        var page = HTMLReport(title: "Optimizer study", subtitle: subtitle)
        page.paragraph("Every optimizer trains the same MLP on the same data. Because each update rule has its own learning-rate scale, "
                       + "comparing them at fixed learning rates would rank the learning rates rather than the optimizers (Choi et al., 2019; "
                       + "Schmidt et al., 2021): each optimizer's learning rate is tuned on a validation split carved from the training images, "
                       + "over the same grid relative to its textbook rate (the same budget for every optimizer, the reference too). Each is then "
                       + "trained on paired seeds — seed i gives every optimizer the same validation split, data order and initial weights — and "
                       + "each final run is evaluated on the test split once. The reference is SGD with momentum 0.9, the default that adaptive "
                       + "methods set out to beat (Wilson et al., 2017). An optimizer is called better or worse only when the paired t-test's "
                       + "Holm–Bonferroni-adjusted p-value (over all \(max(0, outcome.variants.count - 1)) comparisons) is below 0.05 and the 95% "
                       + "interval of the paired difference excludes 0; otherwise: no detectable difference. Every number below is in results.json "
                       + "beside this page.")
        page.paragraph(tradeOffs)

        let loss = comparisons.first { $0.metric.name == StudyMetric.finalTrainLoss.name }
        page.heading("Takeaways")
        page.emphasizedList(takeaways(comparisons))

        let primary = outcome.settingKinds[0]
        page.heading(outcome.title)
        page.paragraph(outcome.description)
        if let family = outcome.families.first {
            if let forest = SeededStudyReport.forestPlot(outcome, family: family, comparisons: comparisons) {
                page.chart(forest, caption: "Each row: the optimizer's test accuracy minus Momentum's on the same seed, mean and 95% Student-t "
                           + "interval over the seeds; ● tuned, ◆ textbook learning rate; color: the verdict after Holm–Bonferroni over the family.")
            }
            if let table = SeededStudyReport.resultsTable(outcome, family: family, setting: primary, comparisons: comparisons) { page.table(table) }
            if primary == .tuned, outcome.variants.contains(where: \.tuningChangedTheSetting),
               let textbook = SeededStudyReport.resultsTable(outcome, family: family, setting: .textbook, comparisons: comparisons) {
                page.details("The same at the textbook learning rates") { $0.table(textbook) }
            }
            if let loss { page.table(trainLossTable(loss)) }
        }
        page.heading("Curves (mean over \(outcome.seeds.count) seeds, 95% band)", level: 3)
        for group in OptimizerStudy.curveGroups {
            let charts: [(any Chart, String?)] = [
                curves(group.keys, title: "\(group.title): validation accuracy", yTitle: "validation accuracy (%)", logarithmic: false,
                       setting: primary) { $0.validationAccuracy.map { $0 * 100 } },
                curves(group.keys, title: "\(group.title): training loss", yTitle: "train loss (evaluation mode)", logarithmic: true,
                       setting: primary) { $0.trainLoss },
            ].compactMap { $0.map { ($0 as any Chart, String?.none) } }
            if !charts.isEmpty { page.charts(charts) }
        }
        page.paragraph("Validation accuracy is on the validation split (never the test split) after every epoch; the training loss on the clean "
                       + "training part in evaluation mode. Line: mean over the final seeds at the \(primary.rawValue) setting; band: 95% t-interval of the mean.")
        if let best = SeededStudyReport.bestModelCharts(outcome) {
            page.heading("Best model by validation accuracy: \(best.name)", level: 3)
            page.charts([(best.confusion, "Rows: true class; cells: % of that class's test images predicted as each class."),
                         (best.perClass, "Per-class accuracy on the test split.")])
        }

        page.heading("Paths on f(x, y) = x²/20 + y²")
        page.paragraph("\(OptimizerPaths.book.count) optimizers (PyTorch's update rules; Lion and LAMB from their papers) race from (−7, 2) with the "
                       + "learning rates of \"Deep Learning from Scratch\" §6.1 (Saito, 2016). The function and the start are fixed, so the paths are "
                       + "deterministic: one run each, no seeds, no statistics — an illustration of the update rules, not evidence about training networks.")
        page.chart(try OptimizerPaths.chart(OptimizerPaths.book, steps: configuration.pathSteps),
                   caption: "All paths over the contours of f; the large dot marks each start (all start at (−7, 2)).")
        page.details("Each optimizer's path on its own, and the final positions") { page in
            if let small = try? OptimizerPaths.charts(OptimizerPaths.book, steps: configuration.pathSteps) {
                for i in stride(from: 0, to: small.count, by: 2) {
                    page.charts((i..<min(i + 2, small.count)).map { (small[$0], StudyRunPlan.describe(OptimizerPaths.book[$0].optimizer)) })
                }
            }
            page.table(pathTable)
        }

        page.heading("Reproduce")
        StudyReport.addReproduction(to: &page, command: command, caption: "Reproduce the whole study (finished runs are read from the cache)",
                                    outputDirectory: outputDirectory,
                                    logsCaption: "TensorBoard: every run, its scalars and histograms; the HParams tab compares them")
        SeededStudyReport.appendConfigurations(outcome, to: &page)

        page.heading("Method and sources")
        page.list(StudyReferences.method)
        page.list((StudyReferences.all + OptimizerStudy.references).sorted())
        return page
    }

    /// The terminal summary: the results table, the takeaways and the final positions on f(x, y).
    public func plainText(comparisons: [StudyComparison]) -> String {
        var parts: [String] = []
        for family in outcome.families {
            if let table = SeededStudyReport.resultsTable(outcome, family: family, setting: outcome.settingKinds[0], comparisons: comparisons) {
                parts.append("\(outcome.title): \(family.question)\n" + table.plainText)
            }
        }
        parts.append("Takeaways\n" + takeaways(comparisons).map { "• \($0.lead) — \($0.text)" }.joined(separator: "\n"))
        parts.append("Paths on f(x, y) = x²/20 + y²\n" + pathTable.plainText)
        return parts.joined(separator: "\n\n")
    }
}
