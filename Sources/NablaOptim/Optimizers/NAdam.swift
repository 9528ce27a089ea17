import Foundation
import NablaTensor

/// NAdam: Adam with Nesterov momentum and a warming-up momentum schedule — PyTorch's
/// `torch.optim.NAdam` (`_single_tensor_nadam`, non-capturable path), in the same order of operations.
///
/// With learning rate `γ`, betas `(β₁, β₂)`, epsilon `ε`, weight decay `λ` and momentum decay `ψ`,
/// step `t = 1, 2, …` of a parameter `θ` is (`m`, `v` start at zero, the product `Π` at one):
///
///     g ← −g                                  if maximize
///     θ ← θ·(1 − γλ)                          if λ ≠ 0 and decoupledWeightDecay (NAdamW)
///     g ← g + λ·θ                             if λ ≠ 0 otherwise
///     μₜ ← β₁·(1 − ½·0.96^(t·ψ));   μₜ₊₁ ← β₁·(1 − ½·0.96^((t+1)·ψ))
///     Π ← Π·μₜ
///     m ← lerp(m, g, 1 − β₁);   v ← β₂·v + (1 − β₂)·g²
///     d ← √(v / (1 − β₂ᵗ)) + ε
///     θ ← θ − γ(1 − μₜ)/(1 − Π) · g/d − γμₜ₊₁/(1 − Π·μₜ₊₁) · m/d
///
/// `Π` is kept in the parameter's precision, as PyTorch keeps `mu_product` in the default dtype
/// (so a `Float` NAdam rounds it to `Float` each step, as torch does in float32). Defaults:
/// `learningRate` 2e-3, `betas` (0.9, 0.999), `epsilon` 1e-8, `weightDecay` 0, `momentumDecay`
/// 4e-3, `decoupledWeightDecay` false, `maximize` false. State: `step`, `mu_product` (Π),
/// `exp_avg`, `exp_avg_sq`.
///
/// Reference: Dozat, "Incorporating Nesterov Momentum into Adam" (ICLR 2016 workshop).
public final class NAdam<Scalar: TensorScalar>: PerParameterOptimizer {
    /// The name the registry knows it by.
    public static var name: String { "nadam" }
    /// The name in messages, PyTorch's class name.
    public static var displayName: String { "NAdam" }
    /// One line for `--help`, with the paper.
    public static var summary: String { "Adam with Nesterov momentum and a momentum warm-up schedule (Dozat, ICLR 2016 workshop)" }

    /// One group's hyper-parameters, under PyTorch's `param_groups` keys.
    public struct Options: OptimizerOptions {
        /// `lr`, γ.
        public var learningRate: Double
        /// `betas`, (β₁, β₂).
        public var betas: HyperparameterPair
        /// `eps`, ε.
        public var epsilon: Double
        /// `weight_decay`, λ.
        public var weightDecay: Double
        /// `momentum_decay`, ψ: how fast μₜ warms up to β₁.
        public var momentumDecay: Double
        /// `decoupled_weight_decay`: `θ ← θ·(1 − γλ)` instead of `g ← g + λθ`.
        public var decoupledWeightDecay: Bool
        /// `maximize`: ascend instead of descend.
        public var maximize: Bool

        enum CodingKeys: String, CodingKey {
            case learningRate = "lr", betas, epsilon = "eps", weightDecay = "weight_decay"
            case momentumDecay = "momentum_decay", decoupledWeightDecay = "decoupled_weight_decay", maximize
        }

        /// PyTorch's defaults.
        public init() { self.init(learningRate: 2e-3) }

        /// Options as given, not validated (the optimizer validates).
        public init(learningRate: Double = 2e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                    weightDecay: Double = 0, momentumDecay: Double = 4e-3, decoupledWeightDecay: Bool = false,
                    maximize: Bool = false) {
            self.learningRate = learningRate
            self.betas = HyperparameterPair(betas.0, betas.1)
            self.epsilon = epsilon
            self.weightDecay = weightDecay
            self.momentumDecay = momentumDecay
            self.decoupledWeightDecay = decoupledWeightDecay
            self.maximize = maximize
        }

