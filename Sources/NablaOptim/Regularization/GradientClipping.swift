import Foundation
import NablaTensor

/// Gradient clipping, applied between `backward()` and the optimizer step (Pascanu et al., 2013,
/// "On the difficulty of training recurrent neural networks").

/// Scales all gradients together so that their global norm is at most `maxNorm` — PyTorch's
/// `torch.nn.utils.clip_grad_norm_`:
///
/// `total = (Σ_p ‖g_p‖_q^q)^{1/q}` over every parameter's gradient (for `q = ∞`, `max |g|`),
/// `coef = maxNorm / (total + 1e-6)`, and every gradient is multiplied by `coef` only if `coef < 1`.
/// The direction of the update is kept, only its length is bounded. Parameters without a gradient
/// are skipped. A non-finite total (a NaN or infinite gradient) leaves the gradients untouched, so
/// the caller's NaN detection sees them.
/// - Parameters:
///   - parameters: the parameters whose gradients are clipped in place.
///   - maxNorm: the largest global norm allowed.
///   - normType: `q`, 2 by default; `.infinity` for the max-norm.
/// - Returns: the total norm *before* clipping (what PyTorch returns, for logging).
/// - Precondition: `maxNorm ≥ 0`, `normType > 0`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
@discardableResult
public func clipGradientNorm<Scalar>(_ parameters: [Variable<Scalar>], maxNorm: Double, normType: Double = 2) -> Double {
    precondition(maxNorm >= 0, "clipGradientNorm: max_norm=\(maxNorm) must be non-negative")
    precondition(normType > 0, "clipGradientNorm: norm_type=\(normType) must be positive")
    let total = gradientNorm(parameters, normType: normType)
    let coefficient = maxNorm / (total + 1e-6)
    if coefficient < 1 {
        let scale = Scalar(coefficient)
        for p in parameters where p.grad != nil {
            p.grad!.withUnsafeMutableBufferPointer { g in for i in 0..<g.count { g[i] *= scale } }
        }
    }
    return total
}

/// The global `q`-norm of the gradients of `parameters` (those without a gradient count as zero),
/// accumulated in `Double`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func gradientNorm<Scalar>(_ parameters: [Variable<Scalar>], normType: Double = 2) -> Double {
    var total = 0.0
    for p in parameters {
        guard let grad = p.grad else { continue }
        grad.withUnsafeBufferPointer { g in
            if normType == .infinity {
                for x in g { total = Swift.max(total, Swift.abs(Double(x))) }
                for x in g where x.isNaN { total = .nan }
            } else if normType == 2 {
                for x in g { let d = Double(x); total += d * d }
            } else if normType == 1 {
                for x in g { total += Swift.abs(Double(x)) }
            } else {
                for x in g { total += pow(Swift.abs(Double(x)), normType) }
            }
        }
    }
    if normType == .infinity || normType == 1 { return total }
    return normType == 2 ? total.squareRoot() : pow(total, 1 / normType)
}

/// Clamps every gradient element to `[−clipValue, clipValue]` — PyTorch's
/// `torch.nn.utils.clip_grad_value_`. Unlike norm clipping this changes the update's direction.
/// NaN elements stay NaN.
/// - Precondition: `clipValue ≥ 0`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func clipGradientValues<Scalar>(_ parameters: [Variable<Scalar>], clipValue: Double) {
    precondition(clipValue >= 0, "clipGradientValues: clip_value=\(clipValue) must be non-negative")
    let c = Scalar(clipValue)
    for p in parameters where p.grad != nil {
        p.grad!.withUnsafeMutableBufferPointer { g in
            for i in 0..<g.count where Swift.abs(g[i]) > c { g[i] = g[i] > 0 ? c : -c }
        }
    }
}

/// Gradient clipping chosen by a user or the CLI (`--clip-grad norm:5`).
///
/// Spec grammar (one of): `norm:MAX[:TYPE]` (``clipGradientNorm(_:maxNorm:normType:)``, TYPE a
/// number or `inf`, default 2), `value:MAX` (``clipGradientValues(_:clipValue:)``), `none`.
public enum GradientClipping: Equatable, Sendable, CustomStringConvertible {
    /// No clipping.
    case none
    /// ``clipGradientNorm(_:maxNorm:normType:)``: scale every gradient by `min(1, maxNorm/(total + 1e-6))`, `total` the global `normType`-norm.
    case norm(maxNorm: Double, normType: Double)
    /// ``clipGradientValues(_:clipValue:)``: clamp every gradient element to `[−c, c]`.
    case value(Double)

    /// Parses a spec such as `"norm:1"`, `"norm:1:inf"` or `"value:0.5"`.
    /// - Throws: ``/NablaTensor/NablaError`` naming the spec for an unknown kind or a malformed or negative number.
    public init(parsing spec: String) throws {
        let parts = spec.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func number(_ index: Int, _ what: String) throws -> Double {
            guard index < parts.count else { throw NablaError(.invalidArgument, "gradient clipping '\(spec)': missing \(what)") }
            let text = parts[index].lowercased()
            let x = text == "inf" ? Double.infinity : Double(text)
            guard let x, x >= 0, x.isFinite || (what == "norm type" && x == .infinity) else {
                throw NablaError(.invalidArgument, "gradient clipping '\(spec)': \(what) '\(parts[index])' is not a non-negative number")
            }
            return x
        }
        let arity: Int
        switch parts[0].lowercased() {
        case "none": self = .none; arity = 1
        case "norm":
            let type = parts.count > 2 ? try number(2, "norm type") : 2
            guard type > 0 else { throw NablaError(.invalidArgument, "gradient clipping '\(spec)': norm type must be positive") }
            self = .norm(maxNorm: try number(1, "max norm"), normType: type); arity = 3
        case "value": self = .value(try number(1, "clip value")); arity = 2
        default:
            throw NablaError(.invalidArgument, "gradient clipping '\(spec)': unknown kind '\(parts[0])' (expected norm, value or none)")
        }
        if parts.count > arity { throw NablaError(.invalidArgument, "gradient clipping '\(spec)': too many values") }
    }

    /// Clips the gradients of `parameters`; returns the total 2-norm (or `normType`-norm) before
    /// clipping, computed for every kind so it can be logged.
    @discardableResult
    public func apply<Scalar>(to parameters: [Variable<Scalar>]) -> Double {
        switch self {
        case .none: return gradientNorm(parameters)
        case .norm(let maxNorm, let normType): return clipGradientNorm(parameters, maxNorm: maxNorm, normType: normType)
        case .value(let c):
            let total = gradientNorm(parameters)
            clipGradientValues(parameters, clipValue: c)
            return total
        }
    }

    /// The spec string this clipping parses from.
    public var description: String {
        switch self {
        case .none: return "none"
        case .norm(let maxNorm, let normType): return normType == 2 ? "norm:\(maxNorm)" : "norm:\(maxNorm):\(normType == .infinity ? "inf" : "\(normType)")"
        case .value(let c): return "value:\(c)"
        }
    }
}
