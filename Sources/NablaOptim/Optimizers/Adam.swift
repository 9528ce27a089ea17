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
public final class Adam<Scalar: TensorScalar>: Optimizer {
    /// One group's hyper-parameters (shared with ``AdamW``).
    public struct Options: OptimizerOptions {
        public var learningRate: Double
        public var betas: (Double, Double)
        public var epsilon: Double
        public var weightDecay: Double
        public var amsgrad: Bool
        public var maximize: Bool
        public var decoupledWeightDecay: Bool

        /// Options as given, not validated (the optimizer's initializers validate).
        public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                    weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
                    decoupledWeightDecay: Bool = false) {
            self.learningRate = learningRate
            self.betas = betas
            self.epsilon = epsilon
            self.weightDecay = weightDecay
            self.amsgrad = amsgrad
            self.maximize = maximize
            self.decoupledWeightDecay = decoupledWeightDecay
        }

        /// Reads a resolved group; a group without `decoupled_weight_decay` (AdamW's) decouples.
        init<S>(_ group: ParameterGroup<S>, index: Int) throws {
            self.init(learningRate: group.learningRate!, betas: group.betas!, epsilon: group.epsilon!,
                      weightDecay: group.weightDecay!, amsgrad: group.amsgrad!, maximize: group.maximize!,
                      decoupledWeightDecay: group.decoupledWeightDecay ?? true)
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: index)
            try HyperparameterCheck.nonNegative(epsilon, "Invalid epsilon value", group: index)
            try HyperparameterCheck.beta(betas.0, index: 0, group: index)
            try HyperparameterCheck.beta(betas.1, index: 1, group: index)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: index)
        }
    }

    /// One parameter's state.
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
        public init(count: Int, options: Options) {
            step = 0
            exponentialAverage = [Scalar](repeating: 0, count: count)
            exponentialSquareAverage = [Scalar](repeating: 0, count: count)
            maxExponentialSquareAverage = options.amsgrad ? [Scalar](repeating: 0, count: count) : nil
        }

        func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
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

        init(reading reader: inout StateReader<Scalar>, options: Options) throws {
            step = try reader.step()
            exponentialAverage = try reader.buffer("exp_avg")
            exponentialSquareAverage = try reader.buffer("exp_avg_sq")
            maxExponentialSquareAverage = options.amsgrad ? try reader.buffer("max_exp_avg_sq") : nil
        }
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
        let (beta1, beta2) = options.betas
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

    /// The PyTorch `param_groups` keys of this optimizer.
    static var optionKeys: Set<String> { ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"] }

    var core: OptimizerCore<State>

    /// Adam over parameter groups; options a group leaves `nil` take these defaults.
    /// - Throws: ``NablaError`` for a negative learning rate, epsilon or weight decay, betas outside
    ///   `[0, 1)`, an empty parameter list, or an option Adam does not use.
    public init(
        _ groups: [ParameterGroup<Scalar>], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
        decoupledWeightDecay: Bool = false
    ) throws {
        let defaults = ParameterGroup<Scalar>(
            [], learningRate: learningRate, weightDecay: weightDecay, maximize: maximize, epsilon: epsilon,
            betas: betas, amsgrad: amsgrad, decoupledWeightDecay: decoupledWeightDecay)
        core = try OptimizerCore(name: "Adam", keys: Self.optionKeys, groups: groups, defaults: defaults)
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

    public var parameterGroups: [ParameterGroup<Scalar>] { core.groups }
    public var learningRates: [Double] {
        get { core.learningRates }
        set { core.learningRates = newValue }
    }
    public var initialLearningRates: [Double?] {
        get { core.initialLearningRates }
        set { core.initialLearningRates = newValue }
    }
    /// The state of the `index`-th parameter across groups (`nil` before its first update).
    public func state(ofParameter index: Int) -> State? { core.states[index] }

    public func step() {
        core.step(makeState: { State(count: $1, options: $0) },
                  update: { Self.update($0, gradient: $1, state: &$2, options: $3) })
    }

    public func stateDict() -> [String: Tensor<Double>] { core.stateDict() }
    public func loadStateDict(_ dict: [String: Tensor<Double>]) throws { try core.loadStateDict(dict) }
}
