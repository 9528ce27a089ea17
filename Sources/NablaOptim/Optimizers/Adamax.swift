import Foundation
import NablaTensor

/// Adamax: Adam with the infinity norm in place of the second moment — PyTorch's
/// `torch.optim.Adamax` (`_single_tensor_adamax`), in the same order of operations.
///
/// With learning rate `γ`, betas `(β₁, β₂)`, epsilon `ε` and weight decay `λ`, step `t = 1, 2, …`
/// of a parameter `θ` is (`m` and `u` start at zero):
///
///     g ← −g                              if maximize
///     g ← g + λ·θ                         if λ ≠ 0
///     m ← lerp(m, g, 1 − β₁)              = β₁·m + (1 − β₁)·g
///     u ← max(β₂·u, |g| + ε)              ε inside the max, not in a denominator
///     θ ← θ − (γ / (1 − β₁ᵗ)) · m / u
///
/// Only the first moment is bias-corrected. Defaults: `learningRate` 2e-3, `betas` (0.9, 0.999),
/// `epsilon` 1e-8, `weightDecay` 0, `maximize` false. State: `step`, `exp_avg` (m), `exp_inf` (u).
///
/// Reference: Kingma, Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015), section 7.1.
public final class Adamax<Scalar: TensorScalar>: PerParameterOptimizer {
    /// The name the registry knows it by.
    public static var name: String { "adamax" }
    /// The name in messages, PyTorch's class name.
    public static var displayName: String { "Adamax" }
    /// One line for `--help`, with the paper.
    public static var summary: String { "Adam with an infinity-norm second moment (Kingma, Ba, ICLR 2015, §7.1)" }

    /// One group's hyper-parameters, under PyTorch's `param_groups` keys.
    public struct Options: OptimizerOptions {
        /// `lr`, γ.
        public var learningRate: Double
        /// `betas`, (β₁, β₂).
        public var betas: HyperparameterPair
        /// `eps`, ε.
        public var epsilon: Double
        /// `weight_decay`, λ (coupled: `g ← g + λ·θ`).
        public var weightDecay: Double
        /// `maximize`: ascend instead of descend.
        public var maximize: Bool

        enum CodingKeys: String, CodingKey {
            case learningRate = "lr", betas, epsilon = "eps", weightDecay = "weight_decay", maximize
        }

        /// PyTorch's defaults.
        public init() { self.init(learningRate: 2e-3) }

        /// Options as given, not validated (the optimizer validates).
        public init(learningRate: Double = 2e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                    weightDecay: Double = 0, maximize: Bool = false) {
            self.learningRate = learningRate
            self.betas = HyperparameterPair(betas.0, betas.1)
            self.epsilon = epsilon
            self.weightDecay = weightDecay
            self.maximize = maximize
        }

        /// PyTorch's checks: non-negative `lr`, `eps`, `weight_decay`; betas in `[0, 1)`.
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
        /// `exp_inf`: the exponentially weighted infinity norm u.
        public var exponentialInfinityNorm: [Scalar]

        /// The state under PyTorch's names, as `state.<i>.<name>` entries.
        public func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            [("step", Tensor(Double(step))),
             ("exp_avg", Tensor(shape: shape, scalars: exponentialAverage.map(Double.init))),
             ("exp_inf", Tensor(shape: shape, scalars: exponentialInfinityNorm.map(Double.init)))]
        }
    }

    /// Zeroed state, as PyTorch creates it on the first step.
    public static func makeState(count: Int, options: Options) -> State {
        State(exponentialAverage: Array(repeating: 0, count: count), exponentialInfinityNorm: Array(repeating: 0, count: count))
    }

    /// The state ``State/entries(shape:)`` wrote, read back.
    public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        State(step: try reader.step(), exponentialAverage: try reader.buffer("exp_avg"),
              exponentialInfinityNorm: try reader.buffer("exp_inf"))
    }

    /// The update of one parameter, in place (PyTorch's `_single_tensor_adamax` for one tensor).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func update(
        _ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
        state: inout State, options: Options
    ) {
        state.step += 1
        let (beta1, beta2) = (options.betas.first, options.betas.second)
        let clr = options.learningRate / (1 - Foundation.pow(beta1, Double(state.step)))
        let negativeRate = Scalar(-clr), weight1 = Scalar(1 - beta1), small = abs(1 - beta1) < 0.5
        let beta2s = Scalar(beta2), eps = Scalar(options.epsilon), decay = Scalar(options.weightDecay)
        let sign: Scalar = options.maximize ? -1 : 1, decayed = options.weightDecay != 0
        state.exponentialAverage.withUnsafeMutableBufferPointer { m in
            state.exponentialInfinityNorm.withUnsafeMutableBufferPointer { u in
                for i in 0..<parameter.count {
                    var g = sign * gradient[i]
                    if decayed { g = g + decay * parameter[i] }
                    m[i] = lerp(m[i], g, weight: weight1, small: small)
                    u[i] = Swift.max(u[i] * beta2s, abs(g) + eps)
                    parameter[i] = (negativeRate * m[i]) / u[i] + parameter[i]
                }
            }
        }
    }

    /// The groups, their resolved options and the per-parameter states.
    public let core: OptimizerCore<Options, State>

    /// Adamax over parameter groups, whose hyper-parameters override `options`.
    /// - Throws: ``NablaError`` for a negative learning rate, epsilon or weight decay, betas outside
    ///   `[0, 1)`, an empty parameter list, or an option Adamax does not use.
    public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }

    /// Adamax over one group of `parameters` (for example `model.parameters`).
    public convenience init(_ parameters: [Variable<Scalar>], learningRate: Double = 2e-3,
                            betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8, weightDecay: Double = 0,
                            maximize: Bool = false) throws {
        try self.init([ParameterGroup(parameters)], options: Options(learningRate: learningRate, betas: betas, epsilon: epsilon,
                                                                     weightDecay: weightDecay, maximize: maximize))
    }
}
