import Foundation
import NablaTraining

/// A ``/NablaTraining/ClassificationReport`` as report tables — for the terminal (`ReportTable/plainText`) and for
/// HTML reports (``HTMLReport/classificationSections(_:names:title:)``).
extension ClassificationReport {
    /// Samples, the top-k accuracies, the macro and weighted F1 and the expected calibration error.
    public var summaryTable: ReportTable {
        var table = ReportTable(columns: ["metric", "value"])
        table.append([.text("samples"), .integer(count)])
        for k in 1...maximumK { table.append([.text("top-\(k) accuracy"), .number(accuracy(top: k), .fixed(4))]) }
        table.append([.text("macro F1"), .number(macroAverage.f1, .fixed(4))])
        table.append([.text("weighted F1"), .number(weightedAverage.f1, .fixed(4))])
        table.append([.text("expected calibration error (15 bins)"), .number(expectedCalibrationError, .fixed(4))])
        return table
    }

    /// Precision, recall, F1 and support per class, then the macro and weighted averages.
    public func perClassTable(names: [String]? = nil) -> ReportTable {
        let names = names ?? (0..<classCount).map(String.init)
        var table = ReportTable(columns: ["class", "precision", "recall", "F1", "support"])
        let (p, r, f, s) = (precision, recall, f1, support)
        for c in 0..<classCount {
            table.append([.text(names[c]), .number(p[c], .fixed(4)), .number(r[c], .fixed(4)), .number(f[c], .fixed(4)), .integer(s[c])])
        }
        for (label, average) in [("macro avg", macroAverage), ("weighted avg", weightedAverage)] {
            table.append([.text(label), .number(average.precision, .fixed(4)), .number(average.recall, .fixed(4)),
                          .number(average.f1, .fixed(4)), .integer(count)])
        }
        return table
    }

    /// The confusion matrix: one row per true class, one column per predicted class.
    public func confusionTable(names: [String]? = nil) -> ReportTable {
        let names = names ?? (0..<classCount).map(String.init)
        var table = ReportTable(columns: ["true \\ predicted"] + names, caption: "Rows: true class; columns: predicted class.")
        for t in 0..<classCount {
            table.append([.text(names[t])] + (0..<classCount).map { p in
                let cell = ReportTable.Cell.integer(confusion(truth: t, predicted: p))
                return p == t ? cell.emphasized() : cell
            })
        }
        return table
    }
}

extension HTMLReport {
    /// Appends a classification report: a heading `title`, the summary, the per-class table and the
    /// confusion matrix (as subsections).
    public mutating func classificationSections(_ report: ClassificationReport, names: [String]? = nil, title: String = "Classification metrics") {
        heading(title)
        table(report.summaryTable)
        heading("Per class", level: 3)
        table(report.perClassTable(names: names))
        heading("Confusion matrix", level: 3)
        table(report.confusionTable(names: names))
    }
}
