import Foundation
import NablaTensor
import NablaNN
import NablaData
import NablaTraining

/// The expected calibration error of top-1 confidences (Naeini, Cooper & Hauskrecht, 2015; the form
/// of Guo, Pleiss, Sun & Weinberger, 2017, "On Calibration of Modern Neural Networks", eq. 3):
///
///     ECE = Σ_b (|B_b| / n) · |acc(B_b) − conf(B_b)|,
///
/// with the predictions sorted into `bins` equal-width bins of confidence, B_b = {i : conf_i ∈
/// ((b−1)/M, b/M]} (a confidence of exactly 0 goes to the first bin), acc(B_b) the fraction of correct
/// predictions in the bin and conf(B_b) their mean confidence. 0 for a perfectly calibrated model;
/// an over-confident model that is 90% sure and 70% right has ECE ≈ 0.2.
/// - Precondition: `confidences` and `correct` have the same length; `bins ≥ 1`.
public func expectedCalibrationError(confidences: [Double], correct: [Bool], bins: Int = 15) -> Double {
    precondition(confidences.count == correct.count, "expectedCalibrationError: \(confidences.count) confidences, \(correct.count) outcomes")
    precondition(bins >= 1, "expectedCalibrationError: bins \(bins) must be at least 1")
    guard !confidences.isEmpty else { return 0 }
    var count = [Int](repeating: 0, count: bins), hits = [Int](repeating: 0, count: bins)
    var confidenceSum = [Double](repeating: 0, count: bins)
    for (c, ok) in zip(confidences, correct) {
        let b = min(bins - 1, max(0, Int((c * Double(bins)).rounded(.up)) - 1))
        count[b] += 1
        if ok { hits[b] += 1 }
        confidenceSum[b] += c
    }
    var total = 0.0
    for b in 0..<bins where count[b] > 0 {
        let n = Double(count[b])
        total += n * abs(Double(hits[b]) / n - confidenceSum[b] / n)
    }
    return total / Double(confidences.count)
}

/// Evaluates `model` on a whole split in evaluation mode, without recording gradients: the loss, and
/// for class targets the accuracy, the expected calibration error of the softmax's top-1 confidence
/// and the confusion matrix.
func evaluateSplit(_ model: Module<Float>, on dataset: Dataset, split: String, loss: LossFunction,
                   calibrationBins: Int, batchSize: Int = 1000) -> StudyRunResult.Evaluation {
    var lossSum = 0.0
    var confidences: [Double] = [], correct: [Bool] = []
    var confusion: [[Int]]?
    if let classes = dataset.classCount { confusion = Array(repeating: Array(repeating: 0, count: classes), count: classes) }
    model.evaluating {
        var start = 0
        while start < dataset.count {
            let end = min(start + batchSize, dataset.count)
            let targets = dataset.targets.gathering(Array(start..<end))
            let output = model(Variable(dataset.inputs[start..<end]))
            lossSum += Double(loss(output, targets).value.scalar) * Double(end - start)
            if case .classes(let labels, _) = targets, output.value.rank == 2 {
                let c = output.value.shape[1]
                output.value.withUnsafeBufferPointer { logits in
                    for (i, label) in labels.enumerated() {
                        let row = logits.baseAddress! + i * c
                        var best = 0
                        for j in 1..<c where row[j] > row[best] { best = j }
                        // softmax(z)_best = 1 / Σ_j exp(z_j − z_best)
                        var denominator = 0.0
                        for j in 0..<c { denominator += exp(Double(row[j] - row[best])) }
                        confidences.append(1 / denominator)
                        correct.append(best == label)
                        confusion?[label][best] += 1
                    }
                }
            }
            start = end
        }
    }
    let n = dataset.count
    let accuracy = confidences.isEmpty ? nil : Double(correct.filter { $0 }.count) / Double(n)
    let ece = confidences.isEmpty ? nil : expectedCalibrationError(confidences: confidences, correct: correct, bins: calibrationBins)
    return StudyRunResult.Evaluation(split: split, count: n, loss: n == 0 ? .nan : lossSum / Double(n), accuracy: accuracy,
                                     calibrationError: ece, confusion: confidences.isEmpty ? nil : confusion)
}
