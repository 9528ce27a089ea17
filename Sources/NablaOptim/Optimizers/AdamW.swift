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
public final class AdamW<Scalar: TensorScalar>: Optimizer {
    public typealias Options = Adam<Scalar>.Options
    public typealias State = Adam<Scalar>.State

    /// The PyTorch `param_groups` keys of this optimizer (no `decoupled_weight_decay`: always on).
    static var optionKeys: Set<String> { ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"] }

    var core: OptimizerCore<State>

    /// AdamW over parameter groups; options a group leaves `nil` take these defaults.
    /// - Throws: ``NablaError`` for a negative learning rate, epsilon or weight decay, betas outside
    ///   `[0, 1)`, an empty parameter list, or an option AdamW does not use.
    public init(
        _ groups: [ParameterGroup<Scalar>], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false
    ) throws {
        let defaults = ParameterGroup<Scalar>(
            [], learningRate: learningRate, weightDecay: weightDecay, maximize: maximize, epsilon: epsilon,
            betas: betas, amsgrad: amsgrad)
        core = try OptimizerCore(name: "AdamW", keys: Self.optionKeys, groups: groups, defaults: defaults)
    }

    /// AdamW over one group of `parameters` (for example `model.parameters`).
    public convenience init(
        _ parameters: [Variable<Scalar>], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false
    ) throws {
        try self.init([ParameterGroup(parameters)], learningRate: learningRate, betas: betas, epsilon: epsilon,
                      weightDecay: weightDecay, amsgrad: amsgrad, maximize: maximize)
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
                  update: { Adam.update($0, gradient: $1, state: &$2, options: $3) })
    }

    public func stateDict() -> [String: Tensor<Double>] { core.stateDict() }
    public func loadStateDict(_ dict: [String: Tensor<Double>]) throws { try core.loadStateDict(dict) }
}
