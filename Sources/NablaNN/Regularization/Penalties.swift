import Foundation
import NablaTensor

/// Parameter penalties added to the loss (SPEC §3): each is ONE tape node whose inputs are the
/// penalized parameters, so adding a penalty to the loss costs one node however many parameters it
/// covers, and backward writes `∂R/∂w` straight into each parameter's gradient.
///
/// ```swift
/// let loss = crossEntropy(logits: model(x), labels: y) + l2Penalty(model.decayableParameters(), lambda: 1e-4)
/// ```

/// The L2 penalty (ridge, Tikhonov; "weight decay" when folded into SGD):
/// `R(w) = λ/2 · Σ_p Σ_i w_pi²`, `∂R/∂w = λ·w`.
///
/// With plain gradient descent, `w ← w − lr·(∂L/∂w + λw)` — the same update as SGD's coupled
/// `weight_decay = λ` in PyTorch, which is why the factor is `λ/2`. (AdamW's decoupled decay is not
/// equivalent: Loshchilov & Hutter, 2019.)
/// - Precondition: `λ ≥ 0`.
public func l2Penalty<Scalar>(_ parameters: [Variable<Scalar>], lambda: Scalar) -> Variable<Scalar> {
    precondition(lambda >= 0, "l2Penalty: lambda=\(lambda) must be non-negative")
    return penalty(parameters, squareWeight: lambda / 2, absoluteWeight: 0)
}

/// The L1 penalty (lasso): `R(w) = λ · Σ_p Σ_i |w_pi|`, `∂R/∂w = λ·sign(w)`, with the subgradient 0
/// at `w = 0` (PyTorch's `sign`). It drives weights to exactly zero (sparsity) under proximal
/// methods; with plain gradient steps weights oscillate around zero instead.
/// - Precondition: `λ ≥ 0`.
public func l1Penalty<Scalar>(_ parameters: [Variable<Scalar>], lambda: Scalar) -> Variable<Scalar> {
    precondition(lambda >= 0, "l1Penalty: lambda=\(lambda) must be non-negative")
    return penalty(parameters, squareWeight: 0, absoluteWeight: lambda)
}

/// The elastic-net penalty, seed 000's "smooth L1-L2" (`β·L2 + L1`; Zou & Hastie, 2005):
/// `R(w) = λ · (β·Σ w² + Σ |w|)`, `∂R/∂w = λ·(2β·w + sign(w))`, subgradient of `|w|` 0 at 0.
/// - Precondition: `λ ≥ 0`, `β ≥ 0`.
public func elasticNetPenalty<Scalar>(_ parameters: [Variable<Scalar>], lambda: Scalar, beta: Scalar) -> Variable<Scalar> {
    precondition(lambda >= 0 && beta >= 0, "elasticNetPenalty: lambda=\(lambda), beta=\(beta) must be non-negative")
    return penalty(parameters, squareWeight: lambda * beta, absoluteWeight: lambda)
}

/// The shared kernel `R = a·Σ w² + b·Σ |w|` over every parameter as ONE node, with pullback
/// `∂w = g·(2a·w + b·sign(w))`. The value is accumulated in `Double` per parameter, so a large
/// model's penalty keeps its precision in Float.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func penalty<Scalar: TensorScalar>(
    _ parameters: [Variable<Scalar>], squareWeight a: Scalar, absoluteWeight b: Scalar
) -> Variable<Scalar> {
    var total = 0.0
    for p in parameters {
        p.value.withUnsafeBufferPointer { w in
            var squares: Scalar = 0, absolutes: Scalar = 0
            for x in w { squares += x * x; absolutes += Swift.abs(x) }
            total += Double(a) * Double(squares) + Double(b) * Double(absolutes)
        }
    }
    let values = parameters.map(\.value)
    return Variable(Tensor(Scalar(total)), inputs: parameters) { g in
        let slope = 2 * a * g.scalar, step = b * g.scalar
        for (p, w) in zip(parameters, values) where p.requiresGradient {
            p.accumulate(Tensor(shape: w.shape) { out in
                w.withUnsafeBufferPointer { pw in
                    for i in 0..<pw.count {
                        let x = pw[i]
                        out[i] = slope * x + (x > 0 ? step : (x < 0 ? -step : 0))
                    }
                }
            })
        }
    }
}

/// A parameter penalty chosen by name, as a user or the CLI configures it (`--penalty l2:1e-4`).
///
/// Spec grammar (one of): `l2:LAMBDA`, `l1:LAMBDA`, `elastic:LAMBDA[:BETA]` (β defaults to 1),
/// `none`. Numbers are Swift `Double` literals (`1e-4`, `0.001`).
public enum ParameterPenalty: Equatable, Sendable, CustomStringConvertible {
    /// No penalty: `R = 0`.
    case none
    /// ``l2Penalty(_:lambda:)``: `R = λ/2·Σw²`.
    case l2(lambda: Double)
    /// ``l1Penalty(_:lambda:)``: `R = λ·Σ|w|`.
    case l1(lambda: Double)
    /// ``elasticNetPenalty(_:lambda:beta:)``: `R = λ·(β·Σw² + Σ|w|)`.
    case elasticNet(lambda: Double, beta: Double)

    /// Parses a spec such as `"l2:5e-4"` or `"elastic:1e-4:0.5"`.
    /// - Throws: ``/NablaTensor/NablaError`` naming the spec for an unknown name, a missing or malformed number,
    ///   or a negative `λ`/`β`.
    public init(parsing spec: String) throws {
        let parts = spec.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func number(_ index: Int, _ what: String, default value: Double? = nil) throws -> Double {
            guard index < parts.count else {
                if let value { return value }
                throw NablaError(.invalidArgument, "penalty '\(spec)': missing \(what)")
            }
            guard let x = Double(parts[index]), x.isFinite, x >= 0 else {
                throw NablaError(.invalidArgument, "penalty '\(spec)': \(what) '\(parts[index])' is not a non-negative number")
            }
            return x
        }
        let arity: Int
        switch parts[0].lowercased() {
        case "none": self = .none; arity = 1
        case "l2": self = .l2(lambda: try number(1, "lambda")); arity = 2
        case "l1": self = .l1(lambda: try number(1, "lambda")); arity = 2
        case "elastic", "elasticnet", "elastic-net":
            self = .elasticNet(lambda: try number(1, "lambda"), beta: try number(2, "beta", default: 1)); arity = 3
        default:
            throw NablaError(.invalidArgument, "penalty '\(spec)': unknown name '\(parts[0])' (expected l2, l1, elastic or none)")
        }
        if parts.count > arity {
            throw NablaError(.invalidArgument, "penalty '\(spec)': too many values")
        }
    }

    /// The penalty of `parameters` as a differentiable scalar (a constant 0 for ``none`` or no parameters).
    public func callAsFunction<Scalar: TensorScalar>(_ parameters: [Variable<Scalar>]) -> Variable<Scalar> {
        switch self {
        case .none: return Variable(Tensor(0))
        case .l2(let lambda): return l2Penalty(parameters, lambda: Scalar(lambda))
        case .l1(let lambda): return l1Penalty(parameters, lambda: Scalar(lambda))
        case .elasticNet(let lambda, let beta): return elasticNetPenalty(parameters, lambda: Scalar(lambda), beta: Scalar(beta))
        }
    }

    /// The spec string this penalty parses from.
    public var description: String {
        switch self {
        case .none: return "none"
        case .l2(let lambda): return "l2:\(lambda)"
        case .l1(let lambda): return "l1:\(lambda)"
        case .elasticNet(let lambda, let beta): return "elastic:\(lambda):\(beta)"
        }
    }
}
