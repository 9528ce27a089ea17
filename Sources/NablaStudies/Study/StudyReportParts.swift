import Foundation
import NablaNN

/// A textbook effect a study expects, and whether this run of the study shows it.
public struct StudyCheck: Sendable, Equatable {
    /// The expected effect, as one sentence.
    public var statement: String
    /// Whether this run shows it.
    public var holds: Bool
    /// The numbers behind the verdict.
    public var detail: String
    /// A check of `statement` with its verdict and the numbers behind it.
    public init(_ statement: String, holds: Bool, detail: String) {
        self.statement = statement
        self.holds = holds
        self.detail = detail
    }

    /// `✓ statement — detail` (or `✗`).
    public var line: String { (holds ? "✓ " : "✗ ") + statement + " — " + detail }
}

/// Pieces shared by the study reports: results tables, curves, per-run configuration sections.
public enum StudyReport {
    /// One row per run: final train/test accuracy and loss (evaluation mode), both gaps, the best test
    /// accuracy, weight sparsity and time. The smallest gap and best test accuracy are in bold.
    public static func resultsTable(_ runs: [StudyRun], heldOut: String = "test", caption: String? = nil) -> ReportTable {
        let classification = runs.contains { $0.final?.testAccuracy != nil }
        var columns = ["run"]
        if classification { columns += ["train acc", "\(heldOut) acc", "gap (acc)"] }
        columns += ["train loss", "\(heldOut) loss", "gap (loss)"]
        if classification { columns.append("best \(heldOut) acc") }
        columns += ["sparsity", "time"]
        var table = ReportTable(columns: columns, caption: caption)
        let smallestGap = runs.compactMap(\.accuracyGap).min()
        let bestTest = runs.compactMap { $0.final?.testAccuracy }.max()
        for run in runs {
            guard let last = run.final else { continue }
            var row: [ReportTable.Cell] = [.text(run.name)]
            if classification {
                let test = ReportTable.Cell.percent(last.testAccuracy ?? .nan)
                let gap = ReportTable.Cell.number((run.accuracyGap ?? .nan) * 100, .fixed(1))
                row += [.percent(last.trainAccuracy ?? .nan), last.testAccuracy == bestTest ? test.emphasized() : test,
                        run.accuracyGap == smallestGap ? gap.emphasized() : gap]
            }
            row += [.number(last.trainLoss, .significant(3)), .number(last.testLoss, .significant(3)),
                    .number(run.lossGap ?? .nan, .significant(3))]
            if classification { row.append(.percent(run.bestTestAccuracy ?? .nan)) }
            row += [.percent(run.sparsity), .number(run.seconds, .fixed(1))]
            table.append(row.map { $0 })
        }
        return table
    }

    /// A line chart of one per-epoch metric for several runs; runs in `dashed` (by key) are drawn
    /// dashed, so that one expected to coincide with another stays visible on top of it.
    public static func curves(_ runs: [StudyRun], title: String, yTitle: String, logarithmic: Bool = false,
                              dashed: Set<String> = [], width: Double = 560, height: Double = 360,
                              metric: (StudyEpoch) -> Double?) -> LineChart {
        let series = runs.enumerated().map { i, run in
            let points = run.epochs.compactMap { e in metric(e).map { (Double(e.epoch), $0) } }
            return LineChart.Series(name: run.name, x: points.map(\.0), y: points.map(\.1),
                                    color: ChartPalette.color(forSeries: i), dashed: dashed.contains(run.key), showsMarkers: false)
        }
        return LineChart(title: title, xTitle: "epoch", yTitle: yTitle, series: series,
                         yScale: logarithmic ? .logarithmic : .linear, width: width, height: height)
    }

    /// A shell command broken before `--flag`s into lines of at most `width` characters, joined with
    /// `\` continuations, so that it reads without scrolling and still pastes into a shell.
    public static func wrappedCommand(_ command: String, width: Int = 100) -> String {
        var lines: [String] = []
        var current = ""
        for part in command.components(separatedBy: " --") {
            let piece = current.isEmpty && lines.isEmpty ? part : "--" + part
            if !current.isEmpty && current.count + 1 + piece.count > width {
                lines.append(current)
                current = "  " + piece
            } else {
                current += current.isEmpty ? piece : " " + piece
            }
        }
        lines.append(current)
        return lines.joined(separator: " \\\n")
    }

    /// The command that reproduces a study, wrapped, and — when its runs were written under
    /// `outputDirectory/runs` — the `tensorboard` command that shows their logs.
    static func addReproduction(to page: inout HTMLReport, command: String, caption: String, outputDirectory: URL?,
                                logsCaption: String) {
        page.preformatted(wrappedCommand(command), caption: caption)
        if let outputDirectory {
            page.preformatted("tensorboard --logdir \(outputDirectory.appendingPathComponent("runs").relativePath)",
                              caption: logsCaption)
        }
    }

    /// A symmetric histogram range that holds all but the most extreme 0.5% of `values`.
    static func centralRange(_ values: [Double]) -> ClosedRange<Double> {
        let magnitudes = values.filter(\.isFinite).map(abs).sorted()
        guard !magnitudes.isEmpty else { return -1...1 }
        let bound = magnitudes[min(magnitudes.count - 1, Int(Double(magnitudes.count) * 0.995))]
        return bound > 0 ? -bound...bound : -1...1
    }

    /// The checks as a table.
    public static func checksTable(_ checks: [StudyCheck]) -> ReportTable {
        ReportTable(columns: ["", "expected effect", "observed"],
                    rows: checks.map { [.text($0.holds ? "✓" : "✗"), .text($0.statement), .text($0.detail)] })
    }

    /// The machine and time line of a report: date, host, CPU model (`/proc/cpuinfo`, where there is
    /// one), cores and the study's wall-clock seconds — so a reader knows what the timings were measured on.
    public static func subtitle(seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        let host = ProcessInfo.processInfo.hostName
        let cpu = processorName.map { " · \($0)" } ?? ""
        return "Generated by Nabla on \(formatter.string(from: Date())) · \(host)\(cpu) · \(ProcessInfo.processInfo.activeProcessorCount) cores · "
            + String(format: "%.0f s", seconds)
    }

    /// The CPU's model name with its family and model numbers (`AMD EPYC (family 25 model 17)`), from
    /// Linux's `/proc/cpuinfo`; `nil` where that file does not exist or names no model.
    static let processorName: String? = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        return processorName(cpuinfo: text)
    }()

    /// The CPU's name as read from the text of a `/proc/cpuinfo` (its first processor's entry).
    static func processorName(cpuinfo: String) -> String? {
        var fields: [String: String] = [:]
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { if !fields.isEmpty { break } else { continue } }
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            if fields[key] == nil { fields[key] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        guard let name = fields["model name"] ?? fields["Model"], !name.isEmpty else { return nil }
        guard let family = fields["cpu family"], let model = fields["model"] else { return name }
        return "\(name) (family \(family) model \(model))"
    }
}
