import NablaTensor

/// Lion ("EvoLved Sign Momentum"): a step of fixed size per element in the direction of the sign of
/// an interpolated momentum, with decoupled weight decay — Chen et al. 2023, Algorithm 2, in its
/// order of operations (PyTorch has no Lion; the state follows timm's and lucidrains' `exp_avg`).
///
/// With learning rate `γ`, betas `(β₁, β₂)` and weight decay `λ`, each step of a parameter `θ` is
/// (`m` starts at zero):
///
///     c ← β₁·m + (1 − β₁)·g
///     θ ← θ − γ·(sign(c) + λ·θ)          sign(0) = 0
///     m ← β₂·m + (1 − β₂)·g
///
/// There is no bias correction and no `maximize`. The paper recommends a learning rate 3–10× smaller
/// and a weight decay 3–10× larger than AdamW's. Defaults (the paper's): `learningRate` 1e-4,
/// `betas` (0.9, 0.99), `weightDecay` 0. State: `exp_avg` (m), no `step`.
///
/// Reference: Chen et al., "Symbolic Discovery of Optimization Algorithms" (NeurIPS 2023).
public final class Lion<Scalar: TensorScalar>: PerParameterOptimizer {
    /// The name the registry knows it by.
    public static var name: String { "lion" }
    /// The name in messages.
    public static var displayName: String { "Lion" }
    /// One line for `--help`, with the paper.
    public static var summary: String { "the sign of an interpolated momentum, decoupled weight decay (Chen et al., NeurIPS 2023)" }

    /// One group's hyper-parameters, under the keys of the reference implementations.
    public struct Options: OptimizerOptions {
        /// `lr`, γ.
        public var learningRate: Double
        /// `betas`, (β₁, β₂): β₁ interpolates the update direction, β₂ decays the momentum.
        public var betas: HyperparameterPair
        /// `weight_decay`, λ (decoupled: `θ ← θ − γλθ`).
        public var weightDecay: Double

        enum CodingKeys: String, CodingKey { case learningRate = "lr", betas, weightDecay = "weight_decay" }

        /// The paper's defaults.
        public init() { self.init(learningRate: 1e-4) }

        /// Options as given, not validated (the optimizer validates).
        public init(learningRate: Double = 1e-4, betas: (Double, Double) = (0.9, 0.99), weightDecay: Double = 0) {
            self.learningRate = learningRate
            self.betas = HyperparameterPair(betas.0, betas.1)
            self.weightDecay = weightDecay
        }

        /// PyTorch-worded checks: non-negative `lr` and `weight_decay`, betas in `[0, 1)`.
        public func validate(group: Int) throws {
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: group)
            try HyperparameterCheck.beta(betas.first, index: 0, group: group)
            try HyperparameterCheck.beta(betas.second, index: 1, group: group)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: group)
        }
    }

    /// One parameter's state.
    public struct State: OptimizerState {
        /// `exp_avg`: the momentum m.
        public var exponentialAverage: [Scalar]

        /// The state as `state.<i>.exp_avg`.
        public func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            [("exp_avg", Tensor(shape: shape, scalars: exponentialAverage.map(Double.init)))]
        }
    }

    /// Zeroed momentum.
    public static func makeState(count: Int, options: Options) -> State { State(exponentialAverage: Array(repeating: 0, count: count)) }

    /// The state ``State/entries(shape:)`` wrote, read back.
    public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        State(exponentialAverage: try reader.buffer("exp_avg"))
    }

    /// The update of one parameter, in place.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func update(
        _ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
        state: inout State, options: Options
    ) {
        let rate = Scalar(options.learningRate), decay = Scalar(options.weightDecay)
        let (beta1, beta2) = (options.betas.first, options.betas.second)
        let b1 = Scalar(beta1), w1 = Scalar(1 - beta1), b2 = Scalar(beta2), w2 = Scalar(1 - beta2)
        state.exponentialAverage.withUnsafeMutableBufferPointer { m in
            for i in 0..<parameter.count {
                let g = gradient[i]
                let c = b1 * m[i] + w1 * g
                let sign: Scalar = c > 0 ? 1 : (c < 0 ? -1 : 0)
                parameter[i] = parameter[i] - rate * (sign + decay * parameter[i])
                m[i] = b2 * m[i] + w2 * g
            }
        }
    }

    /// The groups, their resolved options and the per-parameter states.
    public let core: OptimizerCore<Options, State>

    /// Lion over parameter groups, whose hyper-parameters override `options`.
    /// - Throws: ``NablaError`` for a negative learning rate or weight decay, betas outside `[0, 1)`,
    ///   an empty parameter list, or an option Lion does not use.
    public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }

    /// Lion over one group of `parameters` (for example `model.parameters`).
    public convenience init(_ parameters: [Variable<Scalar>], learningRate: Double = 1e-4,
                            betas: (Double, Double) = (0.9, 0.99), weightDecay: Double = 0) throws {
        try self.init([ParameterGroup(parameters)], options: Options(learningRate: learningRate, betas: betas, weightDecay: weightDecay))
    }
}
