import NablaTensor
import NablaOptim

/// A sign-momentum optimizer (the update of Lion, Chen et al. 2023, which Nabla ships as ``Lion``),
/// written outside Nabla against its public API only — the one file an optimizer takes;
/// `OptimizerRegistry.register(SignumTest<Float>.self)` makes it selectable as `signum-test`. For each parameter θ with gradient g, learning rate γ, betas (β₁, β₂), weight decay λ:
///
///     θ ← θ·(1 − γλ)
///     θ ← θ − γ·sign(β₁·m + (1 − β₁)·g)
///     m ← β₂·m + (1 − β₂)·g
///
/// Defaults: `lr` 1e-4, `betas` (0.9, 0.99), `weight_decay` 0. State: `exp_avg` (m).
///
/// Reference: Chen et al., "Symbolic Discovery of Optimization Algorithms" (NeurIPS 2023).
final class SignumTest<Scalar: TensorScalar>: PerParameterOptimizer {
    static var name: String { "signum-test" }
    static var displayName: String { "SignumTest" }
    static var summary: String { "the sign of an interpolated momentum (Chen et al., NeurIPS 2023)" }

    struct Options: OptimizerOptions {
        var learningRate = 1e-4
        var betas = HyperparameterPair(0.9, 0.99)
        var weightDecay = 0.0

        enum CodingKeys: String, CodingKey { case learningRate = "lr", betas, weightDecay = "weight_decay" }

        init() {}

        func validate(group: Int) throws {
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: group)
            try HyperparameterCheck.beta(betas.first, index: 0, group: group)
            try HyperparameterCheck.beta(betas.second, index: 1, group: group)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: group)
        }
    }

    struct State: OptimizerState {
        var exponentialAverage: [Scalar]

        func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            [("exp_avg", Tensor(shape: shape, scalars: exponentialAverage.map(Double.init)))]
        }
    }

    let core: OptimizerCore<Options, State>

    init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }

    static func makeState(count: Int, options: Options) -> State { State(exponentialAverage: Array(repeating: 0, count: count)) }

    static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        State(exponentialAverage: try reader.buffer("exp_avg"))
    }

    static func update(_ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
                       state: inout State, options: Options) {
        let rate = Scalar(options.learningRate), shrink = Scalar(1 - options.learningRate * options.weightDecay)
        let (beta1, beta2) = (Scalar(options.betas.first), Scalar(options.betas.second))
        for i in 0..<parameter.count {
            let m = state.exponentialAverage[i], g = gradient[i]
            let c = beta1 * m + (1 - beta1) * g
            let sign: Scalar = c > 0 ? 1 : (c < 0 ? -1 : 0)
            parameter[i] = parameter[i] * shrink - rate * sign
            state.exponentialAverage[i] = beta2 * m + (1 - beta2) * g
        }
    }
}
