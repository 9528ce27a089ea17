import Foundation

/// Layer normalization as one tape node (Ba, Kiros & Hinton, “Layer Normalization”, 2016), PyTorch's
/// `F.layer_norm`.
///
/// The input `x` has shape `[*, normalizedShape…]`; each of its `R` rows of `D = ∏ normalizedShape`
/// trailing values is normalized by its own statistics, then scaled and shifted *elementwise*:
///
///     x̂ = (x − μ_r) / √(σ²_r + ε),      y = γ ⊙ x̂ + β
///
/// with `μ_r` and the biased variance `σ²_r = Σ(x − μ_r)²/D` over the row (stable, in `Double`).
/// There are no running statistics; training and evaluation compute the same function.
///
/// Backward, per row, with `dx̂ = γ ⊙ dy` and `σ⁻¹ = 1/√(σ² + ε)` (the closed form of batch norm's
/// “alt” backward, reduced over the row instead of the batch):
///
///     ∂x = σ⁻¹·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)),   ∂γ = Σ_rows dy ⊙ x̂,   ∂β = Σ_rows dy
///
/// Rows are split over the cores; `∂γ` and `∂β` are accumulated per chunk and then summed.
///
/// - Parameters:
///   - normalizedShape: the trailing shape normalized over; the input must end with it.
///   - weight: `γ` of shape `normalizedShape`, or `nil` (PyTorch `elementwise_affine=False`).
///   - bias: `β` of shape `normalizedShape`, or `nil`.
public func layerNorm<Scalar: TensorScalar>(
    _ x: Variable<Scalar>, normalizedShape: [Int],
    weight: Variable<Scalar>?, bias: Variable<Scalar>?, eps: Double = 1e-5
) -> Variable<Scalar> {
    let shape = x.shape
    if let message = layerNormShapeError(input: shape, normalizedShape: normalizedShape) {
        preconditionFailure(message)
    }
    for (name, parameter) in [("weight", weight), ("bias", bias)] {
        guard let parameter else { continue }
        precondition(parameter.shape == normalizedShape,
                     "layerNorm: \(name) of shape \(parameter.shape) does not match normalized_shape \(normalizedShape)")
    }
    let width = normalizedShape.reduce(1, *), rows = width == 0 ? 0 : x.value.count / width
    let xv = x.value
    var mean = [Double](repeating: 0, count: rows), variance = mean
    xv.withUnsafeBufferPointer { px in
        NormalizationKernels.blockMoments(px.baseAddress!, blockCount: rows, blockLength: width,
                                          mean: &mean, variance: &variance)
    }
    let invstd = variance.map { 1 / ($0 + eps).squareRoot() }
    let center = mean.map { Scalar($0) }
    let gamma = weight?.value.scalars ?? [Scalar](repeating: 1, count: width)
    let beta = bias?.value.scalars ?? [Scalar](repeating: 0, count: width)

    let y = Tensor<Scalar>(shape: shape) { out in
        xv.withUnsafeBufferPointer { px in
            LayerNormKernels.forward(px.baseAddress!, into: out.baseAddress!, rows: rows, width: width,
                                     mean: mean, center: center, invstd: invstd, gamma: gamma, beta: beta)
        }
    }
    let inputs = [x] + [weight, bias].compactMap { $0 }
    return Variable(y, inputs: inputs) { g in
        let needsParameters = (weight?.requiresGradient ?? false) || (bias?.requiresGradient ?? false)
        var dx = x.requiresGradient ? Tensor<Scalar>(zeros: shape) : Tensor<Scalar>(zeros: [0])
        var dGamma = [Double](repeating: 0, count: width), dBeta = dGamma
        g.withUnsafeBufferPointer { pg in
            xv.withUnsafeBufferPointer { px in
                dx.withUnsafeMutableBufferPointer { pdx in
                    LayerNormKernels.backward(pg.baseAddress!, px.baseAddress!, into: x.requiresGradient ? pdx.baseAddress : nil,
                                              rows: rows, width: width, mean: mean, center: center, invstd: invstd,
                                              gamma: gamma, parameterGradients: needsParameters,
                                              dGamma: &dGamma, dBeta: &dBeta)
                }
            }
        }
        if let weight, weight.requiresGradient {
            weight.accumulate(Tensor(shape: normalizedShape, scalars: dGamma.map { Scalar($0) }))
        }
        if let bias, bias.requiresGradient {
            bias.accumulate(Tensor(shape: normalizedShape, scalars: dBeta.map { Scalar($0) }))
        }
        if x.requiresGradient { x.accumulate(dx) }
    }
}

/// Why an input of shape `input` cannot be layer-normalized over `normalizedShape` (PyTorch's
/// wording), or `nil` when it can: the input must end with the non-empty, positive `normalizedShape`.
func layerNormShapeError(input: [Int], normalizedShape: [Int]) -> String? {
    if normalizedShape.isEmpty || normalizedShape.contains(where: { $0 <= 0 }) {
        return "LayerNorm: normalized_shape \(normalizedShape) must be non-empty with positive extents"
    }
    if input.count >= normalizedShape.count && Array(input.suffix(normalizedShape.count)) == normalizedShape {
        return nil
    }
    let trailing = normalizedShape.map(String.init).joined(separator: ", ")
    return "LayerNorm: given normalized_shape=\(normalizedShape), expected input with shape [*, \(trailing)], "
        + "but got input of size \(input)"
}

