import Foundation
import NablaTensor

/// Group normalization as one tape node (Wu & He, “Group Normalization”, 2018), PyTorch's
/// `F.group_norm`.
///
/// The `C` channels of an input `[N, C, *]` are split into `G` groups of `C/G` consecutive channels;
/// each (sample, group) is normalized by its own mean and biased variance over its `M = (C/G)·∏*`
/// values, then scaled and shifted *per channel*:
///
///     x̂ = (x − μ_{n,g}) / √(σ²_{n,g} + ε),      y = γ_c·x̂ + β_c
///
/// `G = 1` normalizes each sample over all of `(C, *)` like a layer norm over `(C, H, W)` (with a
/// per-channel rather than elementwise affine); `G = C` normalizes each (sample, channel) like an
/// instance norm. (Seed 004 states these two the other way round; this is the correct pairing.)
///
/// Backward, per (sample, group), with `dx̂ = γ_c·dy` and `σ⁻¹ = 1/√(σ² + ε)`:
///
///     ∂x = σ⁻¹·(dx̂ − mean_g(dx̂) − x̂·mean_g(dx̂·x̂)),   ∂γ_c = Σ_{n,*} dy·x̂,   ∂β_c = Σ_{n,*} dy
///
/// Statistics run in parallel over (sample, group) blocks, which are contiguous in memory.
///
/// - Precondition: `C` is divisible by `groupCount`.
public func groupNorm<Scalar: TensorScalar>(
    _ x: Variable<Scalar>, groupCount: Int, weight: Variable<Scalar>?, bias: Variable<Scalar>?, eps: Double = 1e-5
) -> Variable<Scalar> {
    groupNormalized(x, groupCount: groupCount, weight: weight, bias: bias, eps: eps).output
}

/// Instance normalization as one tape node (Ulyanov, Vedaldi & Lempitsky, “Instance Normalization:
/// The Missing Ingredient for Fast Stylization”, 2016), PyTorch's `F.instance_norm`.
///
/// With `useInputStatistics` each (sample, channel) of an `[N, C, *]` input is normalized over its
/// spatial positions — group normalization with `G = C` — and the optional per-channel affine is
/// applied. Running buffers, when given, are updated with the batch average of the per-instance
/// statistics: `running = (1 − momentum)·running + momentum·mean_n(stat_{n,c})`, the variance
/// unbiased over the `∏*` positions. Without `useInputStatistics` (evaluation with tracked
/// statistics) it is the per-channel affine map `γ(x − running_mean)/√(running_var + ε) + β`.
///
/// - Precondition: more than one spatial position when normalizing with input statistics.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func instanceNorm<Scalar: TensorScalar>(
    _ x: Variable<Scalar>, runningMean: Buffer<Scalar>?, runningVariance: Buffer<Scalar>?,
    weight: Variable<Scalar>?, bias: Variable<Scalar>?,
    useInputStatistics: Bool, momentum: Double = 0.1, eps: Double = 1e-5
) -> Variable<Scalar> {
    let shape = x.shape
    precondition(shape.count >= 3, "instanceNorm: input must have shape [N, C, *] with spatial axes, got \(shape)")
    guard useInputStatistics else {
        return batchNorm(x, runningMean: runningMean, runningVariance: runningVariance, weight: weight, bias: bias,
                         training: false, eps: eps)
    }
    let samples = shape[0], channels = shape[1], spatial = shape.dropFirst(2).reduce(1, *)
    precondition(spatial > 1, "Expected more than 1 spatial element when training, got input size \(shape)")
    checkChannelTensor("running_mean", runningMean?.value.shape, channels: channels, input: shape)
    checkChannelTensor("running_var", runningVariance?.value.shape, channels: channels, input: shape)
    let result = groupNormalized(x, groupCount: channels, weight: weight, bias: bias, eps: eps)
    if let runningMean, let runningVariance {
        var batchMean = [Double](repeating: 0, count: channels), batchVariance = batchMean
        let correction = Double(spatial) / Double(spatial - 1) / Double(samples)
        for n in 0..<samples {
            for c in 0..<channels {
                batchMean[c] += result.mean[n * channels + c] / Double(samples)
                batchVariance[c] += result.variance[n * channels + c] * correction
            }
        }
        updateRunningStatistics(mean: runningMean, variance: runningVariance, batchMean: batchMean,
                                unbiasedVariance: batchVariance, momentum: momentum)
    }
    return result.output
}

