import Foundation
import NablaNN

extension RegularizationStudy.Result {
    /// Every comparison of every regime: per family, test accuracy (tuned and textbook), the
    /// train − test gap and the calibration error (tuned).
    public func comparisons() throws -> [StudyComparison] {
        try regimes.flatMap { try SeededStudyReport.comparisons($0) }
    }

    /// `results.json` for the comparisons, with the best models chosen on validation.
    public func resultsFile(command: String, comparisons: [StudyComparison]) -> StudyResultsFile {
        let best = regimes.compactMap { outcome in SeededStudyReport.bestModel(outcome).map { (outcome, $0.key, $0.kind) } }
        return StudyResultsFile(outcomes: regimes, comparisons: comparisons, bestModels: best, command: command)
    }

    /// What this invocation scaled down, for the report.
    var tradeOffs: String {
        let c = configuration
        var text = "This run: \(c.seedCount) final seeds per variant and setting"
        if c.tunes {
            text += ", a \(c.grid == .small ? "small" : "full") tuning grid (\(regimes.first?.budget ?? 0) points per variant, "
                + "\(c.tuningSeedCount) tuning seed\(c.tuningSeedCount == 1 ? "" : "s"))"
        } else {
            text += ", no tuning (textbook settings only)"
        }
        text += ", \(c.epochs) epochs per MLP run."
        if c.grid == .small {
            text += " `make run` keeps to about ten minutes on two cores by testing 7 of the 13 MLP variants on a 4-point grid with one "
                + "tuning seed; `--full` tunes all 13 on 9-point grids and adds the CNN regime on the whole training set (about an hour). "
                + "With one tuning seed the chosen setting is itself noisy; with five final seeds only effects of about twice the seed-to-seed "
                + "spread of the paired difference are detectable."
        }
        return text
    }

    /// The self-contained HTML report: takeaways, then per regime the forest plot, the table, the
    /// curves, the best model and the mechanisms; demos, configurations and sources folded away.
    public func report(command: String, outputDirectory: URL?, comparisons: [StudyComparison]) -> HTMLReport {
        var subtitle = StudyReport.subtitle(seconds: seconds)
        subtitle += " · \(trainedRuns) runs trained, \(cachedRuns) from the cache · \(execution)"
        var page = HTMLReport(title: "Regularization study", subtitle: subtitle)
        page.paragraph("Each variant is tuned on a validation split carved from the training images, with the same budget for every "
                       + "variant (the baseline too); then it is trained on paired seeds — seed i gives every variant the same validation "
                       + "split, data order, augmentation stream and initial weights — and each final run is evaluated on the test split once. "
                       + "A variant is called better or worse than its reference only when the paired t-test's Holm–Bonferroni-adjusted "
                       + "p-value is below 0.05 and the 95% interval of the paired difference excludes 0; otherwise: no detectable difference. "
                       + "Every number below is in results.json beside this page.")
        page.paragraph(tradeOffs)

        page.heading("Takeaways")
        for outcome in regimes {
            if regimes.count > 1 { page.heading(outcome.title, level: 3) }
            page.emphasizedList(SeededStudyReport.takeaways(outcome, comparisons: comparisons))
        }
        for outcome in regimes { appendRegime(outcome, comparisons: comparisons, to: &page) }

        page.heading("Demos (one seed each, illustrations without statistics)")
        page.details("The noisy line, initialization and the dropout scale") { page in
            if let line { appendLine(line, to: &page) }
            if !initialization.isEmpty { appendInitialization(to: &page) }
            page.heading("Dropout scale", level: 3)
            page.paragraph("Inverted dropout scales the kept units by 1/(1 − p) in training, so a training-mode output is a random variable whose "
                           + "mean is the evaluation-mode output; vanilla dropout leaves training unscaled and multiplies by (1 − p) in evaluation.")
            page.table(DropoutScaleDemo.table(dropoutScale))
        }

        page.heading("Reproduce")
        StudyReport.addReproduction(to: &page, command: command, caption: "Reproduce the whole study (finished runs are read from the cache)",
                                    outputDirectory: outputDirectory,
                                    logsCaption: "TensorBoard: every run, its scalars and histograms; the HParams tab compares them")
        for outcome in regimes { SeededStudyReport.appendConfigurations(outcome, to: &page) }

        page.heading("Method and sources")
        page.list(StudyReferences.method)
        page.list(StudyReferences.all)
        return page
    }

