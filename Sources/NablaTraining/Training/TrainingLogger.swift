import Foundation
import NablaNN

/// The logs of a training run in one directory: TensorBoard events (scalars per epoch, histograms of
/// every parameter and its last gradient), `metrics.csv` and `metrics.jsonl` (one row per epoch).
/// When a run resumes, the metric files are continued rather than replaced.
final class TrainingLogger {
    private let writer: SummaryWriter
    private let csv: CSVMetricsLogger
    private let jsonLines: JSONLinesMetricsLogger

    static let columns = ["epoch", "step", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                          "test_loss", "test_accuracy", "test_top5_accuracy", "seconds"]

    init(directory: URL, resuming: Bool) throws {
        writer = try SummaryWriter(logDirectory: directory)
        csv = try CSVMetricsLogger(url: directory.appendingPathComponent("metrics.csv"), columns: Self.columns, append: resuming)
        jsonLines = try JSONLinesMetricsLogger(url: directory.appendingPathComponent("metrics.jsonl"), append: resuming)
    }

    func log(_ report: EpochReport, model: Module<Float>, histograms: Bool) throws {
        let values = report.values
        let row: [(key: String, value: MetricValue)] = Self.columns.compactMap { key in
            guard let v = values[key] else { return nil }
            return (key, key == "epoch" || key == "step" ? .integer(Int(v)) : .number(v))
        }
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
