import NablaTensor
import NablaIO
import NablaNN
import NablaData

/// Loss and accuracy of `model` on `dataset` in evaluation mode, in batches of `batchSize`, without
/// recording gradients; the model's previous mode is restored afterwards.
public func evaluate(_ model: Module<Float>, on dataset: Dataset, loss: LossFunction, batchSize: Int = 1000) -> MetricAccumulator {
    precondition(batchSize >= 1, "evaluate: batch size \(batchSize) must be at least 1")
    var metrics = MetricAccumulator()
    model.evaluating {
        var start = 0
        while start < dataset.count {
            let end = min(start + batchSize, dataset.count)
            let targets = dataset.targets.gathering(Array(start..<end))
            let output = model(Variable(dataset.inputs[start..<end]))
            metrics.add(loss: Double(loss(output, targets).value.scalar), output: output.value, targets: targets)
            start = end
            KillPoint.reach("evaluation")
        }
    }
    return metrics
}
