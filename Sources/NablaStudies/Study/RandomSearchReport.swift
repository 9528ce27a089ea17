import Foundation

extension RandomSearch.Result {
    /// The best `count` trials: rank, learning rate, weight decay, validation and training accuracy.
    public func bestTable(count: Int = 10) -> ReportTable {
        var table = ReportTable(columns: ["rank", "trial", "learning rate", "weight decay", "val acc", "train acc", "val loss"],
                                caption: "Best \(min(count, runs.count)) of \(runs.count) trials by final validation accuracy")
        for (i, run) in ranked.prefix(count).enumerated() {
            let o = trials[run.key]!
            table.append([.integer(i + 1), .text(run.name), .number(o.learningRate, .significant(3)),
                          .number(o.weightDecay, .significant(3)), .percent(run.final?.testAccuracy ?? .nan),
                          .percent(run.final?.trainAccuracy ?? .nan), .number(run.final?.testLoss ?? .nan, .significant(3))])
        }
        return table
    }

    /// Validation accuracy over (learning rate, weight decay) on logarithmic axes; the best trial is labelled.
    public var scatter: ScatterPlot {
        let best = ranked.first?.key
        let points = runs.map { run -> ScatterPlot.Point in
            let o = trials[run.key]!
            return ScatterPlot.Point(x: o.learningRate, y: o.weightDecay, value: run.final?.testAccuracy.map { $0 * 100 },
                                     label: run.key == best ? "best" : nil)
        }
        return ScatterPlot(title: "Validation accuracy of \(runs.count) random trials", xTitle: "learning rate (log scale)",
                           yTitle: "weight decay (log scale)", series: [.init(name: "", points: points)],
                           xScale: .logarithmic, yScale: .logarithmic, colorTitle: "val acc (%)", width: 760, height: 460, markerSize: 11)
    }

    /// The self-contained HTML report.
    public func report(command: String, outputDirectory: URL?) -> HTMLReport {
        var page = HTMLReport(title: "Random hyper-parameter search", subtitle: StudyReport.subtitle(seconds: seconds))
        let c = configuration
        page.paragraph("\(runs.count) configurations with learning rate 10^U(\(String(format: "%.3g", log10(c.learningRateRange.lowerBound))), "
                       + "\(String(format: "%.3g", log10(c.learningRateRange.upperBound)))) and weight decay 10^U("
                       + "\(String(format: "%.3g", log10(c.weightDecayRange.lowerBound))), \(String(format: "%.3g", log10(c.weightDecayRange.upperBound)))), "
                       + "each training the same MLP (\(c.hidden.map(String.init).joined(separator: "-")) hidden) from the same initial weights "
                       + "with SGD for \(c.epochs) epochs (batch \(c.batchSize)) on \(dataDescription), "
                       + "\(Int(c.validationFraction * 100))% of it held out for validation. The test set is never looked at: "
                       + "choosing hyper-parameters on it would overfit them to the test set.")
        StudyReport.addReproduction(to: &page, command: command, caption: "Reproduce the search",
                                    outputDirectory: outputDirectory, logsCaption: "TensorBoard logs of every trial")
        page.heading("Best configurations")
        page.table(bestTable())
        page.chart(scatter, caption: "Each point is one trial, colored by its final validation accuracy.")
        let top = Array(ranked.prefix(5)).filter { !$0.epochs.isEmpty }
        if !top.isEmpty {
            page.charts([
                (StudyReport.curves(top, title: "Best 5: validation accuracy", yTitle: "validation accuracy (%)") { $0.testAccuracy.map { $0 * 100 } }, nil),
                (StudyReport.curves(top, title: "Best 5: training accuracy", yTitle: "train accuracy (%)") { $0.trainAccuracy.map { $0 * 100 } }, nil),
            ])
        }
        page.heading("All trials")
        page.table(StudyReport.resultsTable(runs, heldOut: "val"))
        page.heading("Configuration of every trial")
        StudyReport.appendRunDetails(runs, to: &page)
        return page
    }

    /// The terminal summary.
    public var plainText: String { bestTable().plainText }
}
