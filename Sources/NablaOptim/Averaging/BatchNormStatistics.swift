import NablaTensor
import NablaNN

/// Recomputes the running statistics of every batch normalization layer of `model` from one pass
/// over `inputs` — PyTorch's `torch.optim.swa_utils.update_bn(loader, model)`, used after stochastic
/// weight averaging: the averaged weights never produced the running statistics the live model
/// accumulated, so they are measured again.
///
/// Exactly as PyTorch: every ``BatchNorm`` is reset (running mean 0, variance 1,
/// `num_batches_tracked` 0) and its momentum set to `nil` (a cumulative average), the model runs in
/// training mode on each input batch (without recording gradients), then momenta and the training
/// flag are restored. With the cumulative average the result is, per channel, the mean over batches
/// of the batch means and the mean of the unbiased batch variances — **every batch counts equally,
/// whatever its size** — and `num_batches_tracked` is the number of batches. Other layers run in
/// training mode too (dropout draws masks from its generators, as it does in PyTorch). A model
/// without batch normalization is left untouched and `inputs` is not iterated.
public func updateBatchNormStatistics<Scalar: TensorScalar, Inputs: Sequence>(of model: Module<Scalar>, inputs: Inputs)
    where Inputs.Element == Tensor<Scalar> {
    let layers = model.namedModules().compactMap { $0.module as? BatchNorm<Scalar> }
    guard !layers.isEmpty else { return }
    let momenta = layers.map(\.momentum)
    for layer in layers { layer.resetRunningStatistics() }
    let wasTraining = model.isTraining
    model.train()
    for layer in layers { layer.momentum = nil }
    defer {
        for (layer, momentum) in zip(layers, momenta) { layer.momentum = momentum }
        model.train(wasTraining)
    }
    withoutGradient {
        for x in inputs { _ = model(Variable(x)) }
    }
}