/// The row kernels of layer normalization over an `[R, D]` view of the input.
enum LayerNormKernels {
    /// `y[r, d] = (x[r, d] − μ_r)·σ⁻¹_r·γ_d + β_d`, rows in parallel.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func forward<S: TensorScalar>(
        _ x: UnsafePointer<S>, into y: UnsafeMutablePointer<S>, rows: Int, width: Int,
        mean: UnsafePointer<Double>, center: UnsafePointer<S>, invstd: UnsafePointer<Double>,
        gamma: UnsafePointer<S>, beta: UnsafePointer<S>
    ) {
        let total = rows * width
        let chunks = NormalizationKernels.chunkCount(items: rows, elementCount: total)
        NormalizationKernels.forEach(chunks, elementCount: total) { chunk in
            for r in (chunk * rows / chunks)..<((chunk + 1) * rows / chunks) {
                let xr = x + r * width, yr = y + r * width
                // x̂ = (x − c)·σ⁻¹ + r with c the rounded mean and r = −σ⁻¹·(μ − c) its residual.
                let m = center[r], a = S(invstd[r]), residual = S(-invstd[r] * (mean[r] - Double(m)))
                for d in 0..<width { yr[d] = ((xr[d] - m) * a + residual) * gamma[d] + beta[d] }
            }
        }
    }

    /// The input gradient (when `dx` is given) and, when `parameterGradients`, `∂γ = Σ dy·x̂` and
    /// `∂β = Σ dy` into `dGamma`/`dBeta` (length `D`, `Double`).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func backward<S: TensorScalar>(
        _ dy: UnsafePointer<S>, _ x: UnsafePointer<S>, into dx: UnsafeMutablePointer<S>?, rows: Int, width: Int,
        mean: UnsafePointer<Double>, center: UnsafePointer<S>, invstd: UnsafePointer<Double>, gamma: UnsafePointer<S>,
        parameterGradients: Bool, dGamma: UnsafeMutablePointer<Double>, dBeta: UnsafeMutablePointer<Double>
    ) {
        let total = rows * width
        let chunks = NormalizationKernels.chunkCount(items: rows, elementCount: total)
        // Per-chunk partial sums of ∂γ and ∂β, laid out [chunk][2·D].
        var partials = [Double](repeating: 0, count: parameterGradients ? chunks * 2 * width : 0)
        partials.withUnsafeMutableBufferPointer { partial in
            NormalizationKernels.forEach(chunks, elementCount: total) { chunk in
                let pGamma = parameterGradients ? partial.baseAddress! + chunk * 2 * width : nil
                let pBeta = pGamma.map { $0 + width }
                for r in (chunk * rows / chunks)..<((chunk + 1) * rows / chunks) {
                    let g = dy + r * width, xr = x + r * width
                    let m = center[r], a = S(invstd[r]), residual = S(-invstd[r] * (mean[r] - Double(m)))
                    if let pGamma, let pBeta {
                        for d in 0..<width {
                            pGamma[d] += Double(g[d] * ((xr[d] - m) * a + residual))
                            pBeta[d] += Double(g[d])
                        }
                    }
                    guard let dx else { continue }
                    // A = Σ dx̂, B = Σ dx̂·(x − c) with dx̂ = γ ⊙ dy.
                    var a0 = 0.0, a1 = 0.0, b0 = 0.0, b1 = 0.0
                    var d = 0
                    while d &+ 2 <= width {
                        let h0 = Double(gamma[d] * g[d]), h1 = Double(gamma[d &+ 1] * g[d &+ 1])
                        a0 += h0; a1 += h1
                        b0 += h0 * Double(xr[d] - m); b1 += h1 * Double(xr[d &+ 1] - m)
                        d &+= 2
                    }
                    if d < width { let h = Double(gamma[d] * g[d]); a0 += h; b0 += h * Double(xr[d] - m) }
                    let sumH = a0 + a1, s = invstd[r], count = Double(width)
                    let sumHCentered = b0 + b1 + (Double(m) - mean[r]) * sumH
                    // ∂x = σ⁻¹·dx̂ + p·(x − μ) + q, p = −σ⁻³·B/D, q = −σ⁻¹·A/D; centred on c.
                    let pD = -s * s * s * sumHCentered / count
                    let p = S(pD), q = S(-s * sumH / count + pD * (Double(m) - mean[r]))
                    let out = dx + r * width
                    for e in 0..<width { out[e] = a * (gamma[e] * g[e]) + p * (xr[e] - m) + q }
                }
            }
        }
        guard parameterGradients else { return }
        for chunk in 0..<chunks {
            let base = chunk * 2 * width
            for d in 0..<width {
                dGamma[d] += partials[base + d]
                dBeta[d] += partials[base + width + d]
            }
        }
    }
}
