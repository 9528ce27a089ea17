import ArgumentParser
import Foundation
import Nabla

/// `nabla evaluate`'s classification metrics (``ClassificationReport``): top-k accuracy, per-class
/// precision/recall/F1, the confusion matrix and the expected calibration error — printed as tables,
/// and written as CSV files and an HTML report.
struct MetricsOptions: ParsableArguments {
    @Flag(name: .long, help: "Also print top-k accuracy, expected calibration error (15 bins), per-class precision/recall/F1 and the confusion matrix.")
    var metrics = false
    @Option(name: .long, help: "Write summary.csv, per_class.csv, confusion_matrix.csv and report.html (the same metrics) to this directory.")
    var metricsDir: String?

    /// Prints and writes what the flags ask for; nothing without them.
    /// - Throws: ``NablaError`` for data without class labels or an unwritable directory.
    func report(model: Module<Float>, on dataset: Dataset) throws {
        guard metrics || metricsDir != nil else { return }
        guard case .classes = dataset.targets else {
            throw NablaError(.invalidArgument, "--metrics: \(dataset.name) has real-valued targets; classification metrics need class labels")
        }
        let report = ClassificationReport(evaluating: model, on: dataset)
        if metrics {
            print("")
            print(report.summaryTable.plainText)
            print("")
            print(report.perClassTable().plainText)
            print("")
            print("confusion matrix (rows: true class, columns: predicted class)")
            print(report.confusionTable().plainText)
        }
        if let metricsDir {
            let directory = URL(fileURLWithPath: metricsDir)
            for (name, text) in [("summary.csv", report.summaryCSV), ("per_class.csv", report.perClassCSV()),
                                 ("confusion_matrix.csv", report.confusionCSV())] {
                try AtomicFile.write(Data(text.utf8), to: directory.appendingPathComponent(name))
            }
            var html = HTMLReport(title: "Evaluation of \(dataset.name)", subtitle: "\(report.count) samples, \(report.classCount) classes")
            html.classificationSections(report)
            try html.write(to: directory.appendingPathComponent("report.html"))
        }
    }
}
