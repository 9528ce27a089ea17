import Foundation
import NablaTensor

/// RAdam: Adam whose adaptive step is switched on only once the variance of the adaptive learning
/// rate is tractable, and then rectified — PyTorch's `torch.optim.RAdam` (`_single_tensor_radam`,
/// non-capturable path), in the same order of operations.
///
/// With learning rate `γ`, betas `(β₁, β₂)`, epsilon `ε` and weight decay `λ`, step `t = 1, 2, …`
/// of a parameter `θ` is (`m`, `v` start at zero):
///
///     g ← −g                                  if maximize
///     θ ← θ·(1 − γλ)                          if λ ≠ 0 and decoupledWeightDecay
///     g ← g + λ·θ                             if λ ≠ 0 otherwise
///     m ← lerp(m, g, 1 − β₁);   v ← β₂·v + (1 − β₂)·g²
///     m̂ ← m / (1 − β₁ᵗ)
///     ρ∞ ← 2/(1 − β₂) − 1;   ρₜ ← ρ∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
///     if ρₜ > 5:  r ← √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ))
///                 θ ← θ − γ·m̂ · √(1 − β₂ᵗ)/(√v + ε) · r
///     else:       θ ← θ − γ·m̂                  (un-adapted momentum step)
///
/// With β₂ = 0.999 steps 1–5 are un-rectified and steps 6 on rectified; β₂ ≤ 0.6 never rectifies.
/// `t` is the parameter's own step count. Defaults: `learningRate` 1e-3, `betas` (0.9, 0.999),
/// `epsilon` 1e-8, `weightDecay` 0, `decoupledWeightDecay` false, `maximize` false. State: `step`,
/// `exp_avg`, `exp_avg_sq`.
///
/// Reference: Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond" (ICLR 2020).
public final class RAdam<Scalar: TensorScalar>: PerParameterOptimizer {
    /// The name the registry knows it by.
    public static var name: String { "radam" }
    /// The name in messages, PyTorch's class name.
    public static var displayName: String { "RAdam" }
    /// One line for `--help`, with the paper.
    public static var summary: String { "Adam with a rectified adaptive learning rate (Liu et al., ICLR 2020)" }

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
        /// `decoupled_weight_decay`: `θ ← θ·(1 − γλ)` instead of `g ← g + λθ`.
        public var decoupledWeightDecay: Bool
        /// `maximize`: ascend instead of descend.
        public var maximize: Bool

        enum CodingKeys: String, CodingKey {
            case learningRate = "lr", betas, epsilon = "eps", weightDecay = "weight_decay"
            case decoupledWeightDecay = "decoupled_weight_decay", maximize
        }

        /// PyTorch's defaults.
        public init() { self.init(learningRate: 1e-3) }

        /// Options as given, not validated (the optimizer validates).
        public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                    weightDecay: Double = 0, decoupledWeightDecay: Bool = false, maximize: Bool = false) {
            self.learningRate = learningRate
            self.betas = HyperparameterPair(betas.0, betas.1)
            self.epsilon = epsilon
            self.weightDecay = weightDecay
            self.decoupledWeightDecay = decoupledWeightDecay
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
        /// `exp_avg_sq`: the second moment v.
        public var exponentialSquareAverage: [Scalar]

        /// The state under PyTorch's names, as `state.<i>.<name>` entries.
        public func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            [("step", Tensor(Double(step))),
             ("exp_avg", Tensor(shape: shape, scalars: exponentialAverage.map(Double.init))),
             ("exp_avg_sq", Tensor(shape: shape, scalars: exponentialSquareAverage.map(Double.init)))]
        }
    }

    /// Zeroed moments, as PyTorch creates them on the first step.
    public static func makeState(count: Int, options: Options) -> State {
        State(exponentialAverage: Array(repeating: 0, count: count), exponentialSquareAverage: Array(repeating: 0, count: count))
    }

    /// The state ``State/entries(shape:)`` wrote, read back.
    public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        State(step: try reader.step(), exponentialAverage: try reader.buffer("exp_avg"),
              exponentialSquareAverage: try reader.buffer("exp_avg_sq"))
    }

    /// Whether step `t` with second-moment decay `beta2` takes the rectified branch (`ρₜ > 5`).
    public static func isRectified(step t: Int, beta2: Double) -> Bool { rectification(step: t, beta2: beta2) != nil }

    /// `r` of step `t`, or `nil` when `ρₜ ≤ 5` (PyTorch's `_compute_rect`).
    static func rectification(step t: Int, beta2: Double) -> Double? {
        let step = Double(t), biasCorrection2 = 1 - Foundation.pow(beta2, step)
        let rhoInfinity = 2 / (1 - beta2) - 1
        let rhoT = rhoInfinity - 2 * step * Foundation.pow(beta2, step) / biasCorrection2
        guard rhoT > 5 else { return nil }
        return Foundation.pow((rhoT - 4) * (rhoT - 2) * rhoInfinity / ((rhoInfinity - 4) * (rhoInfinity - 2) * rhoT), 0.5)
    }

    /// The update of one parameter, in place (PyTorch's `_single_tensor_radam` for one tensor).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func update(
        _ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
        state: inout State, options: Options
    ) {
        state.step += 1
        let t = Double(state.step), lr = options.learningRate
        let (beta1, beta2) = (options.betas.first, options.betas.second)
        let biasCorrection1 = Scalar(1 - Foundation.pow(beta1, t))
        let correction2Root = Scalar(Foundation.pow(1 - Foundation.pow(beta2, t), 0.5))
        let rect = rectification(step: state.step, beta2: beta2)
        let rectified = rect != nil, r = Scalar(rect ?? 1), rate = Scalar(lr)
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
                    let corrected = m[i] / biasCorrection1
                    if rectified {
                        let adaptive = correction2Root * (1 / (v[i].squareRoot() + eps))
                        parameter[i] = parameter[i] + -(((corrected * rate) * adaptive) * r)
                    } else {
                        parameter[i] = parameter[i] + -(corrected * rate)
                    }
                }
            }
        }
    }

    /// The groups, their resolved options and the per-parameter states.
    public let core: OptimizerCore<Options, State>

    /// RAdam over parameter groups, whose hyper-parameters override `options`.
    /// - Throws: ``NablaError`` for a negative learning rate, epsilon or weight decay, betas outside
    ///   `[0, 1)`, an empty parameter list, or an option RAdam does not use.
    public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }

    /// RAdam over one group of `parameters` (for example `model.parameters`).
    public convenience init(_ parameters: [Variable<Scalar>], learningRate: Double = 1e-3,
                            betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8, weightDecay: Double = 0,
                            decoupledWeightDecay: Bool = false, maximize: Bool = false) throws {
        try self.init([ParameterGroup(parameters)],
                      options: Options(learningRate: learningRate, betas: betas, epsilon: epsilon, weightDecay: weightDecay,
                                       decoupledWeightDecay: decoupledWeightDecay, maximize: maximize))
    }
}
