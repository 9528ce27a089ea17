import Foundation
import NablaTensor

/// LAMB: Adam's bias-corrected update plus decoupled weight decay, scaled per parameter tensor by
/// the trust ratio ‖θ‖/‖update‖ — You et al. 2020, Algorithm 2 (φ = identity), in the order of
/// operations of NVIDIA apex's `FusedLAMB` (PyTorch has no LAMB).
///
/// With learning rate `γ`, betas `(β₁, β₂)`, epsilon `ε` and weight decay `λ`, step `t = 1, 2, …`
/// of a parameter tensor `θ` is (`m`, `v` start at zero):
///
///     m ← β₁·m + (1 − β₁)·g;     v ← β₂·v + (1 − β₂)·g²
///     r ← (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
///     u ← r + λ·θ
///     q ← ‖θ‖₂ / ‖u‖₂  if both norms are positive, else 1
///     θ ← θ − (γ·q)·u
///
/// Unlike timm's and apex's defaults, the trust ratio is applied whatever `λ` is (as the paper
/// does; their `always_adapt`/`use_nvlamb`), the gradient is not clipped first (clip with
/// `--clip-norm` if you want their `max_grad_norm`), and `t` is per parameter (as Adam's).
/// Defaults (timm's and apex's): `learningRate` 1e-3, `betas` (0.9, 0.999), `epsilon` 1e-6,
/// `weightDecay` 0.01. State: `step`, `exp_avg`, `exp_avg_sq`.
///
/// Reference: You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes"
/// (ICLR 2020).
public final class LAMB<Scalar: TensorScalar>: PerParameterOptimizer {
    /// The name the registry knows it by.
    public static var name: String { "lamb" }
    /// The name in messages.
    public static var displayName: String { "LAMB" }
    /// One line for `--help`, with the paper.
    public static var summary: String { "Adam with decoupled weight decay and a per-tensor trust ratio ‖θ‖/‖update‖ (You et al., ICLR 2020)" }

    /// One group's hyper-parameters, under the keys of the reference implementations.
    public struct Options: OptimizerOptions {
        /// `lr`, γ.
        public var learningRate: Double
        /// `betas`, (β₁, β₂).
        public var betas: HyperparameterPair
        /// `eps`, ε (outside the square root, after the bias correction).
        public var epsilon: Double
        /// `weight_decay`, λ (decoupled, inside the trust-ratio update).
        public var weightDecay: Double

        enum CodingKeys: String, CodingKey { case learningRate = "lr", betas, epsilon = "eps", weightDecay = "weight_decay" }

        /// timm's and apex's defaults.
        public init() { self.init(learningRate: 1e-3) }

        /// Options as given, not validated (the optimizer validates).
        public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-6,
                    weightDecay: Double = 0.01) {
            self.learningRate = learningRate
            self.betas = HyperparameterPair(betas.0, betas.1)
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }

        /// PyTorch-worded checks: non-negative `lr`, `eps`, `weight_decay`; betas in `[0, 1)`.
        public func validate(group: Int) throws {
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: group)
            try HyperparameterCheck.nonNegative(epsilon, "Invalid epsilon value", group: group)
            try HyperparameterCheck.beta(betas.first, index: 0, group: group)
            try HyperparameterCheck.beta(betas.second, index: 1, group: group)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: group)
        }
    }

    /// One parameter's state.
    public struct State: OptimizerState {
        /// `step`: the number of updates applied to this parameter (`t`).
        public var step = 0
        /// `exp_avg`: the first moment m.
        public var exponentialAverage: [Scalar]
        /// `exp_avg_sq`: the second moment v.
        public var exponentialSquareAverage: [Scalar]
        /// The trust ratio q of the last step (not saved: it is recomputed every step).
        public var lastTrustRatio = 1.0

        /// The state under the reference names, as `state.<i>.<name>` entries.
        public func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            [("step", Tensor(Double(step))),
             ("exp_avg", Tensor(shape: shape, scalars: exponentialAverage.map(Double.init))),
             ("exp_avg_sq", Tensor(shape: shape, scalars: exponentialSquareAverage.map(Double.init)))]
        }
    }

    /// Zeroed moments.
    public static func makeState(count: Int, options: Options) -> State {
        State(exponentialAverage: Array(repeating: 0, count: count), exponentialSquareAverage: Array(repeating: 0, count: count))
    }

    /// The state ``State/entries(shape:)`` wrote, read back.
    public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        State(step: try reader.step(), exponentialAverage: try reader.buffer("exp_avg"),
              exponentialSquareAverage: try reader.buffer("exp_avg_sq"))
    }

    /// The update of one parameter tensor, in place.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func update(
        _ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
        state: inout State, options: Options
    ) {
        state.step += 1
        let t = Double(state.step), (beta1, beta2) = (options.betas.first, options.betas.second)
        let b1 = Scalar(beta1), w1 = Scalar(1 - beta1), b2 = Scalar(beta2), w2 = Scalar(1 - beta2)
        let correction1 = Scalar(1 - Foundation.pow(beta1, t)), correction2 = Scalar(1 - Foundation.pow(beta2, t))
        let eps = Scalar(options.epsilon), decay = Scalar(options.weightDecay), decayed = options.weightDecay != 0
        var direction = [Scalar](repeating: 0, count: parameter.count)
        var parameterSquares = 0.0, directionSquares = 0.0
        state.exponentialAverage.withUnsafeMutableBufferPointer { m in
            state.exponentialSquareAverage.withUnsafeMutableBufferPointer { v in
                for i in 0..<parameter.count {
                    let g = gradient[i]
                    m[i] = b1 * m[i] + w1 * g
                    v[i] = b2 * v[i] + w2 * (g * g)
                    let r = (m[i] / correction1) / ((v[i] / correction2).squareRoot() + eps)
                    let u = decayed ? r + decay * parameter[i] : r
                    direction[i] = u
                    parameterSquares += Double(parameter[i]) * Double(parameter[i])
                    directionSquares += Double(u) * Double(u)
                }
            }
        }
        let parameterNorm = parameterSquares.squareRoot(), directionNorm = directionSquares.squareRoot()
        let ratio = parameterNorm > 0 && directionNorm > 0 ? parameterNorm / directionNorm : 1
        state.lastTrustRatio = ratio
        let scaledRate = Scalar(options.learningRate * ratio)
        for i in 0..<parameter.count { parameter[i] = parameter[i] - scaledRate * direction[i] }
    }

    /// The groups, their resolved options and the per-parameter states.
    public let core: OptimizerCore<Options, State>

    /// LAMB over parameter groups, whose hyper-parameters override `options`.
    /// - Throws: ``NablaError`` for a negative learning rate, epsilon or weight decay, betas outside
    ///   `[0, 1)`, an empty parameter list, or an option LAMB does not use.
    public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }

    /// LAMB over one group of `parameters` (for example `model.parameters`).
    public convenience init(_ parameters: [Variable<Scalar>], learningRate: Double = 1e-3,
                            betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-6, weightDecay: Double = 0.01) throws {
        try self.init([ParameterGroup(parameters)],
                      options: Options(learningRate: learningRate, betas: betas, epsilon: epsilon, weightDecay: weightDecay))
    }
}