    private func appendRegime(_ outcome: SeededStudyOutcome, comparisons: [StudyComparison], to page: inout HTMLReport) {
        page.heading(outcome.title)
        page.paragraph(outcome.description)
        let primary = outcome.settingKinds[0]
        for family in outcome.families {
            if outcome.families.count > 1 { page.heading(family.question, level: 3) }
            if let forest = SeededStudyReport.forestPlot(outcome, family: family, comparisons: comparisons) {
                page.chart(forest, caption: "Each row: the variant's test accuracy minus the reference's on the same seed, mean and 95% Student-t "
                           + "interval over the seeds; ● tuned, ◆ textbook setting; color: the verdict after Holm–Bonferroni over the family.")
            }
            if let table = SeededStudyReport.resultsTable(outcome, family: family, setting: primary, comparisons: comparisons) { page.table(table) }
            if primary == .tuned, outcome.variants.contains(where: \.tuningChangedTheSetting),
               let textbook = SeededStudyReport.resultsTable(outcome, family: family, setting: .textbook, comparisons: comparisons) {
                page.details("The same at the textbook settings") { $0.table(textbook) }
            }
            page.chart(SeededStudyReport.validationCurves(outcome, family: family, setting: primary),
                       caption: "Validation split (never the test split) after every epoch; line: mean over the seeds, band: 95% t-interval of the mean.")
        }
        if let best = SeededStudyReport.bestModelCharts(outcome) {
            page.heading("Best model by validation accuracy: \(best.name)", level: 3)
            page.charts([(best.confusion, "Rows: true class; cells: % of that class's test images predicted as each class."),
                         (best.perClass, "Per-class accuracy on the test split.")])
        }
        guard let family = outcome.families.first else { return }
        page.heading("Mechanisms: what each regularizer does to the weights, the gap and the confidence", level: 3)
        let norms = SeededStudyReport.weightNormCharts(outcome, family: family, setting: primary)
        if !norms.isEmpty {
            for i in stride(from: 0, to: norms.count, by: 2) { page.charts((i..<min(i + 2, norms.count)).map { (norms[$0], nil) }) }
            page.paragraph("Frobenius norm of each weight layer after every epoch (mean over seeds): weight decay and L1 hold the norms down; "
                           + "BatchNorm makes the loss invariant to a layer's scale, so its norms drift freely.")
        }
        let gap = comparisons.first { $0.family == family && $0.setting == primary && $0.metric.name == StudyMetric.generalizationGap.name }
        let ece = comparisons.first { $0.family == family && $0.setting == primary && $0.metric.name == StudyMetric.calibrationError.name }
        page.charts([
            (SeededStudyReport.dotPlot(outcome, family: family, setting: primary, title: "Train − test accuracy gap", xTitle: "points (train: clean training part; test split)",
                                       comparison: gap) { StudyMetric.generalizationGap.value($0) },
             "Mean and 95% CI over seeds; green/red: gap smaller/larger than the reference's (paired, Holm)."),
            (SeededStudyReport.dotPlot(outcome, family: family, setting: primary, title: "Calibration error (ECE, test split)", xTitle: "ECE (points)",
                                       comparison: ece) { $0.test?.calibrationError },
             "Expected calibration error, 15 confidence bins (Guo et al., 2017); lower is better calibrated."),
        ])
        page.chart(SeededStudyReport.dotPlot(outcome, family: family, setting: primary, title: "Weight sparsity after training",
                                             xTitle: "% of weights with |w| < 10⁻³") { $0.sparsity },
                   caption: "L1's constant pull drives weights to exactly zero; L2 only shrinks them.")
    }