/// Group normalization returning also the per-(sample, group) mean and biased variance, laid out
/// `[N, G]` (for instance norm's running statistics).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func groupNormalized<Scalar: TensorScalar>(
    _ x: Variable<Scalar>, groupCount: Int, weight: Variable<Scalar>?, bias: Variable<Scalar>?, eps: Double
) -> (output: Variable<Scalar>, mean: [Double], variance: [Double]) {
    let shape = x.shape
    precondition(shape.count >= 2 && x.value.count > 0, "groupNorm: input must be a non-empty [N, C, *], got shape \(shape)")
    let samples = shape[0], channels = shape[1], spatial = shape.dropFirst(2).reduce(1, *)
    precondition(groupCount > 0 && channels % groupCount == 0,
                 "groupNorm: Expected number of channels in input to be divisible by num_groups, "
                 + "but got input of shape \(shape) and num_groups=\(groupCount)")
    checkChannelTensor("weight", weight?.shape, channels: channels, input: shape)
    checkChannelTensor("bias", bias?.shape, channels: channels, input: shape)
    let groupSize = channels / groupCount, blockLength = groupSize * spatial
    let blocks = samples * groupCount, runs = samples * channels

    let xv = x.value
    var mean = [Double](repeating: 0, count: blocks), variance = mean
    xv.withUnsafeBufferPointer { px in
        NormalizationKernels.blockMoments(px.baseAddress!, blockCount: blocks, blockLength: blockLength,
                                          mean: &mean, variance: &variance)
    }
    let invstd = variance.map { 1 / ($0 + eps).squareRoot() }
    let gamma = weight?.value.scalars.map { Double($0) } ?? [Double](repeating: 1, count: channels)
    let beta = bias?.value.scalars.map { Double($0) } ?? [Double](repeating: 0, count: channels)
    // Coefficients of run (n, c) at n·C + c; its group block is n·G + c/(C/G).
    func block(_ run: Int) -> Int { (run / channels) * groupCount + (run % channels) / groupSize }
    let center = (0..<runs).map { Scalar(mean[block($0)]) }
    let scale = (0..<runs).map { Scalar(gamma[$0 % channels] * invstd[block($0)]) }
    // The rounding residual μ − c of the centre is folded into the shift (see batchNorm).
    let shift = (0..<runs).map { r in
        Scalar(beta[r % channels] - gamma[r % channels] * invstd[block(r)] * (mean[block(r)] - Double(center[r])))
    }

    let y = Tensor<Scalar>(shape: shape) { out in
        xv.withUnsafeBufferPointer { px in
            NormalizationKernels.affine(px.baseAddress!, into: out.baseAddress!, samples: samples, channels: channels,
                                        spatial: spatial, center: center, scale: scale, shift: shift,
                                        coefficientRowStride: channels)
        }
    }
    let inputs = [x] + [weight, bias].compactMap { $0 }
    let output = Variable(y, inputs: inputs) { g in
        var sumDy = [Double](repeating: 0, count: runs), sumDyCentered = sumDy
        g.withUnsafeBufferPointer { pg in
            xv.withUnsafeBufferPointer { px in
                NormalizationKernels.runGradientSums(pg.baseAddress!, px.baseAddress!, samples: samples,
                                                     channels: channels, spatial: spatial, center: center,
                                                     coefficientRowStride: channels,
                                                     sumDy: &sumDy, sumDyCentered: &sumDyCentered)
            }
        }
        // The kernel centred on the rounded mean: Σdy(x − μ) = Σdy(x − c) + (c − μ)·Σdy.
        for r in 0..<runs { sumDyCentered[r] += (Double(center[r]) - mean[block(r)]) * sumDy[r] }
        if let weight, weight.requiresGradient {
            var dGamma = [Double](repeating: 0, count: channels)
            for r in 0..<runs { dGamma[r % channels] += sumDyCentered[r] * invstd[block(r)] }
            weight.accumulate(Tensor(shape: [channels], scalars: dGamma.map { Scalar($0) }))
        }
        if let bias, bias.requiresGradient {
            var dBeta = [Double](repeating: 0, count: channels)
            for r in 0..<runs { dBeta[r % channels] += sumDy[r] }
            bias.accumulate(Tensor(shape: [channels], scalars: dBeta.map { Scalar($0) }))
        }
        guard x.requiresGradient else { return }
        // Per block: A = Σ dx̂ = Σ_c γ_c·Σdy, B = Σ dx̂·(x − μ); ∂x = γσ⁻¹·dy + p·(x − μ) + q with
        // p = −σ⁻³·B/M, q = −σ⁻¹·A/M (then re-centred on the rounded mean of each run).
        var slopeOfBlock = [Double](repeating: 0, count: blocks), offsetOfBlock = slopeOfBlock
        for b in 0..<blocks {
            let n = b / groupCount, firstChannel = (b % groupCount) * groupSize
            var a = 0.0, bSum = 0.0
            for c in firstChannel..<(firstChannel + groupSize) {
                a += gamma[c] * sumDy[n * channels + c]
                bSum += gamma[c] * sumDyCentered[n * channels + c]
            }
            let s = invstd[b], m = Double(blockLength)
            slopeOfBlock[b] = -s * s * s * bSum / m
            offsetOfBlock[b] = -s * a / m
        }
        let slope = (0..<runs).map { Scalar(slopeOfBlock[block($0)]) }
        let offset = (0..<runs).map { r in
            Scalar(offsetOfBlock[block(r)] + slopeOfBlock[block(r)] * (Double(center[r]) - mean[block(r)]))
        }
        let dx = Tensor<Scalar>(shape: shape) { out in
            g.withUnsafeBufferPointer { pg in
                xv.withUnsafeBufferPointer { px in
                    NormalizationKernels.inputGradient(pg.baseAddress!, px.baseAddress!, into: out.baseAddress!,
                                                       samples: samples, channels: channels, spatial: spatial,
                                                       center: center, scale: scale, slope: slope, offset: offset,
                                                       coefficientRowStride: channels)
                }
            }
        }
        x.accumulate(dx)
    }
    return (output, mean, variance)
}
