import Foundation
import NablaTensor

/// Adagrad: per-coordinate learning rates that shrink with the accumulated squared gradients —
/// PyTorch's `torch.optim.Adagrad` (`_single_tensor_adagrad`, dense gradients), in the same order.
///
/// With learning rate `γ`, learning-rate decay `η`, weight decay `λ`, epsilon `ε`, and a sum `s`
/// that starts at `initialAccumulatorValue`, step `t = 1, 2, …` of each parameter `θ` is:
///
///     g ← −g                          if maximize
///     g ← g + λ·θ                     if λ ≠ 0
///     γ̃ ← γ / (1 + (t − 1)·η)
///     s ← s + g²
///     θ ← θ − γ̃ · g / (√s + ε)
///
/// Unlike the book's AdaGrad (`h ← h + g²; θ ← θ − γ·g/√(h + 1e-7)`), ε is added outside the square
/// root and defaults to 1e-10. Defaults: `learningRate` 1e-2, `learningRateDecay` 0, `weightDecay` 0,
/// `initialAccumulatorValue` 0, `epsilon` 1e-10, `maximize` false. State: `step`, `sum` — created for
/// every parameter at construction, as PyTorch does.
///
/// Reference: Duchi, Hazan, Singer, "Adaptive Subgradient Methods for Online Learning and Stochastic
/// Optimization" (JMLR 2011).
public final class Adagrad<Scalar: TensorScalar>: PerParameterOptimizer {
    /// The name the registry knows it by.
    public static var name: String { "adagrad" }
    /// The name in messages, PyTorch's class name.
    public static var displayName: String { "Adagrad" }
    /// One line for `--help`, with the paper.
    public static var summary: String {
        "per-coordinate learning rates shrinking with the accumulated squared gradients (Duchi, Hazan, Singer, JMLR 2011)"
    }

    /// One group's hyper-parameters, under PyTorch's `param_groups` keys.
    public struct Options: OptimizerOptions {
        /// `lr`, γ.
        public var learningRate: Double
        /// `lr_decay`, η.
        public var learningRateDecay: Double
        /// `weight_decay`, λ (coupled).
        public var weightDecay: Double
        /// `initial_accumulator_value`: where the sum `s` starts.
        public var initialAccumulatorValue: Double
        /// `eps`, ε.
        public var epsilon: Double
        /// `maximize`: ascend instead of descend.
        public var maximize: Bool

        enum CodingKeys: String, CodingKey {
            case learningRate = "lr", learningRateDecay = "lr_decay", weightDecay = "weight_decay"
            case initialAccumulatorValue = "initial_accumulator_value", epsilon = "eps", maximize
        }

        /// PyTorch's defaults.
        public init() { self.init(learningRate: 1e-2) }

        /// Options as given, not validated (the optimizer validates).
        public init(learningRate: Double = 1e-2, learningRateDecay: Double = 0, weightDecay: Double = 0,
                    initialAccumulatorValue: Double = 0, epsilon: Double = 1e-10, maximize: Bool = false) {
            self.learningRate = learningRate
            self.learningRateDecay = learningRateDecay
            self.weightDecay = weightDecay
            self.initialAccumulatorValue = initialAccumulatorValue
            self.epsilon = epsilon
            self.maximize = maximize
        }

        /// PyTorch's checks: every value non-negative.
        public func validate(group: Int) throws {
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: group)
            try HyperparameterCheck.nonNegative(learningRateDecay, "Invalid lr_decay value", group: group)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: group)
            try HyperparameterCheck.nonNegative(initialAccumulatorValue, "Invalid initial_accumulator_value value", group: group)
            try HyperparameterCheck.nonNegative(epsilon, "Invalid epsilon value", group: group)
        }
    }

    /// One parameter's state.
    public struct State: OptimizerState {
        /// `step`: the number of updates applied to this parameter.
        public var step: Int
        /// `sum`: the accumulated squared gradients (plus the initial value).
        public var sum: [Scalar]

        /// The state from its parts.
        public init(step: Int, sum: [Scalar]) {
            self.step = step
            self.sum = sum
        }

        /// The state under PyTorch's names, as `state.<i>.<name>` entries.
        public func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            [("step", Tensor(Double(step))), ("sum", Tensor(shape: shape, scalars: sum.map(Double.init)))]
        }
    }

    /// Step 0 with the sum at `initial_accumulator_value`.
    public static func makeState(count: Int, options: Options) -> State {
        State(step: 0, sum: [Scalar](repeating: Scalar(options.initialAccumulatorValue), count: count))
    }

    /// The state ``State/entries(shape:)`` wrote under `options`, read back.
    public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        State(step: try reader.step(), sum: try reader.buffer("sum"))
    }

    /// The update of one parameter, in place (PyTorch's `_single_tensor_adagrad` for one tensor).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func update(
        _ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
        state: inout State, options: Options
    ) {
        state.step += 1
        let decayedRate = options.learningRate / (1 + Double(state.step - 1) * options.learningRateDecay)
        let negativeRate = Scalar(-decayedRate), decay = Scalar(options.weightDecay), eps = Scalar(options.epsilon)
        let sign: Scalar = options.maximize ? -1 : 1
        let count = parameter.count
        state.sum.withUnsafeMutableBufferPointer { sum in
            forEachChunk(count) { range in
                // Local copies: the loop then keeps the pointers in registers instead of reloading
                // them from the closure context after every store, which blocks vectorization.
                let (parameter, gradient, sum) = (parameter, gradient, sum)
                branch(options.weightDecay != 0) { decayed in
                    for i in range {
                        var g = sign * gradient[i]
                        if decayed { g = g + decay * parameter[i] }
                        let s = sum[i] + g * g
                        sum[i] = s
                        parameter[i] = parameter[i] + negativeRate * (g / (s.squareRoot() + eps))
                    }
                }
            }
        }
    }

    /// The groups, their resolved options and the per-parameter states.
    public let core: OptimizerCore<Options, State>

    /// Adagrad over parameter groups, whose hyper-parameters override `options`; every
    /// parameter's state is created now, as PyTorch does.
    /// - Throws: ``/NablaTensor/NablaError`` for a negative learning rate, learning-rate decay, weight decay,
    ///   initial accumulator value or epsilon, an empty parameter list, or an option Adagrad does not use.
    public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
        core.initializeStates { Self.makeState(count: $0, options: $1) }
    }

    /// Adagrad over parameter groups; options a group does not set take these values.
    public convenience init(
        _ groups: [ParameterGroup<Scalar>], learningRate: Double = 1e-2, learningRateDecay: Double = 0,
        weightDecay: Double = 0, initialAccumulatorValue: Double = 0, epsilon: Double = 1e-10, maximize: Bool = false
    ) throws {
        try self.init(groups, options: Options(learningRate: learningRate, learningRateDecay: learningRateDecay,
                                               weightDecay: weightDecay, initialAccumulatorValue: initialAccumulatorValue,
                                               epsilon: epsilon, maximize: maximize))
    }

    /// Adagrad over one group of `parameters` (for example `model.parameters`).
    public convenience init(
        _ parameters: [Variable<Scalar>], learningRate: Double = 1e-2, learningRateDecay: Double = 0,
        weightDecay: Double = 0, initialAccumulatorValue: Double = 0, epsilon: Double = 1e-10, maximize: Bool = false
    ) throws {
        try self.init([ParameterGroup(parameters)], learningRate: learningRate, learningRateDecay: learningRateDecay,
                      weightDecay: weightDecay, initialAccumulatorValue: initialAccumulatorValue, epsilon: epsilon,
                      maximize: maximize)
    }
}