    private func appendLine(_ line: SeedLineStudy.Result, to page: inout HTMLReport) {
        page.heading("Weight decay and dropout on a noisy line", level: 3)
        page.paragraph("Ten points y = 1.5x + N(0, 0.5²) fitted by the line-mlp (three hidden layers of 100 ReLU units) with full-batch SGD "
                       + "(lr 0.01, momentum 0.9, MSE) for \(line.runs.first?.epochs.count ?? 0) steps; the held-out points lie on the same x grid "
                       + "with noise N(0, 0.3²).")
        page.table(StudyReport.resultsTable(line.runs, heldOut: "held-out"))
        let data = [FitChart.Points(name: "training points", points: line.trainPoints, shape: .circle),
                    FitChart.Points(name: "held-out points", points: line.testPoints, shape: .triangle, color: "#888888")]
        let truth = FitChart.Curve(name: "y = 1.5x", x: [line.grid.first!, line.grid.last!], y: [1.5 * line.grid.first!, 1.5 * line.grid.last!],
                                   color: "#999999", dashed: true)
        func fit(_ keys: [String], _ title: String) -> FitChart {
            let curves = keys.enumerated().compactMap { i, key -> FitChart.Curve? in
                guard let run = line.runs.first(where: { $0.key == key }), let y = line.predictions[key] else { return nil }
                return FitChart.Curve(name: run.name, x: line.grid, y: y, color: ChartPalette.color(forSeries: i))
            }
            return FitChart(title: title, curves: curves + [truth], points: data, xRange: line.grid.first!...line.grid.last!)
        }
        page.charts([(fit(["line-plain", "line-weight-decay"], "Weight decay: fitted curves"), nil),
                     (fit(["line-plain", "line-dropout"], "Dropout: fitted curves"), nil)])
        func histogram(_ keys: [String], _ title: String) -> HistogramChart {
            let series = keys.compactMap { key in line.runs.first { $0.key == key } }.map { HistogramChart.Series(name: $0.name, values: $0.weights) }
            return HistogramChart(title: title, xTitle: "weight", series: series, binCount: 60,
                                  range: StudyReport.centralRange(series.flatMap(\.values)), density: true, width: 560, height: 360)
        }
        page.charts([(histogram(["line-plain", "line-weight-decay"], "Weights: no decay vs weight decay"), nil),
                     (histogram(["line-plain", "line-dropout"], "Weights: dropout 0 vs 0.5"), nil)])
    }

    private func appendInitialization(to page: inout HTMLReport) {
        page.heading("Initialization", level: 3)
        page.paragraph(InitializationStudy.explanation)
        page.table(StudyReport.resultsTable(initialization, heldOut: "val"))
        page.charts([
            (StudyReport.curves(initialization, title: "Training loss (evaluation mode)", yTitle: "train loss", logarithmic: true) { $0.trainLoss }, nil),
            (StudyReport.curves(initialization, title: "Validation accuracy", yTitle: "validation accuracy (%)") { $0.testAccuracy.map { $0 * 100 } }, nil),
        ])
    }

    /// The terminal summary: per regime and family the results table and the takeaways.
    public func plainText(comparisons: [StudyComparison]) -> String {
        var parts: [String] = []
        for outcome in regimes {
            for family in outcome.families {
                if let table = SeededStudyReport.resultsTable(outcome, family: family, setting: outcome.settingKinds[0], comparisons: comparisons) {
                    parts.append("\(outcome.title): \(family.question)\n" + table.plainText)
                }
            }
            let items = SeededStudyReport.takeaways(outcome, comparisons: comparisons)
            parts.append("Takeaways (\(outcome.title))\n" + items.map { "• \($0.lead) — \($0.text)" }.joined(separator: "\n"))
        }
        return parts.joined(separator: "\n\n")
    }
}
