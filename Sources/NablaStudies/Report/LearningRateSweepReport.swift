import Foundation
import NablaTraining

/// The charts and page of a learning-rate range test (``LearningRateSweep``): the raw and smoothed
/// loss against the learning rate on a log axis, with the suggestion marked.
public struct LearningRateSweepReport {
    /// The sweep drawn.
    public let sweep: LearningRateSweep
    /// What was swept (the `nabla lr-find` command), for the page.
    public let command: String?

    /// A report of `sweep`, made by `command` when given.
    public init(_ sweep: LearningRateSweep, command: String? = nil) {
        self.sweep = sweep
        self.command = command
    }

    /// Loss against learning rate (log scale): the batch losses, the smoothed loss, and a dashed
    /// vertical line at the suggestion.
    public var chart: LineChart {
        let finite = sweep.smoothedLosses.filter(\.isFinite)
        var series = [
            LineChart.Series(name: "batch loss", x: sweep.learningRates, y: sweep.losses, showsMarkers: false),
            LineChart.Series(name: "smoothed loss", x: sweep.learningRates, y: sweep.smoothedLosses, showsMarkers: false),
        ]
        // The interesting part: from the minimum to twice the drop from the start (the tail diverges).
        var yRange: ClosedRange<Double>?
        if let low = finite.min(), let first = finite.first {
            let high = max(low + 2 * (first - low), low + 1e-9)
            yRange = low - 0.05 * (high - low)...high
        }
        if let suggestion = sweep.suggestion, let range = yRange {
            series.append(LineChart.Series(name: "suggestion \(String(format: "%.3g", suggestion))",
                                           x: [suggestion, suggestion], y: [range.lowerBound, range.upperBound], dashed: true))
        }
        let clipped = series.map { s -> LineChart.Series in
            guard let range = yRange else { return s }
            var s = s
            s.y = s.y.map { min(max($0, range.lowerBound), range.upperBound) }
            return s
        }
        return LineChart(title: "Learning-rate range test", xTitle: "learning rate", yTitle: "training loss",
                         series: clipped, xScale: .logarithmic, yRange: yRange)
    }

    /// A standalone HTML page: the chart, the suggestion with its rule, and the table of points.
    public func html() -> String {
        var report = HTMLReport(title: "Learning-rate range test", subtitle: command)
        report.chart(chart, caption: "Loss while the learning rate grows exponentially (Smith 2017, §3.3); values above twice the initial drop are drawn at the top.")
        var items = ["Suggested learning rate: " + (sweep.suggestion.map { String(format: "%.3g", $0) } ?? "none (the loss did not fall)") + " — " + sweep.rule + "."]
        if let m = sweep.minimumOverTen { items.append(String(format: "A tenth of the rate at the minimum of the smoothed loss: %.3g.", m)) }
        if let reason = sweep.stopReason { items.append("Stopped early: \(reason).") }
        report.list(items)
        var table = ReportTable(columns: ["lr", "loss", "smoothed loss"])
        for i in sweep.learningRates.indices {
            table.append([String(format: "%.4g", sweep.learningRates[i]), String(format: "%.5g", sweep.losses[i]), String(format: "%.5g", sweep.smoothedLosses[i])].map { ReportTable.Cell(text: $0, isNumeric: true) })
        }
        report.table(table)
        return report.render()
    }
}
