import Foundation
import NablaTensor

/// Batch normalization as one tape node (Ioffe & Szegedy, “Batch Normalization: Accelerating Deep
/// Network Training by Reducing Internal Covariate Shift”, 2015), PyTorch's `F.batch_norm`.
///
/// For an input `x` of shape `[N, C, *]` ( `(N, C)`, `(N, C, L)`, `(N, C, H, W)`, `(N, C, D, H, W)` ),
/// with `M = N·∏*` values per channel:
///
///     x̂ = (x − μ_c) / √(σ²_c + ε),      y = γ_c·x̂ + β_c
///
/// - `training: true` — `μ_c`, `σ²_c` are the batch mean and the *biased* batch variance
///   `Σ(x − μ)²/M` over `N` and every spatial position. When running buffers are given they are
///   updated in place as `running = (1 − momentum)·running + momentum·batch`, the variance with the
///   *unbiased* batch variance `Σ(x − μ)²/(M − 1)` (PyTorch's rule; cs231n writes it with `0.9` on
///   the other side). Needs `M > 1`.
/// - `training: false` — `μ_c`, `σ²_c` are the running statistics (which must be given), so the
///   layer is the per-channel affine map `y = γ(x − μ)/√(σ² + ε) + β`.
///
/// `momentum` is the exponential-average factor; a layer with PyTorch's `momentum = None` passes
/// `1/num_batches_tracked` for a cumulative average. `ε` sits inside the square root.
///
/// Statistics are computed in one stable pass per channel (two-pass per cached block, merged
/// pairwise, in `Double`). The backward pass is the closed form (cs231n's “alt” backward): with
/// `σ⁻¹ = 1/√(σ² + ε)`,
///
///     ∂β = Σ dy,   ∂γ = Σ dy·x̂,   ∂x = (γσ⁻¹/M)·(M·dy − Σdy − x̂·Σ(dy·x̂))       (training)
///     ∂x = γσ⁻¹·dy                                                           (evaluation)
///
/// Channels are processed in parallel; the inner loops run over the contiguous `∏*` positions of one
/// (sample, channel) pair.
///
/// With `fusingReLU` the node is `relu(batchNorm(x))` in one pass each way — the same values and
/// gradients bit for bit, without the intermediate tensor: the forward clamps as it normalizes, the
/// backward reads `∂y` only where the output is positive (`Sequential` fuses a `BatchNorm` followed
/// by a `ReLU` this way). In training (`[N, C, *]` with `∏* > 1`) the fused node's backward writes
/// `∂x` over the `∂y` that ``backward()`` lends it (``Variable/reusingUpstream(_:inputs:pullback:)``).
///
/// - Parameters:
///   - x: the input `[N, C, *]`.
///   - runningMean: the running mean `[C]`, updated in training; required in evaluation.
///   - runningVariance: the running (unbiased) variance `[C]`, likewise.
///   - weight: `γ`, shape `[C]`, or `nil` for `γ = 1` (PyTorch `affine=False`).
///   - bias: `β`, shape `[C]`, or `nil` for `β = 0`.
///   - training: normalize with the batch statistics (and update the running ones) rather than
///     with the running statistics.
///   - momentum: the running-average factor `m` in `[0, 1]`.
///   - eps: `ε`, added to the variance inside the square root.
///   - fusingReLU: apply a ReLU to the output inside the same node.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func batchNorm<Scalar: TensorScalar>(
    _ x: Variable<Scalar>,
    runningMean: Buffer<Scalar>?, runningVariance: Buffer<Scalar>?,
    weight: Variable<Scalar>?, bias: Variable<Scalar>?,
    training: Bool, momentum: Double = 0.1, eps: Double = 1e-5, fusingReLU: Bool = false
) -> Variable<Scalar> {
    let shape = x.shape
    precondition(shape.count >= 2 && x.value.count > 0, "batchNorm: input must be a non-empty [N, C, *], got shape \(shape)")
    let samples = shape[0], channels = shape[1], spatial = shape.dropFirst(2).reduce(1, *)
    let reduced = samples * spatial
    checkChannelTensor("weight", weight?.shape, channels: channels, input: shape)
    checkChannelTensor("bias", bias?.shape, channels: channels, input: shape)
    checkChannelTensor("running_mean", runningMean?.value.shape, channels: channels, input: shape)
    checkChannelTensor("running_var", runningVariance?.value.shape, channels: channels, input: shape)
    precondition((runningMean == nil) == (runningVariance == nil),
                 "batchNorm: running_mean and running_var must be given together")

    let xv = x.value
    let gamma = weight?.value.scalars.map { Double($0) } ?? [Double](repeating: 1, count: channels)
    let beta = bias?.value.scalars.map { Double($0) } ?? [Double](repeating: 0, count: channels)
    var mean = [Double](repeating: 0, count: channels), variance = mean
    let y: Tensor<Scalar>
    if training {
        precondition(reduced > 1, "Expected more than 1 value per channel when training, got input size \(shape)")
        y = Tensor<Scalar>(shape: shape) { out in
            xv.withUnsafeBufferPointer { px in
                BatchNormKernels.trainingForward(px.baseAddress!, into: out.baseAddress!, samples: samples,
                                                 channels: channels, spatial: spatial, gamma: gamma, beta: beta,
                                                 eps: eps, mean: &mean, variance: &variance, clampingAtZero: fusingReLU)
            }
        }
        if let runningMean, let runningVariance {
            let correction = Double(reduced) / Double(reduced - 1)
            updateRunningStatistics(mean: runningMean, variance: runningVariance, batchMean: mean,
                                    unbiasedVariance: variance.map { $0 * correction }, momentum: momentum)
        }
    } else {
        guard let runningMean, let runningVariance else {
            preconditionFailure("batchNorm: evaluation mode needs running statistics (or training: true for batch statistics)")
        }
        mean = runningMean.value.scalars.map { Double($0) }
        variance = runningVariance.value.scalars.map { Double($0) }
        let k = (0..<channels).map { BatchNormCoefficients<Scalar>(mean[$0], variance[$0], gamma[$0], beta[$0], eps) }
        let (center, scale, shift) = (k.map { $0.center }, k.map { $0.scale }, k.map { $0.shift })
        y = Tensor<Scalar>(shape: shape) { out in
            xv.withUnsafeBufferPointer { px in
                NormalizationKernels.affine(px.baseAddress!, into: out.baseAddress!, samples: samples, channels: channels,
                                            spatial: spatial, center: center, scale: scale, shift: shift,
                                            coefficientRowStride: 0, clampingAtZero: fusingReLU)
            }
        }
    }
    let coefficients = (0..<channels).map { BatchNormCoefficients<Scalar>(mean[$0], variance[$0], gamma[$0], beta[$0], eps) }
    let invstd = coefficients.map { $0.invstd }

    // A fused ReLU masks ∂y inside the training kernel, recomputing the mask from `x`; elsewhere
    // (evaluation, or an `(N, C)` input) in a pass of its own over the kept output.
    let masksInKernel = fusingReLU && training && spatial > 1
    let keptOutput = fusingReLU && !masksInKernel ? y : nil
    let inputs = [x] + [weight, bias].compactMap { $0 }
    return Variable.reusingUpstream(y, inputs: inputs) { upstream in
        let needsInput = x.requiresGradient
        let needsWeight = weight?.requiresGradient ?? false, needsBias = bias?.requiresGradient ?? false
        var sumDy = [Double](repeating: 0, count: channels), sumDyCentered = sumDy
        var dx: Tensor<Scalar>? = nil
        if masksInKernel && needsInput {
            // ∂x overwrites ∂y, run by run, right after the reduction has read it (see trainingBackward):
            // no fresh tensor whose every line the memory system would read before it is written. Only
            // with the fused ReLU, whose upstream comes from the next layer's pullback and is held by
            // nobody else; a plain batch norm's output often feeds a residual sum, whose pullback hands
            // one tensor to both branches, and writing over it would first copy it (measured on
            // resnet20: the copies cost more than the in-place writes saved).
            xv.withUnsafeBufferPointer { px in
                upstream.withUnsafeMutableBufferPointer { pg in
                    BatchNormKernels.trainingBackward(UnsafePointer(pg.baseAddress!), px.baseAddress!, into: pg.baseAddress!,
                                                      samples: samples, channels: channels, spatial: spatial,
                                                      coefficients: coefficients, mean: mean, gamma: gamma,
                                                      sumDy: &sumDy, sumDyCentered: &sumDyCentered,
                                                      maskingReLU: masksInKernel)
                }
            }
            dx = upstream
        } else {
            let g = keptOutput.map { reluBackward(upstream, output: $0) } ?? upstream
            g.withUnsafeBufferPointer { pg in
                xv.withUnsafeBufferPointer { px in
                    if training {
                        func run(_ out: UnsafeMutablePointer<Scalar>?) {
                            BatchNormKernels.trainingBackward(pg.baseAddress!, px.baseAddress!, into: out,
                                                              samples: samples, channels: channels, spatial: spatial,
                                                              coefficients: coefficients, mean: mean, gamma: gamma,
                                                              sumDy: &sumDy, sumDyCentered: &sumDyCentered,
                                                              maskingReLU: masksInKernel)
                        }
                        if needsInput { dx = Tensor<Scalar>(shape: shape) { run($0.baseAddress!) } } else { run(nil) }
                        return
                    }
                    let center = coefficients.map { $0.center }, scale = coefficients.map { $0.scale }
                    if needsWeight || needsBias {
                        BatchNormKernels.channelGradientSums(pg.baseAddress!, px.baseAddress!, samples: samples,
                                                             channels: channels, spatial: spatial, center: center,
                                                             sumDy: &sumDy, sumDyCentered: &sumDyCentered)
                        for c in 0..<channels { sumDyCentered[c] += (Double(center[c]) - mean[c]) * sumDy[c] }
                    }
                    if needsInput {
                        // The backward of an affine map: ∂x = γσ⁻¹·dy.
                        dx = Tensor<Scalar>(shape: shape) { out in
                            NormalizationKernels.inputGradient(pg.baseAddress!, px.baseAddress!, into: out.baseAddress!,
                                                               samples: samples, channels: channels, spatial: spatial,
                                                               center: center, scale: scale, slope: nil, offset: nil,
                                                               coefficientRowStride: 0)
                        }
                    }
                }
            }
        }
        if let weight, needsWeight {
            weight.accumulate(Tensor(shape: [channels], scalars: (0..<channels).map { Scalar(sumDyCentered[$0] * invstd[$0]) }))
        }
        if let bias, needsBias {
            bias.accumulate(Tensor(shape: [channels], scalars: sumDy.map { Scalar($0) }))
        }
        if let dx { x.accumulate(dx) }
    }
}

