import NablaTensor

/// Structured dropout: whole channels (Dropout2d) and whole samples (DropPath / stochastic depth).
/// Both are inverted (PyTorch `F.dropout2d`, timm `drop_path`): kept groups are scaled by `1/(1 − p)`
/// in training, and evaluation is the identity. Each is one tape node over ``maskedScale``.

/// Channel dropout (Tompson et al., 2015, "Efficient Object Localization Using Convolutional
/// Networks"; PyTorch `F.dropout2d`): each channel of each sample of `x` — `[N, C, H, W]` or
/// `[N, C, L]` — is zeroed as a whole with probability `p`; kept channels are scaled by `1/(1 − p)`.
///
/// The keep mask has shape `[N, C]` (drawn with ``dropoutMask(shape:probability:using:)``), broadcast
/// over the spatial axes. Evaluation, and `p = 0`, return `x`; `p = 1` yields zeros.
/// - Precondition: `x` has rank 3 or 4 and `p ∈ [0, 1]`.
public func dropout2d<Scalar>(
    _ x: Variable<Scalar>, probability p: Double, training: Bool, using generator: inout RandomGenerator
) -> Variable<Scalar> {
    preconditionDropProbability(p, "dropout2d")
    precondition(x.value.rank == 3 || x.value.rank == 4,
                 "dropout2d expects [N, C, H, W] or [N, C, L], got \(x.shape)")
    if !training || p == 0 { return x }
    let scaledMask = drawMask(shape: [x.shape[0], x.shape[1]], probability: p,
                              keptValue: trainingScale(probability: p, mode: .inverted) as Scalar, using: &generator)
    return maskedScale(x, scaledMask: scaledMask, groupSize: x.shape.dropFirst(2).reduce(1, *))
}

/// Training-mode channel dropout with an explicit keep mask of shape `[N, C]` (0 or 1 per channel):
/// `y[n, c, …] = x[n, c, …] · m[n, c] / (1 − p)`.
public func dropout2d<Scalar>(_ x: Variable<Scalar>, mask: Tensor<Scalar>, probability p: Double) -> Variable<Scalar> {
    preconditionDropProbability(p, "dropout2d")
    precondition(x.value.rank >= 2 && mask.shape == [x.shape[0], x.shape[1]],
                 "dropout2d: mask shape \(mask.shape) is not [N, C] of input shape \(x.shape)")
    let spatial = x.shape.dropFirst(2).reduce(1, *)
    return maskedScale(x, scaledMask: scaledKeepMask(mask, probability: p, mode: .inverted, name: "dropout2d"),
                       groupSize: spatial)
}

/// Drop-path, the per-sample branch dropout of stochastic depth (Huang et al., 2016, "Deep Networks
/// with Stochastic Depth"; timm's `drop_path` with `scale_by_keep=True`): each sample of `x`
/// (leading axis) is zeroed as a whole with probability `p`, kept samples are scaled by `1/(1 − p)`.
///
/// Applied to a residual branch `f`, `x + dropPath(f(x))` skips the branch for a random subset of
/// the batch. The paper rescales the branch by the survival probability at test time instead; the
/// inverted form here has the same expectation and makes evaluation the identity. This is seed
/// 000's "drop layer".
/// - Precondition: `x` has rank ≥ 1 and `p ∈ [0, 1]`.
public func dropPath<Scalar>(
    _ x: Variable<Scalar>, probability p: Double, training: Bool, using generator: inout RandomGenerator
) -> Variable<Scalar> {
    preconditionDropProbability(p, "dropPath")
    precondition(x.value.rank >= 1, "dropPath expects a batch with samples on the leading axis, got \(x.shape)")
    if !training || p == 0 { return x }
    let scaledMask = drawMask(shape: [x.shape[0]], probability: p,
                              keptValue: trainingScale(probability: p, mode: .inverted) as Scalar, using: &generator)
    return maskedScale(x, scaledMask: scaledMask, groupSize: x.shape.dropFirst().reduce(1, *))
}

/// Training-mode drop-path with an explicit keep mask of shape `[N]` (0 or 1 per sample):
/// `y[n, …] = x[n, …] · m[n] / (1 − p)`.
public func dropPath<Scalar>(_ x: Variable<Scalar>, mask: Tensor<Scalar>, probability p: Double) -> Variable<Scalar> {
    preconditionDropProbability(p, "dropPath")
    precondition(x.value.rank >= 1 && mask.shape == [x.shape[0]],
                 "dropPath: mask shape \(mask.shape) is not [N] of input shape \(x.shape)")
    let perSample = x.shape.dropFirst().reduce(1, *)
    return maskedScale(x, scaledMask: scaledKeepMask(mask, probability: p, mode: .inverted, name: "dropPath"),
                       groupSize: perSample)
}