        /// PyTorch's checks: non-negative `lr`, `eps`, `weight_decay`, `momentum_decay`; betas in `[0, 1)`.
        public func validate(group: Int) throws {
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: group)
            try HyperparameterCheck.nonNegative(epsilon, "Invalid epsilon value", group: group)
            try HyperparameterCheck.beta(betas.first, index: 0, group: group)
            try HyperparameterCheck.beta(betas.second, index: 1, group: group)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: group)
            try HyperparameterCheck.nonNegative(momentumDecay, "Invalid momentum_decay value", group: group)
        }
    }

    /// One parameter's state.
    public struct State: OptimizerState {
        /// `step`: the number of updates applied to this parameter (`t`).
        public var step = 0
        /// `mu_product`: Π, the product of the momentum coefficients so far.
        public var muProduct: Scalar = 1
        /// `exp_avg`: the first moment m.
        public var exponentialAverage: [Scalar]
        /// `exp_avg_sq`: the second moment v.
        public var exponentialSquareAverage: [Scalar]

        /// The state under PyTorch's names, as `state.<i>.<name>` entries.
        public func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            [("step", Tensor(Double(step))), ("mu_product", Tensor(Double(muProduct))),
             ("exp_avg", Tensor(shape: shape, scalars: exponentialAverage.map(Double.init))),
             ("exp_avg_sq", Tensor(shape: shape, scalars: exponentialSquareAverage.map(Double.init)))]
        }
    }

    /// Zeroed moments and `Π = 1`, as PyTorch creates them on the first step.
    public static func makeState(count: Int, options: Options) -> State {
        State(exponentialAverage: Array(repeating: 0, count: count), exponentialSquareAverage: Array(repeating: 0, count: count))
    }

    /// The state ``State/entries(shape:)`` wrote, read back.
    public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        let step = try reader.step()
        let product = try reader.scalar("mu_product")
        guard product.isFinite else {
            throw NablaError(.invalidArgument, "optimizer state entry 'mu_product' must be finite, got \(product)")
        }
        return State(step: step, muProduct: Scalar(product), exponentialAverage: try reader.buffer("exp_avg"),
                     exponentialSquareAverage: try reader.buffer("exp_avg_sq"))
    }

    /// The update of one parameter, in place (PyTorch's `_single_tensor_nadam` for one tensor).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func update(
        _ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
        state: inout State, options: Options
    ) {
        state.step += 1
        let t = Double(state.step), lr = options.learningRate, psi = options.momentumDecay
        let (beta1, beta2) = (options.betas.first, options.betas.second)
        let biasCorrection2 = Scalar(1 - Foundation.pow(beta2, t))
        let mu = beta1 * (1 - 0.5 * Foundation.pow(0.96, t * psi))
        let muNext = beta1 * (1 - 0.5 * Foundation.pow(0.96, (t + 1) * psi))
        state.muProduct = state.muProduct * Scalar(mu)
        let product = Double(state.muProduct)
        let gradientCoefficient = Scalar((-lr * (1 - mu)) / (1 - product))
        let momentumCoefficient = Scalar((-lr * muNext) / (1 - product * muNext))
        let weight1 = Scalar(1 - beta1), small = abs(1 - beta1) < 0.5
        let beta2s = Scalar(beta2), weight2 = Scalar(1 - beta2), eps = Scalar(options.epsilon)
        let decay = Scalar(options.weightDecay), shrink = Scalar(1 - lr * options.weightDecay)
        let decoupled = options.weightDecay != 0 && options.decoupledWeightDecay
        let coupled = options.weightDecay != 0 && !options.decoupledWeightDecay
        let sign: Scalar = options.maximize ? -1 : 1
        state.exponentialAverage.withUnsafeMutableBufferPointer { m in
            state.exponentialSquareAverage.withUnsafeMutableBufferPointer { v in
                for i in 0..<parameter.count {
                    var g = sign * gradient[i]
                    if decoupled { parameter[i] = parameter[i] * shrink }
                    if coupled { g = g + decay * parameter[i] }
                    m[i] = lerp(m[i], g, weight: weight1, small: small)
                    v[i] = v[i] * beta2s + (weight2 * g) * g
                    let d = (v[i] / biasCorrection2).squareRoot() + eps
                    parameter[i] = (gradientCoefficient * g) / d + parameter[i]
                    parameter[i] = (momentumCoefficient * m[i]) / d + parameter[i]
                }
            }
        }
    }

    /// The groups, their resolved options and the per-parameter states.
    public let core: OptimizerCore<Options, State>

    /// NAdam over parameter groups, whose hyper-parameters override `options`.
    /// - Throws: ``NablaError`` for a negative learning rate, epsilon, weight decay or momentum
    ///   decay, betas outside `[0, 1)`, an empty parameter list, or an option NAdam does not use.
    public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }

    /// NAdam over one group of `parameters` (for example `model.parameters`).
    public convenience init(_ parameters: [Variable<Scalar>], learningRate: Double = 2e-3,
                            betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8, weightDecay: Double = 0,
                            momentumDecay: Double = 4e-3, decoupledWeightDecay: Bool = false, maximize: Bool = false) throws {
        try self.init([ParameterGroup(parameters)],
                      options: Options(learningRate: learningRate, betas: betas, epsilon: epsilon, weightDecay: weightDecay,
                                       momentumDecay: momentumDecay, decoupledWeightDecay: decoupledWeightDecay,
                                       maximize: maximize))
    }
}
