import Foundation
import NablaTensor
import NablaTraining

/// `nabla study replicate [NAME…]`: scaled-down replications of published results, one card each.
///
/// All cards' runs go to the engine as one batch (so the workers stay busy across cards) and are
/// cached like any study run; then each card judges its runs against the band it fixed in advance.
public enum ReplicationStudy {
    /// A card with its judged outcome.
    public struct CardResult {
        /// The card.
        public var card: ReplicationCard
        /// What it measured and whether that replicates the claim.
        public var outcome: ReplicationOutcome
    }

    /// Everything one `nabla study replicate` produced.
    public struct Result {
        /// The cards in the order they were asked for.
        public var cards: [CardResult]
        /// Wall-clock seconds of the whole run.
        public var seconds: Double
        /// Runs trained by this invocation.
        public var trainedRuns: Int
        /// Runs read from the cache.
        public var cachedRuns: Int
        /// How runs were executed (``StudyExecutor/summary``).
        public var execution: String
    }

    /// Runs `cards` through `engine` and judges them.
    public static func run(_ cards: [ReplicationCard], engine: StudyEngine) throws -> Result {
        let start = Date()
        let jobs = cards.flatMap(\.jobs)
        let results = try engine.run(jobs, stage: "Replications: \(cards.map(\.key).joined(separator: ", "))")
        let judged = try cards.map { CardResult(card: $0, outcome: try $0.judge(results)) }
        return Result(cards: judged, seconds: Date().timeIntervalSince(start), trainedRuns: engine.trainedCount,
                      cachedRuns: engine.cachedCount, execution: engine.executor.summary)
    }
}

extension ReplicationStudy.Result {
    /// The summary table: card, claim's source, band, measured, status (the README's table).
    public var summaryTable: ReportTable {
        var table = ReportTable(columns: ["card", "source", "measured", "band", "result"])
        for c in cards {
            let status = ReportTable.Cell.text(c.outcome.status.text)
            table.append([.text(c.card.title), .text(c.card.source), .text(c.outcome.measured), .text(c.card.band),
                          c.outcome.status == .replicated ? status.emphasized() : status])
        }
        return table
    }

    /// The README's table in Markdown: card, paper, measured, result.
    public var markdownTable: String {
        var lines = ["| card | paper | measured | replicated? |", "|---|---|---|---|"]
        for c in cards {
            lines.append("| \(c.card.title) | \(c.card.source) | \(c.outcome.measured) | \(c.outcome.status.text) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The report: the summary table, then one section per card.
    public func report(command: String, outputDirectory: URL?) -> HTMLReport {
        var page = HTMLReport(title: "Replications of published results",
                              subtitle: StudyReport.subtitle(seconds: seconds) + " · \(trainedRuns) runs trained, \(cachedRuns) from the cache · \(execution)")
        page.paragraph("Each card states a published claim with its number, how this replication is scaled down, and — fixed before running — "
                       + "the band that counts as replicated; then what was measured (mean and 95% interval over seeds) and the outcome. "
                       + "Grids and curves use the validation split; test figures come from one evaluation per final run and decide nothing "
                       + "but the card's own verdict.")
        page.table(summaryTable)
        for c in cards {
            page.heading(c.card.title)
            page.list(["Source: \(c.card.source)", "Claim: \(c.card.claim)", "Our setup: \(c.card.setup)", "Band: \(c.card.band)"])
            page.emphasizedList([(c.outcome.status.text, "\(c.outcome.measured). \(c.outcome.explanation)")])
            for table in c.outcome.tables { page.table(table) }
            if !c.outcome.charts.isEmpty { page.charts(c.outcome.charts) }
        }
        page.heading("Reproduce")
        StudyReport.addReproduction(to: &page, command: command, caption: "Reproduce (finished runs are read from the cache)",
                                    outputDirectory: outputDirectory, logsCaption: "TensorBoard logs of every run")
        page.heading("Sources")
        page.list(StudyReferences.all)
        return page
    }

    /// `results.json`: the cards' paired comparisons and, under `replications`, each card's outcome.
    public func resultsFile(command: String) -> StudyResultsFile {
        var file = StudyResultsFile(outcomes: [], comparisons: cards.flatMap(\.outcome.comparisons), bestModels: [], command: command)
        file.replications = cards.map {
            StudyResultsFile.Replication(key: $0.card.key, title: $0.card.title, source: $0.card.source, claim: $0.card.claim,
                                         setup: $0.card.setup, band: $0.card.band, measured: $0.outcome.measured,
                                         status: $0.outcome.status.rawValue, explanation: $0.outcome.explanation)
        }
        return file
    }

    /// One row per card: key, status, measured.
    public var csv: String {
        (["card,status,measured"] + cards.map { "\($0.card.key),\($0.outcome.status.rawValue),\"\($0.outcome.measured.replacingOccurrences(of: "\"", with: "'"))\"" })
            .joined(separator: "\n") + "\n"
    }

    /// The terminal summary.
    public var plainText: String {
        cards.map { "\($0.card.title)\n  \($0.outcome.status.text): \($0.outcome.measured)\n  \($0.outcome.explanation)" }.joined(separator: "\n\n")
    }
}

extension SeededStudyReport {
    /// A line chart of a per-epoch figure for several groups of runs: mean over the runs with a
    /// 95% t-interval band.
    public static func curveChart(_ groups: [(String, [StudyRunResult])], title: String, yTitle: String = "",
                                  metric: (StudyRunResult.Epoch) -> Double?) -> LineChart {
        let series = groups.enumerated().compactMap { i, group -> LineChart.Series? in
            let band = meanBand(group.1, metric: metric)
            guard !band.x.isEmpty else { return nil }
            return LineChart.Series(name: group.0, x: band.x, y: band.mean, lower: band.lower, upper: band.upper, color: ChartPalette.color(forSeries: i))
        }
        return LineChart(title: title, xTitle: "epoch", yTitle: yTitle.isEmpty ? nil : yTitle, series: series, width: 560, height: 360)
    }
}
