import Foundation
import NablaTensor

/// The report pieces of a ``SeededStudyOutcome``: takeaways written from the statistics, the forest
/// plot, the results table and the mean curves with interval bands. Every number is labelled with
/// the split it comes from.
public enum SeededStudyReport {
    static let betterColor = "#1a7f37", worseColor = "#c62828", neutralColor = "#7a7f89"

    static func color(_ verdict: Verdict?) -> String {
        switch verdict?.label {
        case .better?: return betterColor
        case .worse?: return worseColor
        default: return neutralColor
        }
    }

    /// `+1.23` (two decimals, explicit sign, U+2212 minus).
    static func signed(_ x: Double, digits: Int = 2) -> String {
        let text = String(format: "%+.\(digits)f", x)
        return text.hasPrefix("-") ? "\u{2212}" + text.dropFirst() : text
    }

    static func number(_ x: Double, digits: Int = 2) -> String {
        let text = String(format: "%.\(digits)f", x)
        return text.hasPrefix("-") ? "\u{2212}" + text.dropFirst() : text
    }

    /// `p = 0.003` / `p < 0.001` / `p = 1`.
    static func pValue(_ p: Double) -> String {
        if p < 0.001 { return "p < 0.001" }
        if p >= 0.995 { return "p = 1" }
        return p < 0.01 ? String(format: "p = %.3f", p) : String(format: "p = %.2f", p)
    }

    /// `+1.23 points [0.45, 2.01]` for a comparison on `metric`.
    static func difference(_ c: PairedComparison, _ metric: StudyMetric) -> String {
        let s = metric.displayScale
        var text = signed(c.meanDifference * s) + (metric.unit.isEmpty ? "" : " " + metric.unit)
        if let i = c.interval { text += " [\(number(i.lower * s)), \(number(i.upper * s))]" }
        return text
    }

    /// `84.12% ± 0.35 [83.69, 84.55]`: mean, standard deviation and 95% interval over the seeds.
    static func meanText(_ summary: SampleSummary?, _ metric: StudyMetric) -> String {
        guard let summary else { return "—" }
        let s = metric.displayScale
        var text = number(summary.mean * s) + (s == 100 ? "%" : "")
        if let sd = summary.standardDeviation { text += " ± " + number(sd * s) }
        if let i = summary.interval { text += " [\(number(i.lower * s)), \(number(i.upper * s))]" }
        return text
    }

    /// The main comparisons of an outcome: per family, test accuracy at each setting kind.
    public static func comparisons(_ outcome: SeededStudyOutcome, metrics: [StudyMetric] = [.testAccuracy, .generalizationGap, .calibrationError])
        throws -> [StudyComparison] {
        var result: [StudyComparison] = []
        for family in outcome.families {
            for metric in metrics {
                for kind in outcome.settingKinds where metric.name == StudyMetric.testAccuracy.name || kind == outcome.settingKinds[0] {
                    result.append(try outcome.comparison(family, setting: kind, metric: metric))
                }
            }
        }
        return result
    }

