import NablaTensor
import NablaData

/// Running sums of a metric over batches of different sizes, for epoch averages. Codable, so a
/// checkpoint taken in the middle of an epoch carries the sums of its steps so far.
public struct MetricAccumulator: Sendable, Equatable, Codable {
    /// `Σ_batches mean_loss · batch_size`: the summed per-sample loss.
    public private(set) var lossSum = 0.0
    /// Samples whose label has the highest score (top-1 hits), for class targets.
    public private(set) var correct = 0
    /// Samples whose label is among the five highest scores (top-5 hits), for class targets.
    public private(set) var correctTop5 = 0
    /// Samples added.
    public private(set) var count = 0
    /// Whether any batch had class targets (and `[N, C]` scores), so accuracies are defined.
    public private(set) var hasClasses = false

    /// An empty accumulator: no samples, ``loss`` is NaN.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case lossSum = "loss_sum", correct, correctTop5 = "correct_top5", count, hasClasses = "has_classes"
    }

    /// Adds a batch: its mean loss and, for class targets, the top-1 and top-5 hits of `output` ([N, C]).
    public mutating func add(loss: Double, output: Tensor<Float>, targets: Targets) {
        let n = targets.count
        lossSum += loss * Double(n)
        count += n
        if case .classes(let labels, _) = targets, output.rank == 2 {
            hasClasses = true
            let hits = topKHits(output, labels: labels, k: 5)
            correct += hits.top1
            correctTop5 += hits.topK
        }
    }

    /// The mean loss per sample.
    public var loss: Double { count == 0 ? .nan : lossSum / Double(count) }
    /// Top-1 accuracy in [0, 1], or `nil` for regression.
    public var accuracy: Double? { hasClasses && count > 0 ? Double(correct) / Double(count) : nil }
    /// Top-5 accuracy in [0, 1], or `nil` for regression.
    public var top5Accuracy: Double? { hasClasses && count > 0 ? Double(correctTop5) / Double(count) : nil }
}

/// Counts rows whose label is the arg-max (`top1`) and rows whose label is among the `k` largest
/// scores (`topK`; ties broken toward lower indices, as `torch.topk` on CPU does in practice).
///
/// A row holding a NaN score is a miss at every `k`: a diverged model's NaN outputs are no
/// prediction. (`torch.argmax` ranks NaN above every number, so an all-NaN row would "predict"
/// class 0 and hit every label-0 sample; plain comparisons would rank a NaN target first and hit
/// every sample.) Infinite scores compare as numbers.
public func topKHits(_ scores: Tensor<Float>, labels: [Int], k: Int) -> (top1: Int, topK: Int) {
    precondition(scores.rank == 2 && scores.shape[0] == labels.count, "topKHits: scores \(scores.shape) for \(labels.count) labels")
    let c = scores.shape[1]
    var top1 = 0, topK = 0
    scores.withUnsafeBufferPointer { s in
        for (i, y) in labels.enumerated() {
            let row = UnsafeBufferPointer(rebasing: s[(i * c)..<(i * c + c)])
            if row.contains(where: \.isNaN) { continue }
            let target = row[y]
            // Rank of the target: classes scoring higher, or equal with a lower index.
            var rank = 0
            for j in 0..<c where row[j] > target || (row[j] == target && j < y) { rank += 1 }
            if rank == 0 { top1 += 1 }
            if rank < k { topK += 1 }
        }
    }
    return (top1, topK)
}

/// Whether row `row` of `scores` ([N, C]) holds a NaN: such a row is no prediction (``topKHits(_:labels:k:)``).
func rowHasNaN(_ scores: Tensor<Float>, _ row: Int) -> Bool {
    let c = scores.shape[1]
    return scores.withUnsafeBufferPointer { s in s[(row * c)..<(row * c + c)].contains(where: \.isNaN) }
}
