import Foundation
import NablaTensor
import NablaNN
import NablaData

/// The metrics of a classifier on a labelled dataset, accumulated over batches of scores: top-k
/// accuracy, the confusion matrix, per-class precision, recall and F1 with their macro and weighted
/// averages, and the expected calibration error.
///
/// Conventions (scikit-learn's `classification_report` and `confusion_matrix`, Guo et al., 2017, "On
/// Calibration of Modern Neural Networks"):
/// - the prediction is the arg-max of the scores, ties to the lower class index (as ``topKHits(_:labels:k:)``);
///   a sample is a top-k hit when fewer than `k` classes rank above its label;
/// - `confusion[t][p]` counts samples of true class `t` predicted as `p` (rows: truth);
/// - precision of class `c` = `confusion[c][c] / Σ_t confusion[t][c]`, recall = `confusion[c][c] /
///   Σ_p confusion[c][p]`, F1 = `2·P·R/(P + R)`; a zero denominator gives 0 (scikit-learn's
///   `zero_division=0`); the macro average is the plain mean over classes, the weighted average
///   weights each class by its support;
/// - the confidence is the largest softmax probability of the scores (so logits and log-probabilities
///   give the same value); the expected calibration error over 15 equal-width bins `(b/15, (b+1)/15]`
///   is `ECE = Σ_b (|B_b|/N)·|accuracy(B_b) − confidence(B_b)|`.
public struct ClassificationReport: Equatable, Sendable {
    /// The number of equal-width confidence bins of ``expectedCalibrationError`` (Guo et al.'s 15).
    public static let calibrationBinCount = 15

    /// The number of classes `C`.
    public let classCount: Int
    /// The `k` of the top-k accuracies kept: `1...maximumK`.
    public let maximumK: Int
    /// Samples seen.
    public private(set) var count = 0
    /// `topKCorrect[k − 1]`: samples whose label is among the `k` best-scored classes.
    public private(set) var topKCorrect: [Int]
    /// Row-major `[classCount × classCount]`, rows the true class, columns the predicted one.
    public private(set) var confusion: [Int]
    /// The samples in each confidence bin.
    public private(set) var binCounts: [Int]
    /// The sum of the confidences in each bin.
    public private(set) var binConfidence: [Double]
    /// The correctly predicted samples in each bin.
    public private(set) var binCorrect: [Int]

    /// An empty report for `classCount` classes, keeping top-1 … top-`maximumK` accuracies
    /// (`maximumK` defaults to `min(5, classCount)`).
    public init(classCount: Int, maximumK: Int? = nil) {
        precondition(classCount >= 1, "ClassificationReport: classCount \(classCount) must be at least 1")
        self.classCount = classCount
        self.maximumK = min(maximumK ?? 5, classCount)
        precondition(self.maximumK >= 1, "ClassificationReport: maximumK must be at least 1")
        topKCorrect = Array(repeating: 0, count: self.maximumK)
        confusion = Array(repeating: 0, count: classCount * classCount)
        binCounts = Array(repeating: 0, count: Self.calibrationBinCount)
        binConfidence = Array(repeating: 0, count: Self.calibrationBinCount)
        binCorrect = Array(repeating: 0, count: Self.calibrationBinCount)
    }

    /// Adds a batch: `scores` `[N, C]` (logits, log-probabilities or probabilities' logs — anything
    /// whose softmax is the predicted distribution) and `N` labels.
    public mutating func add(scores: Tensor<Float>, labels: [Int]) {
        precondition(scores.rank == 2 && scores.shape[0] == labels.count && scores.shape[1] == classCount,
                     "ClassificationReport.add: scores \(scores.shape) for \(labels.count) labels of \(classCount) classes")
        let c = classCount
        scores.withUnsafeBufferPointer { s in
            for (i, y) in labels.enumerated() {
                precondition(y >= 0 && y < c, "ClassificationReport.add: label \(y) is out of range 0..<\(c)")
                let row = s.baseAddress! + i * c
                var predicted = 0, rank = 0
                for j in 0..<c {
                    if row[j] > row[predicted] { predicted = j }
                    if row[j] > row[y] || (row[j] == row[y] && j < y) { rank += 1 }
                }
                for k in 0..<maximumK where rank <= k { topKCorrect[k] += 1 }
                confusion[y * c + predicted] += 1
                // The largest softmax probability: 1/Σ_j exp(s_j − max).
                var total = 0.0
                for j in 0..<c { total += exp(Double(row[j]) - Double(row[predicted])) }
                let confidence = 1 / total
                let bin = Swift.min(Swift.max(Int((confidence * Double(Self.calibrationBinCount)).rounded(.up)) - 1, 0), Self.calibrationBinCount - 1)
                binCounts[bin] += 1
                binConfidence[bin] += confidence
                if predicted == y { binCorrect[bin] += 1 }
            }
        }
        count += labels.count
    }

    /// The fraction of samples whose label is among the `k` best-scored classes.
    /// - Precondition: `1 ≤ k ≤ maximumK`.
    public func accuracy(top k: Int = 1) -> Double {
        precondition(k >= 1 && k <= maximumK, "ClassificationReport.accuracy: k \(k) is out of range 1...\(maximumK)")
        return count == 0 ? .nan : Double(topKCorrect[k - 1]) / Double(count)
    }

