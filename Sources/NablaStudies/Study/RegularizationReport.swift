import Foundation
import NablaNN

extension RegularizationStudy.Result {
    /// The run with `key`, if it ran.
    public func run(_ key: String) -> StudyRun? { (runs + initialization + (line?.runs ?? [])).first { $0.key == key } }

    /// The textbook effects this study should show, checked against its numbers.
    public var checks: [StudyCheck] {
        var checks: [StudyCheck] = []
        let pts = { (x: Double) in String(format: "%.1f", x * 100) }
        if let baseline = run("baseline"), let baseGap = baseline.accuracyGap {
            // Stochastic depth is judged against its own reference, the residual net (below).
            let regularized = runs.filter { !["baseline", "residual", "stochastic-depth"].contains($0.key) && $0.accuracyGap != nil }
            if !regularized.isEmpty, let baseLoss = baseline.lossGap {
                let smallerLoss = regularized.filter { ($0.lossGap ?? .infinity) < baseLoss }
                checks.append(StudyCheck(
                    "Every regularized MLP has a smaller generalization gap (test − train loss) than the baseline",
                    holds: smallerLoss.count == regularized.count,
                    detail: String(format: "baseline %.3f; ", baseLoss)
                        + regularized.map { "\($0.name) " + String(format: "%.3f", $0.lossGap ?? .nan) }.joined(separator: ", ")))
                // BatchNorm and stochastic depth leave the net able to memorize the training set; the
                // regularizers that constrain the fit should also shrink the accuracy gap.
                let constraining = regularized.filter { $0.key != "batchnorm" }
                let wider = constraining.filter { $0.accuracyGap! >= baseGap }
                if !constraining.isEmpty { checks.append(StudyCheck(
                    "Penalties, dropout and augmentation also shrink the train − test accuracy gap",
                    holds: wider.isEmpty,
                    detail: "\(constraining.count - wider.count) of \(constraining.count) runs below the baseline's \(pts(baseGap)) pts"
                        + (wider.isEmpty ? "" : "; not: " + wider.map { "\($0.name) \(pts($0.accuracyGap!))" }.joined(separator: ", ")))) }
            }
            if let residual = run("residual"), let depth = run("stochastic-depth"), let a = residual.lossGap, let b = depth.lossGap {
                checks.append(StudyCheck("Stochastic depth narrows the generalization gap (test − train loss) of the residual net", holds: b < a,
                                         detail: String(format: "residual net %.3f, with DropPath %.3f", a, b)
                                             + " (accuracy gap \(pts(residual.accuracyGap ?? .nan)) → \(pts(depth.accuracyGap ?? .nan)) pts)"))
            }
        }
        if let l1 = run("l1"), let baseline = run("baseline") {
            let others = runs.filter { $0.key != "l1" && $0.key != "elastic-net" }
            checks.append(StudyCheck("L1 makes weights sparse (|w| < 10⁻³) — the other regularizers do not",
                                     holds: others.allSatisfy { $0.sparsity < l1.sparsity } && l1.sparsity > baseline.sparsity,
                                     detail: String(format: "L1 %.1f%%, baseline %.1f%%, largest other %.1f%%", l1.sparsity * 100,
                                                    baseline.sparsity * 100, (others.map(\.sparsity).max() ?? 0) * 100)))
        }
        if let decay = run("l2-decay"), let penalty = run("l2-penalty"), let a = decay.final, let b = penalty.final {
            let same = abs(a.trainLoss - b.trainLoss) <= 0.05 * max(a.trainLoss, b.trainLoss) + 1e-3
                && abs((a.testAccuracy ?? 0) - (b.testAccuracy ?? 0)) < 0.01
            checks.append(StudyCheck("SGD weight decay λ and the penalty λ/2·Σw² train the same way", holds: same,
                                     detail: String(format: "train loss %.4f vs %.4f, test accuracy %.2f%% vs %.2f%%", a.trainLoss, b.trainLoss,
                                                    (a.testAccuracy ?? 0) * 100, (b.testAccuracy ?? 0) * 100)))
        }
        if let bad = run("init-normal"), let bn = run("init-normal-batchnorm"), let a = bad.final, let b = bn.final {
            let target = max(a.trainLoss, b.trainLoss)
            let reachBN = InitializationStudy.epochsToReach(target, in: bn) ?? bn.epochs.count
            checks.append(StudyCheck("A normal(0,1)-initialized net trains slower than the same net with BatchNorm",
                                     holds: b.trainLoss < a.trainLoss,
                                     detail: String(format: "training loss after %d epochs: %.3g without BatchNorm, %.3g with it (BatchNorm was below that after epoch %d)",
                                                    bad.epochs.count, a.trainLoss, b.trainLoss, reachBN)))
        }
        if let xavier = run("init-xavier"), let bad = run("init-normal"), let a = xavier.final, let b = bad.final {
            checks.append(StudyCheck("Xavier initialization trains faster than normal(0,1)", holds: a.trainLoss < b.trainLoss,
                                     detail: String(format: "final training loss %.3g vs %.3g", a.trainLoss, b.trainLoss)))
        }
        if let line {
            let spread = { (r: StudyRun) -> Double in
                let m = r.weights.reduce(0, +) / Double(max(1, r.weights.count))
                return (r.weights.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(1, r.weights.count))).squareRoot()
            }
            if let plain = line.runs.first(where: { $0.key == "line-plain" }), let decay = line.runs.first(where: { $0.key == "line-weight-decay" }),
               let a = plain.final, let b = decay.final {
                checks.append(StudyCheck("Weight decay keeps the line-mlp from fitting the noise and concentrates its weights",
                                         holds: b.trainLoss > a.trainLoss && spread(decay) < spread(plain),
                                         detail: String(format: "train MSE %.3f → %.3f, weight std %.4f → %.4f", a.trainLoss, b.trainLoss,
                                                        spread(plain), spread(decay))))
            }
            if let plain = line.runs.first(where: { $0.key == "line-plain" }), let dropout = line.runs.first(where: { $0.key == "line-dropout" }),
               let a = plain.final, let b = dropout.final {
                checks.append(StudyCheck("Dropout keeps the line-mlp from fitting the noise", holds: b.trainLoss > a.trainLoss,
                                         detail: String(format: "train MSE %.3f → %.3f, test MSE %.3f → %.3f", a.trainLoss, b.trainLoss,
                                                        a.testLoss, b.testLoss)))
            }
        }
        for row in dropoutScale.rows {
            let tolerance = 4 * row.trainingStandardDeviation / Double(dropoutScale.passes).squareRoot() + 1e-9
            checks.append(StudyCheck("\(row.mode.rawValue.capitalized) dropout: the training-mode output averages the evaluation output",
                                     holds: abs(row.trainingMean - row.evaluation) <= tolerance,
                                     detail: String(format: "mean of %d passes %.1f, evaluation %.0f", dropoutScale.passes, row.trainingMean, row.evaluation)))
        }
        return checks
    }

    /// The self-contained HTML report.
    public func report(command: String, outputDirectory: URL?) -> HTMLReport {
        var page = HTMLReport(title: "Regularization study", subtitle: StudyReport.subtitle(seconds: seconds))
        let c = configuration
        page.paragraph("One network, trained the same way (SGD lr \(StudyRunPlan.format(c.learningRate)) annealed to 0 by a cosine schedule, "
                       + "momentum \(StudyRunPlan.format(c.momentum)), batch \(c.batchSize), \(c.epochs) epochs, seed \(c.seed)) on a deliberately small training set, so that without "
                       + "regularization it memorizes the training data. Data: \(dataDescription). Train figures are measured in evaluation "
                       + "mode on the clean training set, like the test figures. The generalization gap is test − train loss (the "
                       + "difference between expected and empirical risk); the accuracy gap is train − test accuracy in percentage points. "
                       + "Sparsity is the fraction of weights with |w| < 10⁻³.")
        StudyReport.addReproduction(to: &page, command: command, caption: "Reproduce the whole study",
                                    outputDirectory: outputDirectory,
                                    logsCaption: "TensorBoard logs of every run (scalars per epoch, weight and gradient histograms)")
        if !runs.isEmpty {
            page.heading("Results")
            page.table(StudyReport.resultsTable(runs, caption: "Final epoch; bold: best test accuracy and smallest accuracy gap"))
            page.paragraph("Penalties, dropout and augmentation keep the network from memorizing the training set (lower train "
                           + "accuracy, smaller gaps). BatchNorm and stochastic depth barely change what the network can memorize — "
                           + "both still reach 100% training accuracy — but lower the test loss: they regularize the confidence of the "
                           + "predictions more than their ranking. Regularization slows fitting, so within a fixed budget the "
                           + "strongest combination can underfit.")
            let names = runs.map(\.name)
            page.charts([
                (BarChart(title: "Generalization gap", yTitle: "test loss − train loss", categories: names,
                          series: [.init(name: "gap", values: runs.map { $0.lossGap ?? .nan })],
                          valueLabel: { String(format: "%.2f", $0) }, width: 560, height: 380), "Test − train loss after the last epoch"),
                (BarChart(title: "Accuracy gap", yTitle: "train − test accuracy (points)", categories: names,
                          series: [.init(name: "gap", values: runs.map { ($0.accuracyGap ?? .nan) * 100 })],
                          valueLabel: { String(format: "%.1f", $0) }, width: 560, height: 380), "Train − test accuracy after the last epoch"),
            ])
            page.chart(BarChart(title: "Test accuracy", yTitle: "accuracy (%)", categories: names,
                                series: [.init(name: "test", values: runs.map { ($0.final?.testAccuracy ?? .nan) * 100 })],
                                valueLabel: { String(format: "%.1f", $0) }, width: 560, height: 380), caption: "Test accuracy after the last epoch")
            let groups: [(String, [String])] = [
                ("Penalties", ["baseline", "l2-decay", "l2-penalty", "l1", "elastic-net"]),
                ("Dropout and BatchNorm", ["baseline", "dropout", "dropout-vanilla", "batchnorm", "batchnorm-dropout"]),
                ("Augmentation, stochastic depth, all combined", ["baseline", "augmentation", "residual", "stochastic-depth", "combined"]),
            ]
            for (title, keys) in groups {
                let members = keys.compactMap { key in runs.first { $0.key == key } }
                guard members.count > 1 || runs.count == 1 else { continue }
                page.heading(title, level: 3)
                page.charts([
                    (StudyReport.curves(members, title: "\(title): test loss", yTitle: "test loss", dashed: ["l2-penalty"]) { $0.testLoss }, nil),
                    (StudyReport.curves(members, title: "\(title): accuracy gap", yTitle: "train − test accuracy (points)",
                                        dashed: ["l2-penalty"]) {
                        guard let a = $0.trainAccuracy, let b = $0.testAccuracy else { return nil }
                        return (a - b) * 100
                    }, nil),
                ])
            }
            let histogramRuns = ["baseline", "l2-decay", "l1"].compactMap { key in runs.first { $0.key == key } }
            if !histogramRuns.isEmpty {
                page.heading("Weights after training", level: 3)
                page.chart(HistogramChart(title: "Weight distribution (all Linear weights)", xTitle: "weight", series: histogramRuns.map {
                    .init(name: $0.name, values: $0.weights)
                }, binCount: 80, range: -0.15...0.15, density: true, yScale: .logarithmic, width: 760, height: 380),
                           caption: "Weight decay pulls the distribution towards zero; L1 piles weights up at exactly zero (log scale).")
            }
        }
        if let line { appendLine(line, to: &page) }
        if !initialization.isEmpty {
            page.heading("Initialization: N(0, 1), Xavier (Glorot & Bengio 2010) and BatchNorm")
            page.paragraph(InitializationStudy.explanation)
            page.table(StudyReport.resultsTable(initialization))
            page.charts([
                (StudyReport.curves(initialization, title: "Training loss (evaluation mode)", yTitle: "train loss", logarithmic: true) { $0.trainLoss }, nil),
                (StudyReport.curves(initialization, title: "Test accuracy", yTitle: "test accuracy (%)") { $0.testAccuracy.map { $0 * 100 } }, nil),
            ])
        }
        page.heading("Dropout scale: inverted vs vanilla (Srivastava et al. 2014)")
        page.paragraph("Inverted dropout scales the kept units by 1/(1 − p) in training, so a training-mode output is a random "
                       + "variable whose mean is the evaluation-mode output; vanilla dropout leaves training unscaled and multiplies by "
                       + "(1 − p) in evaluation instead.")
        page.table(DropoutScaleDemo.table(dropoutScale))
        let checks = self.checks
        if !checks.isEmpty {
            page.heading("Checks")
            page.paragraph("The textbook effects this study is meant to show, checked against this run's numbers.")
            page.table(StudyReport.checksTable(checks))
        }
        page.heading("Configuration of every run")
        StudyReport.appendRunDetails(runs + (line?.runs ?? []) + initialization, to: &page)
        return page
    }

    private func appendLine(_ line: SeedLineStudy.Result, to page: inout HTMLReport) {
        page.heading("Weight decay and dropout on a noisy line")
        page.paragraph("Ten points y = 1.5x + N(0, 0.5²) fitted by the line-mlp (three hidden layers of 100 ReLU units) with "
                       + "full-batch SGD (lr 0.01, momentum 0.9, MSE) for \(line.runs.first?.epochs.count ?? 0) steps; the test points "
                       + "lie on the same x grid with noise N(0, 0.3²).")
        page.table(StudyReport.resultsTable(line.runs))
        let data = [FitChart.Points(name: "training points", points: line.trainPoints, shape: .circle),
                    FitChart.Points(name: "test points", points: line.testPoints, shape: .triangle, color: "#888888")]
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
        page.charts([
            (StudyReport.curves(line.runs, title: "Training MSE (evaluation mode)", yTitle: "train MSE", logarithmic: true) { $0.trainLoss }, nil),
            (StudyReport.curves(line.runs, title: "Test MSE", yTitle: "test MSE", logarithmic: true) { $0.testLoss }, nil),
        ])
        func histogram(_ keys: [String], _ title: String) -> HistogramChart {
            let series = keys.compactMap { key in line.runs.first { $0.key == key } }.map { HistogramChart.Series(name: $0.name, values: $0.weights) }
            return HistogramChart(title: title, xTitle: "weight", series: series, binCount: 60,
                                  range: StudyReport.centralRange(series.flatMap(\.values)), density: true, width: 560, height: 360)
        }
        page.charts([(histogram(["line-plain", "line-weight-decay"], "Weights: no decay vs weight decay"), nil),
                     (histogram(["line-plain", "line-dropout"], "Weights: dropout 0 vs 0.5"), nil)])
    }

    /// The terminal summary: the results tables and the checks.
    public var plainText: String {
        var parts: [String] = []
        if !runs.isEmpty { parts.append("Regularization (\(dataDescription))\n" + StudyReport.resultsTable(runs).plainText) }
        if let line { parts.append("Noisy line\n" + StudyReport.resultsTable(line.runs).plainText) }
        if !initialization.isEmpty { parts.append("Initialization\n" + StudyReport.resultsTable(initialization).plainText) }
        parts.append("Dropout scale\n" + DropoutScaleDemo.table(dropoutScale).plainText)
        let checks = self.checks
        if !checks.isEmpty { parts.append("Checks\n" + checks.map(\.line).joined(separator: "\n")) }
        return parts.joined(separator: "\n\n")
    }
}