    /// Takeaways written from the statistics: one item per compared variant on test accuracy
    /// (better first, by effect; then worse; then no detectable difference), where tuning and the
    /// textbook setting disagree, both; then the gap and the best model by validation.
    public static func takeaways(_ outcome: SeededStudyOutcome, comparisons: [StudyComparison]) -> [(lead: String, text: String)] {
        var items: [(rank: Int, size: Double, lead: String, text: String)] = []
        let primary = outcome.settingKinds[0]
        for family in outcome.families {
            guard let main = comparisons.first(where: { $0.family == family && $0.setting == primary && $0.metric.name == StudyMetric.testAccuracy.name })
            else { continue }
            let textbook = comparisons.first { $0.family == family && $0.setting == .textbook && $0.metric.name == StudyMetric.testAccuracy.name }
            let baselineName = main.baseline.name
            for row in main.members {
                guard let c = row.comparison, let v = row.verdict else { continue }
                let n = c.count
                var text = "\(row.name) vs \(baselineName), \(primary == .tuned ? "both tuned" : "textbook settings")"
                    + " (\(row.name): \(row.setting.label)): test accuracy \(difference(c, main.metric)) (95% CI of the paired difference, "
                    + "\(n) seeds), Holm-adjusted \(pValue(v.adjustedPValue ?? 1))."
                if primary == .tuned, let textbook, let t = textbook.members.first(where: { $0.key == row.key }),
                   let tc = t.comparison, let tv = t.verdict, tv.label != v.label || t.setting != row.setting {
                    if tv.label != v.label {
                        text += " At the textbook setting (\(t.setting.label)) it was \(tv.text): \(difference(tc, textbook.metric)), \(pValue(tv.adjustedPValue ?? 1))."
                    }
                }
                let rank = v.label == .better ? 0 : v.label == .worse ? 1 : 2
                items.append((rank, abs(c.meanDifference), v.text, text))
            }
        }
        var result = items.sorted { ($0.rank, -$0.size) < ($1.rank, -$1.size) }.map { ($0.lead, $0.text) }
        for family in outcome.families {
            guard let gap = comparisons.first(where: { $0.family == family && $0.setting == primary && $0.metric.name == StudyMetric.generalizationGap.name })
            else { continue }
            let smaller = gap.members.filter { $0.verdict?.label == .better }.map(\.name)
            let larger = gap.members.filter { $0.verdict?.label == .worse }.map(\.name)
            let same = gap.members.filter { $0.verdict?.label == .noDetectableDifference }.map(\.name)
            var parts: [String] = []
            if !smaller.isEmpty { parts.append("smaller with \(smaller.joined(separator: ", "))") }
            if !larger.isEmpty { parts.append("larger with \(larger.joined(separator: ", "))") }
            if !same.isEmpty { parts.append("no detectable change with \(same.joined(separator: ", "))") }
            if let base = gap.baseline.summary {
                result.append(("gap", "Train − test accuracy gap (\(gap.baseline.name): \(number(base.mean * 100, digits: 1)) points): "
                               + parts.joined(separator: "; ") + " (paired t-tests, Holm over the family)."))
            }
        }
        if let best = bestModel(outcome), let variant = outcome.variant(best.key) {
            let arm = variant.arm(best.kind)
            if let summary = try? SampleSummary(of: arm.runs.compactMap { $0.test?.accuracy }) {
                result.append(("best model", "Chosen by mean validation accuracy: \(variant.name) (\(arm.setting.label)); its test accuracy is "
                               + "\(meanText(summary, .testAccuracy)) (mean ± sd [95% CI], \(summary.count) seeds)."))
            }
        }
        return result
    }

    /// The variant and setting with the highest mean final validation accuracy over the final
    /// seeds — never chosen by a test figure.
    public static func bestModel(_ outcome: SeededStudyOutcome) -> (key: String, kind: SettingKind)? {
        var best: (key: String, kind: SettingKind, score: Double)?
        for variant in outcome.variants {
            for kind in outcome.settingKinds {
                let scores = variant.arm(kind).runs.compactMap { $0.divergence == nil ? $0.final?.validationAccuracy : nil }
                guard scores.count == outcome.seeds.count, !scores.isEmpty else { continue }
                let mean = scores.reduce(0, +) / Double(scores.count)
                if best == nil || mean > best!.score { best = (variant.key, kind, mean) }
            }
        }
        return best.map { ($0.key, $0.kind) }
    }

    /// The forest plot of a family on test accuracy: each member's paired difference to the
    /// baseline with its 95% interval, tuned (●) and textbook (◆), colored by verdict.
    public static func forestPlot(_ outcome: SeededStudyOutcome, family: ComparisonFamily, comparisons: [StudyComparison]) -> IntervalPlot? {
        let relevant = outcome.settingKinds.compactMap { kind in
            comparisons.first { $0.family == family && $0.setting == kind && $0.metric.name == StudyMetric.testAccuracy.name }
        }
        guard let first = relevant.first else { return nil }
        let rows = first.members.map(\.name)
        let series = relevant.map { comparison in
            IntervalPlot.Series(name: comparison.setting == .tuned ? "tuned" : "textbook setting", points: comparison.members.map { row in
                guard let c = row.comparison, let i = c.interval else { return nil }
                return IntervalPlot.Point(value: c.meanDifference * 100, lower: i.lower * 100, upper: i.upper * 100, color: color(row.verdict),
                                          tooltip: "\(row.name) (\(row.setting.label)): \(difference(c, comparison.metric)), \(row.verdict?.text ?? "")")
            }, color: "#444444", shape: comparison.setting == .tuned ? .circle : .diamond)
        }
        let legend = [LegendEntry(name: "better", color: betterColor, symbol: .patch), LegendEntry(name: "worse", color: worseColor, symbol: .patch),
                      LegendEntry(name: "no detectable diff.", color: neutralColor, symbol: .patch)]
        return IntervalPlot(title: "\(outcome.title): test accuracy − \(first.baseline.name)",
                            xTitle: "difference in test accuracy (points), 95% CI over \(outcome.seeds.count) paired seeds",
                            rows: rows, series: series, reference: 0, extraLegend: legend)
    }

