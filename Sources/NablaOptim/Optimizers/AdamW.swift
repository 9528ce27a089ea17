import NablaTensor

/// AdamW: Adam with decoupled weight decay — PyTorch's `torch.optim.AdamW`, which is `Adam` with
/// `decoupled_weight_decay=True`.
///
/// The weights shrink directly before the Adam step instead of receiving `λ·θ` in the gradient, so
/// the decay is not rescaled by the adaptive denominator:
///
///     θ ← θ·(1 − γλ)                      (decoupled weight decay, before the moments)
///     m ← lerp(m, g, 1 − β₁);  v ← β₂·v + (1 − β₂)·g²;  v̂ ← max(v̂, v) if amsgrad
///     θ ← θ − (γ / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// (see ``Adam`` for the full rule, shared through ``Adam/update(_:gradient:state:options:)``).
/// Defaults: `learningRate` 1e-3, `betas` (0.9, 0.999), `epsilon` 1e-8, `weightDecay` **0.01**,
/// `amsgrad` false, `maximize` false. State: `step`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq` (AMSGrad).
///
/// Note that PyTorch scales the decay by the current learning rate (`γλ`), so a schedule that lowers
/// `γ` lowers the decay with it; the paper's `η_t·λ` with a separate schedule multiplier `η_t` is the
/// same thing when `γ = α·η_t`.
///
/// Reference: Loshchilov, Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019).
public final class AdamW<Scalar: TensorScalar>: PerParameterOptimizer {
    /// The name the registry knows it by.
    public static var name: String { "adamw" }
    /// The name in messages, PyTorch's class name.
    public static var displayName: String { "AdamW" }
    /// One line for `--help`, with the paper.
    public static var summary: String {
        "Adam with decoupled weight decay θ ← θ·(1 − lr·λ), λ = 0.01 by default (Loshchilov, Hutter, ICLR 2019)"
    }

    /// One group's hyper-parameters, under PyTorch's `param_groups` keys: Adam's without
    /// `decoupled_weight_decay` (always on), with `weight_decay` 0.01 by default.
    public struct Options: OptimizerOptions {
        /// `lr`, γ.
        public var learningRate: Double
        /// `betas`, (β₁, β₂).
        public var betas: HyperparameterPair
        /// `eps`, ε.
        public var epsilon: Double
        /// `weight_decay`, λ (decoupled).
        public var weightDecay: Double
        /// `amsgrad`: use the running maximum of `v`.
        public var amsgrad: Bool
        /// `maximize`: ascend instead of descend.
        public var maximize: Bool

        enum CodingKeys: String, CodingKey {
            case learningRate = "lr", betas, epsilon = "eps", weightDecay = "weight_decay", amsgrad, maximize
        }

        /// PyTorch's defaults.
        public init() { self.init(learningRate: 1e-3) }

        /// Options as given, not validated (the optimizer validates).
        public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), epsilon: Double = 1e-8,
                    weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false) {
            self.learningRate = learningRate
            self.betas = HyperparameterPair(betas.0, betas.1)
            self.epsilon = epsilon
            self.weightDecay = weightDecay
            self.amsgrad = amsgrad
            self.maximize = maximize
        }

        /// The same options for ``Adam``'s update, with decoupled weight decay.
        public var adam: Adam<Scalar>.Options {
            Adam.Options(learningRate: learningRate, betas: (betas.first, betas.second), epsilon: epsilon,
                         weightDecay: weightDecay, amsgrad: amsgrad, maximize: maximize, decoupledWeightDecay: true)
        }

        /// Adam's checks.
        public func validate(group: Int) throws { try adam.validate(group: group) }
    }

    /// Adam's state: AdamW keeps the same moments.
    public typealias State = Adam<Scalar>.State

    /// A parameter's state before its first update, as PyTorch creates it.
    public static func makeState(count: Int, options: Options) -> State { State(count: count, amsgrad: options.amsgrad) }

    /// The state `State.entries(shape:)` wrote under `options`, read back.
    public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        try State(reading: &reader, amsgrad: options.amsgrad)
    }

    /// ``Adam``'s update with decoupled weight decay.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func update(
        _ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
        state: inout State, options: Options
    ) {
        Adam.update(parameter, gradient: gradient, state: &state, options: options.adam)
    }

    /// The groups, their resolved options and the per-parameter states.
    public let core: OptimizerCore<Options, State>

    /// AdamW over parameter groups, whose hyper-parameters override `options`.
    /// - Throws: ``/NablaTensor/NablaError`` for a negative learning rate, epsilon or weight decay, betas outside
    ///   `[0, 1)`, an empty parameter list, or an option AdamW does not use.
    public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }

    /// AdamW over parameter groups; options a group does not set take these values.
    public convenience init(
        _ groups: [ParameterGroup<Scalar>], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false
    ) throws {
        try self.init(groups, options: Options(learningRate: learningRate, betas: betas, epsilon: epsilon,
                                               weightDecay: weightDecay, amsgrad: amsgrad, maximize: maximize))
    }

    /// AdamW over one group of `parameters` (for example `model.parameters`).
    public convenience init(
        _ parameters: [Variable<Scalar>], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false
    ) throws {
        try self.init([ParameterGroup(parameters)], learningRate: learningRate, betas: betas, epsilon: epsilon,
                      weightDecay: weightDecay, amsgrad: amsgrad, maximize: maximize)
    }
}
