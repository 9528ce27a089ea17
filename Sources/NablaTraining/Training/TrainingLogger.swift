import Foundation
import NablaNN

/// The logs of a training run in one directory: TensorBoard events (scalars per epoch, histograms of
/// every parameter and its last gradient), `metrics.csv` and `metrics.jsonl` (one row per epoch).
///
/// The logs always match the run's progress: when a run starts or resumes, `metrics.csv` and
/// `metrics.jsonl` are rebuilt from the checkpoint's history, and the TensorBoard event files are
/// cut back to its step (``TensorBoardLogTrimmer``), so whatever a killed run logged after its last
/// checkpoint — and will log again — appears once. (A fresh run therefore replaces the logs of an
/// earlier run in the same directory.)
final class TrainingLogger {
    private let writer: SummaryWriter
    private let csv: CSVMetricsLogger
    private let jsonLines: JSONLinesMetricsLogger

    static let columns = ["epoch", "step", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                          "test_loss", "test_accuracy", "test_top5_accuracy", "seconds"]

    /// Opens the logs in `directory` for a run at `progress` (a fresh run: `TrainingProgress()`).
    init(directory: URL, progress: TrainingProgress) throws {
        // The history's entry for an epoch still in progress (a step budget ended inside it) is
        // replaced when that epoch ends, so it is not a row.
        var rows = progress.history
        if progress.stepInEpoch > 0, rows.count == progress.epoch + 1 { rows.removeLast() }
        let step = Int64(progress.globalStep)
        let loggedAtStep = rows.contains { $0["step"] == Double(step) }
        try TensorBoardLogTrimmer.trim(directory: directory) { $0 < step || ($0 == step && loggedAtStep) }
        csv = try CSVMetricsLogger(url: directory.appendingPathComponent("metrics.csv"), columns: Self.columns)
        jsonLines = try JSONLinesMetricsLogger(url: directory.appendingPathComponent("metrics.jsonl"))
        for values in rows {
            let row = Self.row(values)
            try csv.log(row)
            try jsonLines.log(row)
        }
        writer = try SummaryWriter(logDirectory: directory)
    }

    /// A history entry as a metrics row in column order.
    static func row(_ values: [String: Double]) -> [(key: String, value: MetricValue)] {
        columns.compactMap { key in
            guard let v = values[key] else { return nil }
            // Epoch and step are whole numbers (checked in checkpoints before they get here).
            return (key, key == "epoch" || key == "step" ? .integer(Int(exactly: v) ?? 0) : .number(v))
        }
    }

    func log(_ report: EpochReport, model: Module<Float>, histograms: Bool) throws {
        let row = Self.row(report.values)
        try csv.log(row)
        try jsonLines.log(row)
        let step = report.globalStep
        var scalars: [(tag: String, value: Double)] = [("loss/train", report.trainLoss), ("learning_rate", report.learningRate)]
        if let v = report.trainAccuracy { scalars.append(("accuracy/train", v)) }
        if let v = report.validationLoss { scalars.append(("loss/validation", v)) }
        if let v = report.validationAccuracy { scalars.append(("accuracy/validation", v)) }
        if let v = report.testLoss { scalars.append(("loss/test", v)) }
        if let v = report.testAccuracy { scalars.append(("accuracy/test", v)) }
        try writer.addScalars(scalars, step: step)
        if histograms {
            for (name, parameter) in model.namedParameters() {
                try writer.addHistogram("weights/\(name)", values: parameter.value, step: step)
                if let grad = parameter.grad { try writer.addHistogram("gradients/\(name)", values: grad, step: step) }
            }
        }
        try writer.flush()
    }

    func close() {
        try? writer.close()
        try? csv.close()
        try? jsonLines.close()
    }
}