    /// One row per variant of a family: setting, test accuracy (mean ± sd [95% CI]), the paired
    /// difference to the baseline, the Holm-adjusted p-value and the verdict; then the gap and the
    /// calibration error.
    public static func resultsTable(_ outcome: SeededStudyOutcome, family: ComparisonFamily, setting: SettingKind,
                                    comparisons: [StudyComparison]) -> ReportTable? {
        func find(_ metric: StudyMetric) -> StudyComparison? {
            comparisons.first { $0.family == family && $0.setting == setting && $0.metric.name == metric.name }
        }
        guard let accuracy = find(.testAccuracy) else { return nil }
        let gap = find(.generalizationGap), ece = find(.calibrationError)
        var table = ReportTable(columns: ["variant", "\(setting.rawValue) setting", "test accuracy (%)", "difference (points)", "Holm p",
                                          "verdict", "train − test gap", "test ECE (%)"],
                                caption: "\(setting == .tuned ? "Tuned on validation" : "Textbook settings"); mean ± sd [95% CI] over \(outcome.seeds.count) seeds; "
                                    + "differences are paired (same seeds) against \(accuracy.baseline.name); the test split is evaluated once per run")
        for (i, row) in ([accuracy.baseline] + accuracy.members).enumerated() {
            let gapRow = i == 0 ? gap?.baseline : gap?.members[i - 1]
            let eceRow = i == 0 ? ece?.baseline : ece?.members[i - 1]
            var cells: [ReportTable.Cell] = [.text(row.name), .text(row.setting.label),
                                             .text(meanText(row.summary, .testAccuracy).replacingOccurrences(of: "%", with: ""))]
            if let c = row.comparison, let v = row.verdict {
                cells += [.text(difference(c, accuracy.metric).replacingOccurrences(of: " points", with: "")),
                          .text(pValue(v.adjustedPValue ?? 1).replacingOccurrences(of: "p = ", with: "").replacingOccurrences(of: "p ", with: "")),
                          v.label == .noDetectableDifference ? .text(v.text) : ReportTable.Cell.text(v.text).emphasized()]
            } else {
                cells += [.text(i == 0 ? "reference" : "—"), .text(""), .text(i == 0 ? "baseline" : "not computable")]
            }
            var gapText = gapRow.map { meanText($0.summary, .generalizationGap).replacingOccurrences(of: "%", with: "") } ?? "—"
            if let v = gapRow?.verdict, v.label != .noDetectableDifference { gapText += v.label == .better ? " (smaller)" : " (larger)" }
            cells += [.text(gapText), .text(eceRow.map { meanText($0.summary, .calibrationError).replacingOccurrences(of: "%", with: "") } ?? "—")]
            table.append(cells)
        }
        return table
    }

    /// Validation accuracy per epoch of a family's variants (at `setting`): the mean over the final
    /// seeds with its 95% t-interval as a band.
    public static func validationCurves(_ outcome: SeededStudyOutcome, family: ComparisonFamily, setting: SettingKind) -> LineChart {
        let keys = [family.baseline] + family.members
        let series = keys.enumerated().compactMap { i, key -> LineChart.Series? in
            guard let variant = outcome.variant(key) else { return nil }
            let band = meanBand(variant.arm(setting).runs) { $0.validationAccuracy.map { $0 * 100 } }
            guard !band.x.isEmpty else { return nil }
            return LineChart.Series(name: variant.name, x: band.x, y: band.mean, lower: band.lower, upper: band.upper,
                                    color: ChartPalette.color(forSeries: i))
        }
        return LineChart(title: "\(outcome.title): validation accuracy (mean and 95% CI over seeds)", xTitle: "epoch",
                         yTitle: "validation accuracy (%)", series: series, width: 760, height: 420)
    }

    /// Mean and 95% t-interval of `metric` per epoch over `runs` (epochs every run reached).
    static func meanBand(_ runs: [StudyRunResult], metric: (StudyRunResult.Epoch) -> Double?)
        -> (x: [Double], mean: [Double], lower: [Double], upper: [Double]) {
        let epochs = runs.map(\.epochs.count).min() ?? 0
        var x: [Double] = [], mean: [Double] = [], lower: [Double] = [], upper: [Double] = []
        for e in 0..<epochs {
            let values = runs.compactMap { metric($0.epochs[e]) }.filter(\.isFinite)
            guard values.count == runs.count, let summary = try? SampleSummary(of: values) else { continue }
            x.append(Double(runs[0].epochs[e].epoch))
            mean.append(summary.mean)
            lower.append(summary.interval?.lower ?? summary.mean)
            upper.append(summary.interval?.upper ?? summary.mean)
        }
        return (x, mean, lower, upper)
    }
}