    /// Samples of true class `truth` predicted as `predicted`.
    public func confusion(truth: Int, predicted: Int) -> Int { confusion[truth * classCount + predicted] }

    /// Samples of each class (the row sums).
    public var support: [Int] { (0..<classCount).map { t in (0..<classCount).reduce(0) { $0 + confusion(truth: t, predicted: $1) } } }

    /// Samples predicted as each class (the column sums).
    public var predictedCounts: [Int] { (0..<classCount).map { p in (0..<classCount).reduce(0) { $0 + confusion(truth: $1, predicted: p) } } }

    /// Precision per class (0 for a class never predicted).
    public var precision: [Double] {
        zip(0..<classCount, predictedCounts).map { c, n in n == 0 ? 0 : Double(confusion(truth: c, predicted: c)) / Double(n) }
    }

    /// Recall per class (0 for a class without samples).
    public var recall: [Double] {
        zip(0..<classCount, support).map { c, n in n == 0 ? 0 : Double(confusion(truth: c, predicted: c)) / Double(n) }
    }

    /// F1 per class (0 when precision and recall are both 0).
    public var f1: [Double] { zip(precision, recall).map { p, r in p + r == 0 ? 0 : 2 * p * r / (p + r) } }

    /// The unweighted means over classes of precision, recall and F1.
    public var macroAverage: (precision: Double, recall: Double, f1: Double) {
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(classCount) }
        return (mean(precision), mean(recall), mean(f1))
    }

    /// The support-weighted means over classes of precision, recall and F1.
    public var weightedAverage: (precision: Double, recall: Double, f1: Double) {
        let weights = support.map(Double.init), total = weights.reduce(0, +)
        func mean(_ v: [Double]) -> Double { total == 0 ? 0 : zip(v, weights).reduce(0) { $0 + $1.0 * $1.1 } / total }
        return (mean(precision), mean(recall), mean(f1))
    }

    /// The expected calibration error over 15 equal-width confidence bins (see the type's description).
    public var expectedCalibrationError: Double {
        guard count > 0 else { return .nan }
        var total = 0.0
        for b in 0..<Self.calibrationBinCount where binCounts[b] > 0 {
            let n = Double(binCounts[b])
            total += n / Double(count) * abs(Double(binCorrect[b]) / n - binConfidence[b] / n)
        }
        return total
    }

    /// The per-class table as CSV: `class,name,precision,recall,f1,support`, then `macro avg` and
    /// `weighted avg` rows (values with 6 decimals). `names` label the classes (default `0`, `1`, …).
    public func perClassCSV(names: [String]? = nil) -> String {
        let names = names ?? (0..<classCount).map(String.init)
        func f(_ x: Double) -> String { String(format: "%.6f", x) }
        var lines = ["class,name,precision,recall,f1,support"]
        let (p, r, f1s, s) = (precision, recall, f1, support)
        for c in 0..<classCount { lines.append("\(c),\(csvField(names[c])),\(f(p[c])),\(f(r[c])),\(f(f1s[c])),\(s[c])") }
        let macro = macroAverage, weighted = weightedAverage
        lines.append(",macro avg,\(f(macro.precision)),\(f(macro.recall)),\(f(macro.f1)),\(count)")
        lines.append(",weighted avg,\(f(weighted.precision)),\(f(weighted.recall)),\(f(weighted.f1)),\(count)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The confusion matrix as CSV: a header `true\predicted,<names…>`, one row per true class.
    public func confusionCSV(names: [String]? = nil) -> String {
        let names = (names ?? (0..<classCount).map(String.init)).map(csvField)
        var lines = ["true\\predicted," + names.joined(separator: ",")]
        for t in 0..<classCount {
            lines.append(names[t] + "," + (0..<classCount).map { String(confusion(truth: t, predicted: $0)) }.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The summary as CSV rows `metric,value`: `samples`, `top1_accuracy` … `topK_accuracy`,
    /// `macro_f1`, `weighted_f1`, `ece`.
    public var summaryCSV: String {
        var lines = ["metric,value", "samples,\(count)"]
        for k in 1...maximumK { lines.append("top\(k)_accuracy," + String(format: "%.6f", accuracy(top: k))) }
        lines.append("macro_f1," + String(format: "%.6f", macroAverage.f1))
        lines.append("weighted_f1," + String(format: "%.6f", weightedAverage.f1))
        lines.append("ece," + String(format: "%.6f", expectedCalibrationError))
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

extension ClassificationReport {
    /// The report of `model` in evaluation mode on `dataset` (class labels), in batches of `batchSize`,
    /// without recording gradients; the model's previous mode is restored.
    /// - Precondition: the dataset has class labels and the model outputs `[N, C]` scores.
    public init(evaluating model: Module<Float>, on dataset: Dataset, batchSize: Int = 1000, maximumK: Int? = nil) {
        guard case .classes(let labels, let classCount) = dataset.targets else {
            preconditionFailure("ClassificationReport: \(dataset.name) has no class labels")
        }
        precondition(batchSize >= 1, "ClassificationReport: batch size \(batchSize) must be at least 1")
        self.init(classCount: classCount, maximumK: maximumK)
        model.evaluating {
            var start = 0
            while start < dataset.count {
                let end = Swift.min(start + batchSize, dataset.count)
                add(scores: model(Variable(dataset.inputs[start..<end])).value, labels: Array(labels[start..<end]))
                start = end
            }
        }
    }
}
