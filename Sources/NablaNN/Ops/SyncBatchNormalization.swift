import NablaTensor

/// The replicas of a data-parallel job as a layer sees them: collectives over small arrays of
/// `Double` that every replica calls in the same order (SyncBatchNorm's statistics and their
/// gradients). NablaNN defines only this contract; a process group implements it (NablaTraining's
/// data-parallel support adapts an MPI process group), so layers never depend on a transport.
///
/// The calls cannot fail from the layer's point of view: an implementation whose transport fails
/// ends the process with one line on standard error (the launcher then stops the other replicas),
/// since a forward or backward pass has no error channel and a replica that continued alone would
/// wait forever for the others.
public protocol ReplicaCollectives: AnyObject {
    /// The number of replicas, at least 1.
    var replicaCount: Int { get }
    /// Every replica's `values`, indexed by replica (each replica passes the same count).
    func allGather(_ values: [Double]) -> [[Double]]
    /// The elementwise sum over replicas of `values`, on every replica.
    func sum(_ values: [Double]) -> [Double]
}

/// Synchronized batch normalization in training mode (PyTorch `nn.SyncBatchNorm`): the batch
/// statistics are those of the union of every replica's batch, so `R` replicas with batches of
/// `N/R` samples normalize exactly as one process with the whole batch of `N` would.
///
/// Forward, per channel `c`: each replica computes the count `M_r`, mean `μ_r` and sum of squared
/// deviations `M₂,r` of its own values in `Double`; one ``ReplicaCollectives/allGather(_:)`` shares
/// them, and every replica merges them in replica order with Chan et al.'s pairwise update (the
/// same stable scheme as the single-process kernel, and the same bits on every replica):
///
///     M = Σ M_r,   μ = Σ M_r·μ_r / M,   σ² = M₂/M,   y = γ·(x − μ)/√(σ² + ε) + β
///
/// The running statistics are updated as ``batchNorm(_:runningMean:runningVariance:weight:bias:training:momentum:eps:fusingReLU:)``
/// does, with the global mean and the global unbiased variance `M₂/(M − 1)`. Needs `M > 1`.
///
/// Backward: with `A = Σ dy` and `B = Σ dy·(x − μ)` summed over every replica
/// (one ``ReplicaCollectives/sum(_:)``), each replica's input gradient is the closed form of the
/// single-process kernel with global sums and count,
///
///     ∂x = γσ⁻¹·dy − γσ⁻¹·A/M − γσ⁻³·B/M·(x − μ)
///
/// which is the exact derivative of the *sum* of the replicas' losses. `∂γ = Σ dy·x̂` and
/// `∂β = Σ dy` are this replica's own sums: the data-parallel gradient reduction adds them up with
/// every other parameter's (PyTorch does the same). Replicas weight their losses before backward
/// (a share `n_r/N` of a mean loss), so the summed gradient is that of the global batch's loss.
///
/// With `fusingReLU` the result is `relu(y)` in the same node.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func syncBatchNorm<Scalar: TensorScalar>(
    _ x: Variable<Scalar>,
    runningMean: Buffer<Scalar>?, runningVariance: Buffer<Scalar>?,
    weight: Variable<Scalar>?, bias: Variable<Scalar>?,
    momentum: Double = 0.1, eps: Double = 1e-5, fusingReLU: Bool = false,
    replicas: any ReplicaCollectives
) -> Variable<Scalar> {
    let shape = x.shape
    precondition(shape.count >= 2 && x.value.count > 0, "syncBatchNorm: input must be a non-empty [N, C, *], got shape \(shape)")
    let samples = shape[0], channels = shape[1], spatial = shape.dropFirst(2).reduce(1, *)
    checkChannelTensor("weight", weight?.shape, channels: channels, input: shape)
    checkChannelTensor("bias", bias?.shape, channels: channels, input: shape)
    checkChannelTensor("running_mean", runningMean?.value.shape, channels: channels, input: shape)
    checkChannelTensor("running_var", runningVariance?.value.shape, channels: channels, input: shape)
    precondition((runningMean == nil) == (runningVariance == nil),
                 "syncBatchNorm: running_mean and running_var must be given together")

    let xv = x.value
    let gamma = weight?.value.scalars.map { Double($0) } ?? [Double](repeating: 1, count: channels)
    let beta = bias?.value.scalars.map { Double($0) } ?? [Double](repeating: 0, count: channels)

    // This replica's moments, shared as [count, means…, M₂…], merged in replica order.
    var localMean = [Double](repeating: 0, count: channels), localVariance = localMean
    xv.withUnsafeBufferPointer { px in
        BatchNormKernels.channelMoments(px.baseAddress!, samples: samples, channels: channels, spatial: spatial,
                                        mean: &localMean, variance: &localVariance)
    }
    let localCount = Double(samples * spatial)
    let shared = replicas.allGather([localCount] + localMean + localVariance.map { $0 * localCount })
    var moments = [NormalizationKernels.Moments](repeating: .init(), count: channels)
    for part in shared {
        precondition(part.count == 1 + 2 * channels, "syncBatchNorm: a replica sent \(part.count) values, expected \(1 + 2 * channels): the replicas run different models")
        for c in 0..<channels { moments[c].merge(count: part[0], mean: part[1 + c], m2: part[1 + channels + c]) }
    }
    let count = moments.first?.count ?? 0
    precondition(count > 1, "Expected more than 1 value per channel when training, got input size \(shape) on \(replicas.replicaCount) replicas")
    let mean = moments.map(\.mean), variance = moments.map(\.biasedVariance)
    let coefficients = (0..<channels).map { BatchNormCoefficients<Scalar>(mean[$0], variance[$0], gamma[$0], beta[$0], eps) }
    let center = coefficients.map(\.center), scale = coefficients.map(\.scale)
    let y = Tensor<Scalar>(shape: shape) { out in
        xv.withUnsafeBufferPointer { px in
            NormalizationKernels.affine(px.baseAddress!, into: out.baseAddress!, samples: samples, channels: channels,
                                        spatial: spatial, center: center, scale: scale,
                                        shift: coefficients.map(\.shift), coefficientRowStride: 0, clampingAtZero: fusingReLU)
        }
    }
    if let runningMean, let runningVariance {
        updateRunningStatistics(mean: runningMean, variance: runningVariance, batchMean: mean,
                                unbiasedVariance: moments.map { $0.m2 / ($0.count - 1) }, momentum: momentum)
    }

    let keptOutput = fusingReLU ? y : nil
    let inputs = [x] + [weight, bias].compactMap { $0 }
    return Variable(y, inputs: inputs) { upstream in
        let g = keptOutput.map { reluBackward(upstream, output: $0) } ?? upstream
        var sumDy = [Double](repeating: 0, count: channels), sumDyCentered = sumDy
        g.withUnsafeBufferPointer { pg in
            xv.withUnsafeBufferPointer { px in
                BatchNormKernels.channelGradientSums(pg.baseAddress!, px.baseAddress!, samples: samples, channels: channels,
                                                     spatial: spatial, center: center,
                                                     sumDy: &sumDy, sumDyCentered: &sumDyCentered)
            }
        }
        // Centred on the rounded mean: Σdy(x − μ) = Σdy(x − c) + (c − μ)·Σdy.
        for c in 0..<channels { sumDyCentered[c] += (Double(center[c]) - mean[c]) * sumDy[c] }
        if let weight, weight.requiresGradient {
            weight.accumulate(Tensor(shape: [channels], scalars: (0..<channels).map { Scalar(sumDyCentered[$0] * coefficients[$0].invstd) }))
        }
        if let bias, bias.requiresGradient {
            bias.accumulate(Tensor(shape: [channels], scalars: sumDy.map { Scalar($0) }))
        }
        guard x.requiresGradient else { return }
        let total = replicas.sum(sumDy + sumDyCentered)
        let terms = (0..<channels).map {
            coefficients[$0].inputGradientTerms(mean: mean[$0], gamma: gamma[$0], sumDy: total[$0],
                                                sumDyCentered: total[channels + $0], count: Int(count))
        }
        let dx = Tensor<Scalar>(shape: shape) { out in
            g.withUnsafeBufferPointer { pg in
                xv.withUnsafeBufferPointer { px in
                    NormalizationKernels.inputGradient(pg.baseAddress!, px.baseAddress!, into: out.baseAddress!,
                                                       samples: samples, channels: channels, spatial: spatial,
                                                       center: center, scale: scale, slope: terms.map(\.slope),
                                                       offset: terms.map(\.offset), coefficientRowStride: 0)
                }
            }
        }
        x.accumulate(dx)
    }
}
