import Foundation
import NablaTensor

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
///   - x: the input `[*, normalizedShape…]`.
///   - normalizedShape: the trailing shape normalized over; the input must end with it.
///   - weight: `γ` of shape `normalizedShape`, or `nil` (PyTorch `elementwise_affine=False`).
///   - bias: `β` of shape `normalizedShape`, or `nil`.
///   - eps: `ε`, added to the variance inside the square root (default `1e-5`).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
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
    precondition(x.value.count > 0, "layerNorm: input of shape \(shape) is empty")
    let width = normalizedShape.reduce(1, *), rows = x.value.count / width
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
        var dx: Tensor<Scalar>? = nil
        var dGamma = [Double](repeating: 0, count: width), dBeta = dGamma
        g.withUnsafeBufferPointer { pg in
            xv.withUnsafeBufferPointer { px in
                func run(_ out: UnsafeMutablePointer<Scalar>?) {
                    LayerNormKernels.backward(pg.baseAddress!, px.baseAddress!, into: out, rows: rows, width: width,
                                              mean: mean, center: center, invstd: invstd, gamma: gamma,
                                              parameterGradients: needsParameters, dGamma: &dGamma, dBeta: &dBeta)
                }
                if x.requiresGradient { dx = Tensor<Scalar>(shape: shape) { run($0.baseAddress!) } } else { run(nil) }
            }
        }
        if let weight, weight.requiresGradient {
            weight.accumulate(Tensor(shape: normalizedShape, scalars: dGamma.map { Scalar($0) }))
        }
        if let bias, bias.requiresGradient {
            bias.accumulate(Tensor(shape: normalizedShape, scalars: dBeta.map { Scalar($0) }))
        }
        if let dx { x.accumulate(dx) }
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
                        accumulateParameterGradients(g, xr, width, center: m, invstd: a, residual: residual,
                                                     dGamma: pGamma, dBeta: pBeta)
                    }
                    guard let dx else { continue }
                    // A = Σ dx̂, B = Σ dx̂·(x − c) with dx̂ = γ ⊙ dy.
                    let (sumH, sumHRounded) = weightedGradientSums(g, xr, gamma, width, center: m)
                    let s = invstd[r], count = Double(width)
                    let sumHCentered = sumHRounded + (Double(m) - mean[r]) * sumH
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

    /// `∂γ_d += dy_d·x̂_d` and `∂β_d += dy_d` for one row, `x̂ = (x − center)·invstd + residual`.
    @inline(__always)
    static func accumulateParameterGradients<S: TensorScalar>(
        _ g: UnsafePointer<S>, _ x: UnsafePointer<S>, _ n: Int, center: S, invstd: S, residual: S,
        dGamma: UnsafeMutablePointer<Double>, dBeta: UnsafeMutablePointer<Double>
    ) {
        func simd<T: TensorScalar & SIMDScalar>(_ type: T.Type) {
            let g = NormalizationKernels.rebound(g, T.self), x = NormalizationKernels.rebound(x, T.self)
            let c = unsafeBitCast(center, to: T.self), a = unsafeBitCast(invstd, to: T.self)
            let r = unsafeBitCast(residual, to: T.self)
            let cv = SIMD4<T>(repeating: c), av = SIMD4<T>(repeating: a), rv = SIMD4<T>(repeating: r)
            var d = 0
            while d &+ 4 <= n {
                let gv = UnsafeRawPointer(g + d).loadUnaligned(as: SIMD4<T>.self)
                let xv = UnsafeRawPointer(x + d).loadUnaligned(as: SIMD4<T>.self)
                let xhat = (xv - cv) * av + rv
                let pg = UnsafeMutableRawPointer(dGamma + d), pb = UnsafeMutableRawPointer(dBeta + d)
                pg.storeBytes(of: pg.loadUnaligned(as: SIMD4<Double>.self) + SIMD4<Double>(gv * xhat), as: SIMD4<Double>.self)
                pb.storeBytes(of: pb.loadUnaligned(as: SIMD4<Double>.self) + SIMD4<Double>(gv), as: SIMD4<Double>.self)
                d &+= 4
            }
            while d < n {
                dGamma[d] += Double(g[d] * ((x[d] - c) * a + r))
                dBeta[d] += Double(g[d])
                d &+= 1
            }
        }
        if S.self == Float.self { return simd(Float.self) }
        if S.self == Double.self { return simd(Double.self) }
        for d in 0..<n {
            dGamma[d] += Double(g[d] * ((x[d] - center) * invstd + residual))
            dBeta[d] += Double(g[d])
        }
    }

    /// `(Σ γ·dy, Σ γ·dy·(x − center))` over one row, in `Double`.
    @inline(__always)
    static func weightedGradientSums<S: TensorScalar>(
        _ g: UnsafePointer<S>, _ x: UnsafePointer<S>, _ gamma: UnsafePointer<S>, _ n: Int, center: S
    ) -> (Double, Double) {
        func simd<T: TensorScalar & SIMDScalar>(_ type: T.Type) -> (Double, Double) {
            let g = NormalizationKernels.rebound(g, T.self), x = NormalizationKernels.rebound(x, T.self)
            let gamma = NormalizationKernels.rebound(gamma, T.self), c = unsafeBitCast(center, to: T.self)
            let cv = SIMD4<T>(repeating: c)
            var a = SIMD4<Double>(), b = SIMD4<Double>()
            var d = 0
            while d &+ 4 <= n {
                let gv: SIMD4<T> = UnsafeRawPointer(g + d).loadUnaligned(as: SIMD4<T>.self)
                let wv: SIMD4<T> = UnsafeRawPointer(gamma + d).loadUnaligned(as: SIMD4<T>.self)
                let xv: SIMD4<T> = UnsafeRawPointer(x + d).loadUnaligned(as: SIMD4<T>.self)
                let h = SIMD4<Double>(gv * wv), centered = SIMD4<Double>(xv - cv)
                a += h
                b += h * centered
                d &+= 4
            }
            var sa = a.sum(), sb = b.sum()
            while d < n { let h = Double(g[d] * gamma[d]); sa += h; sb += h * Double(x[d] - c); d &+= 1 }
            return (sa, sb)
        }
        if S.self == Float.self { return simd(Float.self) }
        if S.self == Double.self { return simd(Double.self) }
        var sa = 0.0, sb = 0.0
        for d in 0..<n { let h = Double(g[d] * gamma[d]); sa += h; sb += h * Double(x[d] - center) }
        return (sa, sb)
    }
}
