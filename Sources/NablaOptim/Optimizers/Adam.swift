import Foundation
import NablaTensor

/// Adam: bias-corrected first and second moment estimates, optionally AMSGrad — PyTorch's
/// `torch.optim.Adam` (`_single_tensor_adam`, non-capturable path), in the same order of operations.
///
/// With learning rate `γ`, betas `(β₁, β₂)`, epsilon `ε` and weight decay `λ`, step `t = 1, 2, …` of a
/// parameter `θ` is (`m`, `v`, `v̂` start at zero):
///
///     g ← −g                              if maximize
///     θ ← θ·(1 − γλ)                      if λ ≠ 0 and decoupledWeightDecay (AdamW)
///     g ← g + λ·θ                         if λ ≠ 0 otherwise (coupled L2)
///     m ← lerp(m, g, 1 − β₁)              = β₁·m + (1 − β₁)·g
///     v ← β₂·v + (1 − β₂)·g²
///     v̂ ← max(v̂, v)                       if amsgrad (then v̂ replaces v below)
///     θ ← θ − (γ / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// The bias corrections are applied to the step size and the denominator on every step and are
/// never written back into `m` and `v`; `t` counts this parameter's updates and advances once per
/// `step()` (the book's Adam advances it once per parameter and overwrites the moments — SPEC §10).
/// ε is added after the bias-corrected square root, as in PyTorch. Defaults: `learningRate` 1e-3,
/// `betas` (0.9, 0.999), `epsilon` 1e-8, `weightDecay` 0, `amsgrad` false, `maximize` false,
/// `decoupledWeightDecay` false. State: `step`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq` (AMSGrad).
///
/// References: Kingma, Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015); Reddi, Kale,
/// Kumar, "On the Convergence of Adam and Beyond" (ICLR 2018) for AMSGrad.
public final class Adam<Scalar: TensorScalar>: PerParameterOptimizer {
    /// The name the registry knows it by.
    public static var name: String { "adam" }
    /// The name in messages, PyTorch's class name.
    public static var displayName: String { "Adam" }
    /// One line for `--help`, with the paper.
    public static var summary: String {
        "bias-corrected first and second moment estimates, optionally AMSGrad (Kingma, Ba, ICLR 2015; Reddi et al., ICLR 2018)"
    }

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
        /// `amsgrad`: use the running maximum of `v`.
        public var amsgrad: Bool
        /// `maximize`: ascend instead of descend.
        public var maximize: Bool
        /// `decoupled_weight_decay`: decay the weights directly (`θ ← θ·(1 − γλ)`, AdamW) rather
        /// than adding `λ·θ` to the gradient.
        public var decoupledWeightDecay: Bool

        enum CodingKeys: String, CodingKey {
            case learningRate = "lr", betas, epsilon = "eps", weightDecay = "weight_decay", amsgrad, maximize
            case decoupledWeightDecay = "decoupled_weight_decay"
        }

        /// PyTorch's defaults.
        public init() { self.init(learningRate: 1e-3) }