/// The per-channel constants of batch normalization, computed in `Double` from the statistics.
///
/// The input is centred on `center`, the mean rounded to `S`, so that `x − center` is exact; the
/// rounding residual `μ − center` is folded into `shift`: `y = (x − center)·scale + shift` with
/// `scale = γσ⁻¹` and `shift = β − γσ⁻¹·(μ − center)`.
struct BatchNormCoefficients<S: TensorScalar> {
    /// `σ⁻¹ = 1/√(σ² + ε)`.
    let invstd: Double
    let center: S
    let scale: S
    let shift: S

    @inline(__always)
    init(_ mean: Double, _ variance: Double, _ gamma: Double, _ beta: Double, _ eps: Double) {
        invstd = 1 / (variance + eps).squareRoot()
        center = S(mean)
        let residual: Double = mean - Double(center)
        scale = S(gamma * invstd)
        shift = S(beta - gamma * invstd * residual)
    }

    /// Whether a fused ReLU passes `x`: the batch-norm output `(x − center)·scale + shift` is
    /// positive. The same arithmetic as the forward pass, so the mask has the forward's bits.
    @inline(__always)
    func passesReLU(_ x: S) -> Bool { (x - center) * scale + shift > 0 }

    /// The slope `p` and offset `q` of the training-mode input gradient
    /// `∂x = scale·dy + p·(x − center) + q`, from `A = Σdy` and `B = Σdy·(x − μ)` over `count` values:
    /// `p = −γσ⁻³·B/M`, `q = −γσ⁻¹·A/M + p·(center − μ)` (cs231n's “alt” backward).
    @inline(__always)
    func inputGradientTerms(mean: Double, gamma: Double, sumDy: Double, sumDyCentered: Double, count: Int)
        -> (slope: S, offset: S) {
        let m = Double(count), k = gamma * invstd
        let slope = -k * invstd * invstd * sumDyCentered / m
        let residual: Double = Double(center) - mean
        return (S(slope), S(-k * sumDy / m + slope * residual))
    }
}

