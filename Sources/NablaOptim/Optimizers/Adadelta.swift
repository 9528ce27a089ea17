import NablaTensor

/// Adadelta: a per-element step size from the ratio of two running root-mean-squares, of the past
/// updates and of the gradients — PyTorch's `torch.optim.Adadelta` (`_single_tensor_adadelta`),
/// in the same order of operations.
///
/// With learning rate `γ`, decay `ρ`, epsilon `ε` and weight decay `λ`, each step of a parameter
/// `θ` is (`v` and `u` start at zero):
///
///     g ← −g                                  if maximize
///     g ← g + λ·θ                             if λ ≠ 0
///     v ← ρ·v + (1 − ρ)·g²
///     Δ ← √(u + ε) / √(v + ε) · g             ε inside both square roots
///     u ← ρ·u + (1 − ρ)·Δ²                    with the new Δ
///     θ ← θ − γ·Δ
///
/// The first steps move by about `γ·√ε/√v`, which is why `γ` defaults to 1. Defaults:
/// `learningRate` 1.0, `rho` 0.9, `epsilon` 1e-6, `weightDecay` 0, `maximize` false. State: `step`,
/// `square_avg` (v), `acc_delta` (u).
///
/// Reference: Zeiler, "ADADELTA: An Adaptive Learning Rate Method" (arXiv:1212.5701, 2012).
public final class Adadelta<Scalar: TensorScalar>: PerParameterOptimizer {
    /// The name the registry knows it by.
    public static var name: String { "adadelta" }
    /// The name in messages, PyTorch's class name.
    public static var displayName: String { "Adadelta" }
    /// One line for `--help`, with the paper.
    public static var summary: String {
        "step sizes from running RMS of past updates over running RMS of gradients (Zeiler 2012)"
    }

    /// One group's hyper-parameters, under PyTorch's `param_groups` keys.
    public struct Options: OptimizerOptions {
        /// `lr`, γ.
        public var learningRate: Double
        /// `rho`, ρ: the decay of both running averages.
        public var rho: Double
        /// `eps`, ε.
        public var epsilon: Double
        /// `weight_decay`, λ (coupled: `g ← g + λ·θ`).
        public var weightDecay: Double
        /// `maximize`: ascend instead of descend.
        public var maximize: Bool

        enum CodingKeys: String, CodingKey {
            case learningRate = "lr", rho, epsilon = "eps", weightDecay = "weight_decay", maximize
        }

        /// PyTorch's defaults.
        public init() { self.init(learningRate: 1.0) }

        /// Options as given, not validated (the optimizer validates).
        public init(learningRate: Double = 1.0, rho: Double = 0.9, epsilon: Double = 1e-6, weightDecay: Double = 0,
                    maximize: Bool = false) {
            self.learningRate = learningRate
            self.rho = rho
            self.epsilon = epsilon
            self.weightDecay = weightDecay
            self.maximize = maximize
        }

        /// PyTorch's checks: non-negative `lr`, `eps`, `weight_decay`; `rho` in `[0, 1]`.
        public func validate(group: Int) throws {
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: group)
            try HyperparameterCheck.unitInterval(rho, "Invalid rho value", group: group)
            try HyperparameterCheck.nonNegative(epsilon, "Invalid epsilon value", group: group)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: group)
        }
    }

    /// One parameter's state.
    public struct State: OptimizerState {
        /// `step`: the number of updates applied to this parameter.
        public var step = 0
        /// `square_avg`: the running average of squared gradients, v.
        public var squareAverage: [Scalar]
        /// `acc_delta`: the running average of squared updates, u.
        public var accumulatedDelta: [Scalar]

        /// The state under PyTorch's names, as `state.<i>.<name>` entries.
        public func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            [("step", Tensor(Double(step))),
             ("square_avg", Tensor(shape: shape, scalars: squareAverage.map(Double.init))),
             ("acc_delta", Tensor(shape: shape, scalars: accumulatedDelta.map(Double.init)))]
        }
    }

    /// Zeroed state, as PyTorch creates it on the first step.
    public static func makeState(count: Int, options: Options) -> State {
        State(squareAverage: Array(repeating: 0, count: count), accumulatedDelta: Array(repeating: 0, count: count))
    }

    /// The state ``State/entries(shape:)`` wrote, read back.
    public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        State(step: try reader.step(), squareAverage: try reader.buffer("square_avg"),
              accumulatedDelta: try reader.buffer("acc_delta"))
    }

    /// The update of one parameter, in place (PyTorch's `_single_tensor_adadelta` for one tensor).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func update(
        _ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
        state: inout State, options: Options
    ) {
        state.step += 1
        let rho = Scalar(options.rho), weight = Scalar(1 - options.rho), eps = Scalar(options.epsilon)
        let decay = Scalar(options.weightDecay), negativeRate = Scalar(-options.learningRate)
        let sign: Scalar = options.maximize ? -1 : 1, decayed = options.weightDecay != 0
        state.squareAverage.withUnsafeMutableBufferPointer { v in
            state.accumulatedDelta.withUnsafeMutableBufferPointer { u in
                for i in 0..<parameter.count {
                    var g = sign * gradient[i]
                    if decayed { g = g + decay * parameter[i] }
                    v[i] = v[i] * rho + (weight * g) * g
                    let delta = ((u[i] + eps).squareRoot() / (v[i] + eps).squareRoot()) * g
                    u[i] = u[i] * rho + (weight * delta) * delta
                    parameter[i] = parameter[i] + negativeRate * delta
                }
            }
        }
    }

    /// The groups, their resolved options and the per-parameter states.
    public let core: OptimizerCore<Options, State>

    /// Adadelta over parameter groups, whose hyper-parameters override `options`.
    /// - Throws: ``NablaError`` for a negative learning rate, epsilon or weight decay, `rho` outside
    ///   `[0, 1]`, an empty parameter list, or an option Adadelta does not use.
    public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }

    /// Adadelta over one group of `parameters` (for example `model.parameters`).
    public convenience init(_ parameters: [Variable<Scalar>], learningRate: Double = 1.0, rho: Double = 0.9,
                            epsilon: Double = 1e-6, weightDecay: Double = 0, maximize: Bool = false) throws {
        try self.init([ParameterGroup(parameters)], options: Options(learningRate: learningRate, rho: rho, epsilon: epsilon,
                                                                     weightDecay: weightDecay, maximize: maximize))
    }
}
