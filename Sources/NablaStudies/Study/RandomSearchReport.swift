import Foundation

extension RandomSearch.Result {
    /// The winner's settings.
    public var winningTrial: RandomSearch.Trial { top[winner].trial }

    /// The best search runs of the last rung: rank, learning rate, weight decay, validation accuracy
    /// (search seed) — every number labelled with its split.
    public func bestTable(count: Int = 10) -> ReportTable {
        let lastRung = (searchRuns.map(\.rung).max() ?? 0)
        let ranked = searchRuns.filter { $0.rung == lastRung }.sorted { ($0.score ?? -1) > ($1.score ?? -1) }
        var table = ReportTable(columns: ["rank", "learning rate", "weight decay", "epochs", "val acc (validation split, seed \(configuration.searchSeeds[0]))",
                                          "train loss (running, training mode)"],
                                caption: "Best \(min(count, ranked.count)) of the \(ranked.count) configurations of the last rung, by final validation accuracy")
        for (i, run) in ranked.prefix(count).enumerated() {
            let accuracy = run.result.final?.validationAccuracy.map { ReportTable.Cell.percent($0) } ?? .text("diverged")
            table.append([.integer(i + 1), .number(run.trial.learningRate, .significant(3)), .number(run.trial.weightDecay, .significant(3)),
                          .integer(run.epochs), run.score == nil ? .text("diverged") : accuracy,
                          .number(run.result.final?.runningLoss ?? .nan, .significant(3))])
        }
        return table
    }

    /// The re-runs of the top configurations: validation accuracy per seed and mean, the winner in bold.
    public var rerunTable: ReportTable {
        let seeds = configuration.searchSeeds
        var table = ReportTable(columns: ["configuration"] + seeds.map { "val acc seed \($0)" } + ["mean val acc", "vs winner (points)", "verdict"],
                                caption: "The top \(top.count) re-run on \(seeds.count) seeds, validation split; the winner has the best mean")
        for (k, entry) in top.enumerated() {
            let values = entry.runs.map { $0.result.final?.validationAccuracy }
            let mean = values.compactMap { $0 }.reduce(0, +) / Double(max(1, values.compactMap { $0 }.count))
            var cells: [ReportTable.Cell] = [.text(RandomSearch.label(entry.trial) + (k == winner ? " (winner)" : ""))]
            cells += values.map { $0.map { ReportTable.Cell.percent($0, digits: 2) } ?? .text("—") }
            cells.append(k == winner ? ReportTable.Cell.percent(mean, digits: 2).emphasized() : .percent(mean, digits: 2))
            let member = comparison?.members.first { $0.key == "top-\(k + 1)" }
            cells.append(.text(member?.comparison.map { SeededStudyReport.difference($0, comparison!.metric).replacingOccurrences(of: " points", with: "") } ?? "—"))
            cells.append(.text(k == winner ? "reference" : (member?.verdict?.text ?? "—")))
            table.append(cells)
        }
        return table
    }

    /// The winner's test accuracy: mean and 95% interval over the final seeds, one test evaluation each.
    public var finalText: String {
        let accuracies = finalRuns.compactMap { $0.test?.accuracy }
        guard let s = try? SampleSummary(of: accuracies) else { return "—" }
        return SeededStudyReport.meanText(s, .testAccuracy) + " (test split, mean ± sd [95% CI] over \(accuracies.count) seeds, evaluated once per run)"
    }

    /// Validation accuracy of every search run over (learning rate, weight decay) on log axes.
    public var scatter: ScatterPlot {
        let points = searchRuns.filter { $0.rung == 0 }.map { run -> ScatterPlot.Point in
            ScatterPlot.Point(x: run.trial.learningRate, y: run.trial.weightDecay, value: run.score.map { $0 * 100 },
                              label: run.trial == winningTrial ? "winner" : nil)
        }
        return ScatterPlot(title: "Validation accuracy of \(points.count) random configurations (first rung)", xTitle: "learning rate (log scale)",
                           yTitle: "weight decay (log scale)", series: [.init(name: "", points: points)],
                           xScale: .logarithmic, yScale: .logarithmic, colorTitle: "val acc (%)", width: 760, height: 460, markerSize: 11)
    }

