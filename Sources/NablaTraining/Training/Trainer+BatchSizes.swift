import NablaTensor
import NablaNN
import NablaData

/// The batch sizes a model's batch normalization can train on, checked before the first step.
extension Trainer {
    /// Refuses a training batch that a batch-normalization layer cannot normalize: one with a
    /// single value per channel (one sample, and no spatial extent — a `BatchNorm1d` on `[1, C]`, a
    /// `BatchNorm2d` after global pooling). PyTorch raises "Expected more than 1 value per channel
    /// when training" at that step; ``BatchNorm/forward(_:)`` would trap. The smallest batch of an
    /// epoch is the last one (`count % batchSize` samples, unless `--drop-last`).
    ///
    /// The layers' input shapes come from one evaluation-mode pass over two training samples: no
    /// statistics are updated and no random numbers drawn, so the run is unchanged.
    /// - Throws: ``/NablaTensor/NablaError`` (`.invalidArgument`) naming the batch size, the layer and its input,
    ///   with the way out (`--drop-last`, or another batch size).
    func checkBatchNormalizationBatches() throws {
        let layers = model.namedModules().compactMap { entry in (entry.module as? BatchNorm<Float>).map { (entry.name, $0) } }
        let dataset = trainLoader.dataset, batchSize = trainLoader.batchSize
        guard !layers.isEmpty, dataset.count > 0, batchSize > 0 else { return }
        let remainder = dataset.count % batchSize
        let smallest = trainLoader.dropLast || remainder == 0 ? batchSize : remainder
        guard smallest == 1 else { return }
        let first = dataset.inputs[0..<1]
        let pair = Tensor<Float>(shape: [2] + first.shape.dropFirst(), scalars: first.scalars + first.scalars)
        for (_, layer) in layers { layer.lastInputShape = nil }
        _ = model.evaluating { model(Variable(pair)) }
        for (name, layer) in layers {
            guard let shape = layer.lastInputShape, shape.count >= 2, shape.dropFirst(2).reduce(1, *) <= 1 else { continue }
            let input = "[" + ([1] + shape.dropFirst()).map(String.init).joined(separator: ", ") + "]"
            let layerName = "\(String(describing: type(of: layer)).prefix { $0 != "<" }) layer '\(name)'"
            let what = batchSize == 1
                ? "\(layerName) needs more than 1 value per channel when training, and gets \(input); use a batch size of at least 2"
                : "the last batch of each epoch holds 1 of the \(dataset.count) training samples, and \(layerName) needs more than 1 value per channel when training (it would get \(input)); use --drop-last or another batch size"
            throw NablaError(.invalidArgument, "--batch-size \(batchSize): \(what) (PyTorch refuses such a batch too)")
        }
    }
}