/// `running = (1 − momentum)·running + momentum·batch` for the mean and (unbiased) variance, in place.
func updateRunningStatistics<Scalar: TensorScalar>(
    mean: Buffer<Scalar>, variance: Buffer<Scalar>, batchMean: [Double], unbiasedVariance: [Double], momentum: Double
) {
    let keep = 1 - momentum
    mean.value.withUnsafeMutableBufferPointer { rm in
        for c in 0..<rm.count { rm[c] = Scalar(keep * Double(rm[c]) + momentum * batchMean[c]) }
    }
    variance.value.withUnsafeMutableBufferPointer { rv in
        for c in 0..<rv.count { rv[c] = Scalar(keep * Double(rv[c]) + momentum * unbiasedVariance[c]) }
    }
}

/// Traps unless a per-channel tensor (when present) has shape `[channels]`.
func checkChannelTensor(_ name: String, _ shape: [Int]?, channels: Int, input: [Int]) {
    guard let shape else { return }
    precondition(shape == [channels],
                 "normalization: \(name) of shape \(shape) does not match the \(channels) channels of an input of shape \(input)")
}

/// The per-channel reductions of batch normalization over an `[N, C, S]` input.
enum BatchNormKernels {
    /// Training-mode forward: the batch mean and biased variance of each channel (into `mean`,
    /// `variance`) and `y = (x − center)·scale + shift` with ``BatchNormCoefficients`` (`max(0, …)`
    /// with `clampingAtZero`, a fused ReLU). With `S > 1`
    /// each channel is one task that normalizes its runs right after reducing them, while they are
    /// still in cache; with `S = 1` the statistics come from ``channelMoments(_:samples:channels:spatial:mean:variance:)``.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func trainingForward<S: TensorScalar>(
        _ x: UnsafePointer<S>, into y: UnsafeMutablePointer<S>, samples: Int, channels: Int, spatial: Int,
        gamma: UnsafePointer<Double>, beta: UnsafePointer<Double>, eps: Double,
        mean: UnsafeMutablePointer<Double>, variance: UnsafeMutablePointer<Double>, clampingAtZero: Bool = false
    ) {
        if spatial == 1 {
            channelMoments(x, samples: samples, channels: channels, spatial: 1, mean: mean, variance: variance)
            let k = (0..<channels).map { BatchNormCoefficients<S>(mean[$0], variance[$0], gamma[$0], beta[$0], eps) }
            NormalizationKernels.affine(x, into: y, samples: samples, channels: channels, spatial: 1,
                                        center: k.map { $0.center }, scale: k.map { $0.scale }, shift: k.map { $0.shift },
                                        coefficientRowStride: 0, clampingAtZero: clampingAtZero)
            return
        }
        NormalizationKernels.forEach(channels, elementCount: samples * channels * spatial) { c in
            let moments = runMoments(x, channel: c, samples: samples, channels: channels, spatial: spatial)
            mean[c] = moments.mean
            variance[c] = moments.biasedVariance
            let k = BatchNormCoefficients<S>(mean[c], variance[c], gamma[c], beta[c], eps)
            for n in 0..<samples {
                let offset = (n * channels + c) * spatial
                NormalizationKernels.affineRun(x + offset, into: y + offset, count: spatial, center: k.center,
                                               scale: k.scale, shift: k.shift, clampingAtZero: clampingAtZero)
            }
        }
    }

    /// Training-mode backward: `Σ dy` and `Σ dy·(x − μ)` of each channel (into `sumDy`,
    /// `sumDyCentered`) and, when `dx` is given, the closed-form input gradient. With `S > 1` each
    /// channel is one task that writes its gradient right after reducing its runs. With
    /// `maskingReLU` (a fused ReLU, `S > 1` only) `dy` counts only where the forward output was
    /// positive, recomputed from `x` by ``BatchNormCoefficients/passesReLU(_:)`` instead of reading the
    /// output back: one array less through the memory system per pass. With `S > 1`, `dx` may be `dy`
    /// itself: a channel's gradient overwrites its runs of `dy` once its reduction has read them all.
    /// Each channel's runs are reduced with the start of the next one prefetched
    /// (``prefetchStart(of:count:)``).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func trainingBackward<S: TensorScalar>(
        _ dy: UnsafePointer<S>, _ x: UnsafePointer<S>, into dx: UnsafeMutablePointer<S>?,
        samples: Int, channels: Int, spatial: Int, coefficients: UnsafePointer<BatchNormCoefficients<S>>,
        mean: UnsafePointer<Double>, gamma: UnsafePointer<Double>,
        sumDy: UnsafeMutablePointer<Double>, sumDyCentered: UnsafeMutablePointer<Double>,
        maskingReLU: Bool = false
    ) {
        let count = samples * spatial
        if spatial == 1 {
            precondition(!maskingReLU, "BatchNormKernels.trainingBackward: a fused ReLU needs spatial > 1")
            let center = (0..<channels).map { coefficients[$0].center }
            channelGradientSums(dy, x, samples: samples, channels: channels, spatial: 1, center: center,
                                sumDy: sumDy, sumDyCentered: sumDyCentered)
            for c in 0..<channels { sumDyCentered[c] += (Double(center[c]) - mean[c]) * sumDy[c] }
            guard let dx else { return }
            let terms = (0..<channels).map {
                coefficients[$0].inputGradientTerms(mean: mean[$0], gamma: gamma[$0], sumDy: sumDy[$0],
                                                    sumDyCentered: sumDyCentered[$0], count: count)
            }
            NormalizationKernels.inputGradient(dy, x, into: dx, samples: samples, channels: channels, spatial: 1,
                                               center: center, scale: (0..<channels).map { coefficients[$0].scale },
                                               slope: terms.map { $0.slope }, offset: terms.map { $0.offset },
                                               coefficientRowStride: 0)
            return
        }
        NormalizationKernels.forEach(channels, elementCount: samples * channels * spatial) { c in
            let k = coefficients[c]
            var a = 0.0, b = 0.0
            withUnsafeTemporaryAllocation(of: S.self, capacity: maskingReLU ? spatial : 0) { scratch in
                for n in 0..<samples {
                    let offset = (n * channels + c) * spatial
                    if n + 1 < samples {
                        prefetchStart(of: dy + offset + channels * spatial, count: spatial)
                        prefetchStart(of: x + offset + channels * spatial, count: spatial)
                    }
                    let sums = maskingReLU
                        ? NormalizationKernels.maskedGradientSums(dy + offset, x + offset, spatial, coefficients: k,
                                                                  scratch: scratch.baseAddress!)
                        : NormalizationKernels.gradientSums(dy + offset, x + offset, spatial, center: k.center)
                    a += sums.sumDy
                    b += sums.sumDyCentered
                }
            }
            // The runs were centred on the rounded mean: Σdy(x − μ) = Σdy(x − c) + (c − μ)·Σdy.
            b += (Double(k.center) - mean[c]) * a
            sumDy[c] = a
            sumDyCentered[c] = b
            guard let dx else { return }
            let (p, q) = k.inputGradientTerms(mean: mean[c], gamma: gamma[c], sumDy: a, sumDyCentered: b, count: count)
            let m = k.center, scale = k.scale
            if UnsafePointer(dx) == dy {
                for n in 0..<samples {
                    let offset = (n * channels + c) * spatial
                    inputGradientInPlace(dx + offset, x + offset, count: spatial, coefficients: k, slope: p, offset: q,
                                         maskingReLU: maskingReLU)
                }
                return
            }
            for n in 0..<samples {
                let offset = (n * channels + c) * spatial
                let g = dy + offset, xr = x + offset, out = dx + offset
                if maskingReLU {
                    for s in 0..<spatial {
                        let value = xr[s], upstream = g[s]
                        out[s] = scale * (k.passesReLU(value) ? upstream : 0) + p * (value - m) + q
                    }
                } else {
                    for s in 0..<spatial { out[s] = scale * g[s] + p * (xr[s] - m) + q }
                }
            }
        }
    }

    /// The moments of channel `c` of an `[N, C, S]` input: its `N` runs added sample by sample, the
    /// start of each next run prefetched (``prefetchStart(of:count:)``).
    @inline(__always)
    static func runMoments<S: TensorScalar>(_ x: UnsafePointer<S>, channel c: Int, samples: Int, channels: Int,
                                            spatial: Int) -> NormalizationKernels.Moments {
        var moments = NormalizationKernels.Moments()
        for n in 0..<samples {
            if n + 1 < samples { prefetchStart(of: x + ((n + 1) * channels + c) * spatial, count: spatial) }
            moments.add(x + (n * channels + c) * spatial, count: spatial)
        }
        return moments
    }

    /// `g[s] ← scale·g[s] + p·(x[s] − center) + q` for `s < count` (`g[s]` counted only where
    /// ``BatchNormCoefficients/passesReLU(_:)`` with `maskingReLU`): the input gradient of one run
    /// written over its upstream gradient. One pointer for both: with a source and a destination that
    /// are the same address, the overlap check the compiler puts before a vectorized loop over two
    /// pointers would fail and run the scalar loop instead.
    @inline(__always)
    static func inputGradientInPlace<S: TensorScalar>(
        _ g: UnsafeMutablePointer<S>, _ x: UnsafePointer<S>, count: Int, coefficients k: BatchNormCoefficients<S>,
        slope p: S, offset q: S, maskingReLU: Bool
    ) {
        let m = k.center, scale = k.scale
        if maskingReLU {
            for s in 0..<count {
                let value = x[s], upstream = g[s]
                g[s] = scale * (k.passesReLU(value) ? upstream : 0) + p * (value - m) + q
            }
        } else {
            for s in 0..<count { g[s] = scale * g[s] + p * (x[s] - m) + q }
        }
    }

    /// The mean and biased variance of each channel over `N·S` values, in `Double`. With `S > 1`
    /// channels run in parallel, each over its `N` contiguous runs; with `S = 1` (an `(N, C)` input)
    /// column blocks run in parallel with two passes over the rows, vectorized across channels
    /// (``columnMoments(_:rows:stride:columns:mean:variance:)``).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func channelMoments<S: TensorScalar>(
        _ x: UnsafePointer<S>, samples: Int, channels: Int, spatial: Int,
        mean: UnsafeMutablePointer<Double>, variance: UnsafeMutablePointer<Double>
    ) {
        let total = samples * channels * spatial
        if spatial > 1 {
            NormalizationKernels.forEach(channels, elementCount: total) { c in
                let moments = runMoments(x, channel: c, samples: samples, channels: channels, spatial: spatial)
                mean[c] = moments.mean
                variance[c] = moments.biasedVariance
            }
            return
        }
        let chunks = NormalizationKernels.chunkCount(items: (channels + 15) / 16, elementCount: total)
        NormalizationKernels.forEach(chunks, elementCount: total) { chunk in
            let c0 = chunk * channels / chunks, c1 = (chunk + 1) * channels / chunks
            if S.self == Float.self {
                return columnMoments(NormalizationKernels.rebound(x, Float.self), rows: samples, stride: channels,
                                     columns: c0..<c1, mean: mean, variance: variance)
            }
            if S.self == Double.self {
                return columnMoments(NormalizationKernels.rebound(x, Double.self), rows: samples, stride: channels,
                                     columns: c0..<c1, mean: mean, variance: variance)
            }
            for c in c0..<c1 { mean[c] = 0; variance[c] = 0 }
            for n in 0..<samples {
                let row = x + n * channels
                for c in c0..<c1 { mean[c] += Double(row[c]) }
            }
            let scale = 1 / Double(samples)
            for c in c0..<c1 { mean[c] *= scale }
            for n in 0..<samples {
                let row = x + n * channels
                for c in c0..<c1 { let d = Double(row[c]) - mean[c]; variance[c] += d * d }
            }
            for c in c0..<c1 { variance[c] *= scale }
        }
    }

    /// `Σ dy` and `Σ dy·(x − center_c)` of each channel, in `Double`, parallel like
    /// ``channelMoments(_:samples:channels:spatial:mean:variance:)``.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func channelGradientSums<S: TensorScalar>(
        _ dy: UnsafePointer<S>, _ x: UnsafePointer<S>, samples: Int, channels: Int, spatial: Int,
        center: UnsafePointer<S>, sumDy: UnsafeMutablePointer<Double>, sumDyCentered: UnsafeMutablePointer<Double>
    ) {
        let total = samples * channels * spatial
        if spatial > 1 {
            NormalizationKernels.forEach(channels, elementCount: total) { c in
                var a = 0.0, b = 0.0
                for n in 0..<samples {
                    let offset = (n * channels + c) * spatial
                    if n + 1 < samples {
                        prefetchStart(of: dy + offset + channels * spatial, count: spatial)
                        prefetchStart(of: x + offset + channels * spatial, count: spatial)
                    }
                    let sums = NormalizationKernels.gradientSums(dy + offset, x + offset, spatial, center: center[c])
                    a += sums.sumDy
                    b += sums.sumDyCentered
                }
                sumDy[c] = a
                sumDyCentered[c] = b
            }
            return
        }
        let chunks = NormalizationKernels.chunkCount(items: (channels + 15) / 16, elementCount: total)
        NormalizationKernels.forEach(chunks, elementCount: total) { chunk in
            let c0 = chunk * channels / chunks, c1 = (chunk + 1) * channels / chunks
            if S.self == Float.self {
                return columnGradientSums(NormalizationKernels.rebound(dy, Float.self), NormalizationKernels.rebound(x, Float.self),
                                          rows: samples, stride: channels, columns: c0..<c1,
                                          center: NormalizationKernels.rebound(center, Float.self),
                                          sumDy: sumDy, sumDyCentered: sumDyCentered)
            }
            if S.self == Double.self {
                return columnGradientSums(NormalizationKernels.rebound(dy, Double.self), NormalizationKernels.rebound(x, Double.self),
                                          rows: samples, stride: channels, columns: c0..<c1,
                                          center: NormalizationKernels.rebound(center, Double.self),
                                          sumDy: sumDy, sumDyCentered: sumDyCentered)
            }
            for c in c0..<c1 { sumDy[c] = 0; sumDyCentered[c] = 0 }
            for n in 0..<samples {
                let g = dy + n * channels, row = x + n * channels
                for c in c0..<c1 {
                    let d = Double(g[c])
                    sumDy[c] += d
                    sumDyCentered[c] += d * Double(row[c] - center[c])
                }
            }
        }
    }
}