    /// The self-contained HTML report.
    public func report(command: String, outputDirectory: URL?) -> HTMLReport {
        let c = configuration
        var page = HTMLReport(title: "Random hyper-parameter search", subtitle: StudyReport.subtitle(seconds: seconds))
        page.emphasizedList([("winner", "\(RandomSearch.label(winningTrial)) — test accuracy \(finalText).")])
        page.paragraph("\(c.trials) configurations with learning rate 10^U(\(String(format: "%.3g", log10(c.learningRateRange.lowerBound))), "
                       + "\(String(format: "%.3g", log10(c.learningRateRange.upperBound)))) and weight decay 10^U("
                       + "\(String(format: "%.3g", log10(c.weightDecayRange.lowerBound))), \(String(format: "%.3g", log10(c.weightDecayRange.upperBound)))), "
                       + "each training the MLP \(c.hidden.map(String.init).joined(separator: "-")) with SGD (momentum 0.9, constant learning rate, "
                       + "weight decay on the weights) on \(dataDescription), \(Int(c.validationFraction * 100))% of it held out for validation. "
                       + (c.halving ? "Successive halving (η = \(c.eta)): " + c.rungs.map { "\($0.count) × \($0.epochs) epochs" }.joined(separator: " → ") + ". "
                          : "Every configuration trains \(c.epochs) epochs. ")
                       + "The best \(top.count) are re-run on \(c.searchSeeds.count) seeds and the winner (best mean validation accuracy) is retrained on "
                       + "training + validation data on \(c.finalSeeds.count) seeds and evaluated on the test split once per run. "
                       + "The test split chooses nothing.")
        page.heading("Search (validation split)")
        page.table(bestTable())
        page.chart(scatter, caption: "Each point is one configuration of the first rung, colored by its final validation accuracy.")
        page.heading("Re-runs of the best configurations (validation split)")
        page.table(rerunTable)
        page.chart(SeededStudyReport.curveChart(top.map { (RandomSearch.label($0.trial), $0.runs.map(\.result)) },
                                                title: "Top configurations: validation accuracy (mean, 95% CI over seeds)", yTitle: "validation accuracy (%)") {
            $0.validationAccuracy.map { $0 * 100 }
        }, caption: "Validation split.")
        page.heading("The winner on the test split")
        page.paragraph("Retrained on the training and validation images together (no held-out part), \(c.epochs) epochs, seeds "
                       + c.finalSeeds.map(String.init).joined(separator: ", ") + ": " + finalText + ".")
        page.heading("Reproduce")
        StudyReport.addReproduction(to: &page, command: command, caption: "Reproduce the search (finished runs are read from the cache)",
                                    outputDirectory: outputDirectory, logsCaption: "TensorBoard logs of every run")
        page.heading("Sources")
        page.list(["Bergstra, J. & Bengio, Y. (2012). Random Search for Hyper-Parameter Optimization. JMLR 13.",
                   "Jamieson, K. & Talwalkar, A. (2016). Non-stochastic Best Arm Identification and Hyperparameter Optimization. AISTATS.",
                   "Li, L. et al. (2018). Hyperband. JMLR 18."])
        return page
    }

    /// `results.json`: the runners-up comparison (validation) and the full search record.
    public func resultsFile(command: String) -> StudyResultsFile {
        var file = StudyResultsFile(outcomes: [], comparisons: comparison.map { [$0] } ?? [], bestModels: [], command: command)
        func entry(_ run: RandomSearch.Run) -> StudyResultsFile.Search.Entry {
            .init(lr: run.trial.learningRate, weightDecay: run.trial.weightDecay, rung: run.rung, epochs: run.epochs, seed: run.seed,
                  value: run.result.final?.validationAccuracy)
        }
        file.search = .init(trials: searchRuns.map(entry), reruns: top.flatMap { $0.runs.map(entry) },
                            winner: ["lr": winningTrial.learningRate, "weight_decay": winningTrial.weightDecay],
                            final: zip(configuration.finalSeeds, finalRuns).map { .init(seed: $0, split: "test", value: $1.test?.accuracy) })
        return file
    }

    /// One row per run: stage, configuration, epochs, seed, figures with their splits.
    public var csv: String {
        var lines = ["stage,lr,weight_decay,epochs,seed,validation_accuracy,test_accuracy"]
        func v(_ x: Double?) -> String { x.map { String(format: "%.6g", $0) } ?? "" }
        for run in searchRuns { lines.append("search-rung-\(run.rung + 1),\(run.trial.learningRate),\(run.trial.weightDecay),\(run.epochs),\(run.seed),\(v(run.result.final?.validationAccuracy)),") }
        for entry in top { for run in entry.runs { lines.append("rerun,\(run.trial.learningRate),\(run.trial.weightDecay),\(run.epochs),\(run.seed),\(v(run.result.final?.validationAccuracy)),") } }
        for (seed, run) in zip(configuration.finalSeeds, finalRuns) {
            lines.append("final,\(winningTrial.learningRate),\(winningTrial.weightDecay),\(configuration.epochs),\(seed),,\(v(run.test?.accuracy))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The terminal summary.
    public var plainText: String {
        bestTable().plainText + "\n\n" + rerunTable.plainText + "\n\nwinner: \(RandomSearch.label(winningTrial)), test accuracy \(finalText)"
    }
}