        /// Options as given, not validated (the optimizer validates).
        public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                    weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
                    decoupledWeightDecay: Bool = false) {
            self.learningRate = learningRate
            self.betas = HyperparameterPair(betas.0, betas.1)
            self.epsilon = epsilon
            self.weightDecay = weightDecay
            self.amsgrad = amsgrad
            self.maximize = maximize
            self.decoupledWeightDecay = decoupledWeightDecay
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

    /// One parameter's state (shared with ``AdamW``).
    public struct State: OptimizerState {
        /// `step`: the number of updates applied to this parameter (`t`).
        public var step: Int
        /// `exp_avg`: the first moment `m`.
        public var exponentialAverage: [Scalar]
        /// `exp_avg_sq`: the second moment `v`.
        public var exponentialSquareAverage: [Scalar]
        /// `max_exp_avg_sq`: AMSGrad's running maximum of `v`.
        public var maxExponentialSquareAverage: [Scalar]?

        /// Zeroed state for `count` elements, as PyTorch creates it on first use.
        public init(count: Int, amsgrad: Bool) {
            step = 0
            exponentialAverage = [Scalar](repeating: 0, count: count)
            exponentialSquareAverage = [Scalar](repeating: 0, count: count)
            maxExponentialSquareAverage = amsgrad ? [Scalar](repeating: 0, count: count) : nil
        }

        /// Zeroed state for `count` elements under `options`.
        public init(count: Int, options: Options) { self.init(count: count, amsgrad: options.amsgrad) }

        /// The state an optimizer with or without `amsgrad` wrote.
        init(reading reader: inout StateReader<Scalar>, amsgrad: Bool) throws {
            step = try reader.step()
            exponentialAverage = try reader.buffer("exp_avg")
            exponentialSquareAverage = try reader.buffer("exp_avg_sq")
            maxExponentialSquareAverage = amsgrad ? try reader.buffer("max_exp_avg_sq") : nil
        }

        /// The state under PyTorch's names, as `state.<i>.<name>` entries.
        public func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            var entries: [(name: String, value: Tensor<Double>)] = [
                ("step", Tensor(Double(step))),
                ("exp_avg", Tensor(shape: shape, scalars: exponentialAverage.map(Double.init))),
                ("exp_avg_sq", Tensor(shape: shape, scalars: exponentialSquareAverage.map(Double.init))),
            ]
            if let maxExponentialSquareAverage {
                entries.append(("max_exp_avg_sq", Tensor(shape: shape, scalars: maxExponentialSquareAverage.map(Double.init))))
            }
            return entries
        }
    }

    /// A parameter's state before its first update, as PyTorch creates it.
    public static func makeState(count: Int, options: Options) -> State { State(count: count, amsgrad: options.amsgrad) }

    /// The state ``State/entries(shape:)`` wrote under `options`, read back.
    public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        try State(reading: &reader, amsgrad: options.amsgrad)
    }

    /// The update of one parameter, in place (PyTorch's `_single_tensor_adam` for one tensor).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func update(
        _ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
        state: inout State, options: Options
    ) {
        let count = parameter.count
        state.step += 1
        let amsgrad = options.amsgrad
        let (beta1, beta2) = (options.betas.first, options.betas.second)
        let t = Double(state.step)
        let biasCorrection1 = 1 - Foundation.pow(beta1, t), biasCorrection2 = 1 - Foundation.pow(beta2, t)
        let negativeStepSize = Scalar(-(options.learningRate / biasCorrection1))
        let correction2Root = Scalar(Foundation.pow(biasCorrection2, 0.5))
        let eps = Scalar(options.epsilon), decay = Scalar(options.weightDecay)
        let shrink = Scalar(1 - options.learningRate * options.weightDecay)
        let weight1 = Scalar(1 - beta1), beta2s = Scalar(beta2), oneMinusBeta2 = Scalar(1 - beta2)
        let sign: Scalar = options.maximize ? -1 : 1
        // Moved out of the state so that writing through it does not copy; empty without AMSGrad.
        var maxima = state.maxExponentialSquareAverage ?? (amsgrad ? [Scalar](repeating: 0, count: count) : [])
        state.maxExponentialSquareAverage = nil
        state.exponentialAverage.withUnsafeMutableBufferPointer { m in
            state.exponentialSquareAverage.withUnsafeMutableBufferPointer { v in
                maxima.withUnsafeMutableBufferPointer { vMax in
                    forEachChunk(count) { range in
                        // Local copies: the loop then keeps the pointers in registers instead of reloading
                        // them from the closure context after every store, which blocks vectorization.
                        let (parameter, gradient, m, v, vMax) = (parameter, gradient, m, v, vMax)
                        branch(options.weightDecay != 0 && options.decoupledWeightDecay) { decoupled in
                        branch(options.weightDecay != 0 && !options.decoupledWeightDecay) { coupled in
                        branch(amsgrad) { amsgrad in
                        branch(abs(weight1) < 0.5) { smallWeight in
                            for i in range {
                                var g = sign * gradient[i]
                                if decoupled { parameter[i] = parameter[i] * shrink }
                                if coupled { g = g + decay * parameter[i] }
                                let mi = lerp(m[i], g, weight: weight1, small: smallWeight)
                                m[i] = mi
                                var vi = v[i] * beta2s + oneMinusBeta2 * g * g
                                v[i] = vi
                                if amsgrad {
                                    vi = Swift.max(vMax[i], vi)
                                    vMax[i] = vi
                                }
                                let denominator = vi.squareRoot() / correction2Root + eps
                                parameter[i] = parameter[i] + negativeStepSize * (mi / denominator)
                            }
                        }}}}
                    }
                }
            }
        }
        if amsgrad { state.maxExponentialSquareAverage = maxima }
    }

    /// The groups, their resolved options and the per-parameter states.
    public let core: OptimizerCore<Options, State>

    /// Adam over parameter groups, whose hyper-parameters override `options`.
    /// - Throws: ``/NablaTensor/NablaError`` for a negative learning rate, epsilon or weight decay, betas outside
    ///   `[0, 1)`, an empty parameter list, or an option Adam does not use.
    public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }

    /// Adam over parameter groups; options a group does not set take these values.
    public convenience init(
        _ groups: [ParameterGroup<Scalar>], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
        decoupledWeightDecay: Bool = false
    ) throws {
        try self.init(groups, options: Options(learningRate: learningRate, betas: betas, epsilon: epsilon,
                                               weightDecay: weightDecay, amsgrad: amsgrad, maximize: maximize,
                                               decoupledWeightDecay: decoupledWeightDecay))
    }

    /// Adam over one group of `parameters` (for example `model.parameters`).
    public convenience init(
        _ parameters: [Variable<Scalar>], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
        decoupledWeightDecay: Bool = false
    ) throws {
        try self.init([ParameterGroup(parameters)], learningRate: learningRate, betas: betas, epsilon: epsilon,
                      weightDecay: weightDecay, amsgrad: amsgrad, maximize: maximize,
                      decoupledWeightDecay: decoupledWeightDecay)
    }
}
