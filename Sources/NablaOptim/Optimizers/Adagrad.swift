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
public final class Adagrad<Scalar: TensorScalar>: Optimizer {
    /// One group's hyper-parameters.
    public struct Options: OptimizerOptions {
        public var learningRate: Double
        public var learningRateDecay: Double
        public var weightDecay: Double
        public var initialAccumulatorValue: Double
        public var epsilon: Double
        public var maximize: Bool

        /// Options as given, not validated (the optimizer's initializers validate).
        public init(learningRate: Double = 1e-2, learningRateDecay: Double = 0, weightDecay: Double = 0,
                    initialAccumulatorValue: Double = 0, epsilon: Double = 1e-10, maximize: Bool = false) {
            self.learningRate = learningRate
            self.learningRateDecay = learningRateDecay
            self.weightDecay = weightDecay
            self.initialAccumulatorValue = initialAccumulatorValue
            self.epsilon = epsilon
            self.maximize = maximize
        }

        init<S>(_ group: ParameterGroup<S>, index: Int) throws {
            self.init(learningRate: group.learningRate!, learningRateDecay: group.learningRateDecay!,
                      weightDecay: group.weightDecay!, initialAccumulatorValue: group.initialAccumulatorValue!,
                      epsilon: group.epsilon!, maximize: group.maximize!)
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: index)
            try HyperparameterCheck.nonNegative(learningRateDecay, "Invalid lr_decay value", group: index)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: index)
            try HyperparameterCheck.nonNegative(initialAccumulatorValue, "Invalid initial_accumulator_value value", group: index)
            try HyperparameterCheck.nonNegative(epsilon, "Invalid epsilon value", group: index)
        }
    }

    /// One parameter's state.
    public struct State: OptimizerState {
        /// `step`: the number of updates applied to this parameter.
        public var step: Int
        /// `sum`: the accumulated squared gradients (plus the initial value).
        public var sum: [Scalar]

        public init(step: Int, sum: [Scalar]) {
            self.step = step
            self.sum = sum
        }

        func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            [("step", Tensor(Double(step))), ("sum", Tensor(shape: shape, scalars: sum.map(Double.init)))]
        }

        init(reading reader: inout StateReader<Scalar>, options: Options) throws {
            step = try reader.step()
            sum = try reader.buffer("sum")
        }
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

    /// The PyTorch `param_groups` keys of this optimizer.
    static var optionKeys: Set<String> { ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"] }

    var core: OptimizerCore<State>

    /// Adagrad over parameter groups; options a group leaves `nil` take these defaults.
    /// - Throws: ``NablaError`` for a negative learning rate, learning-rate decay, weight decay,
    ///   initial accumulator value or epsilon, an empty parameter list, or an option Adagrad does not use.
    public init(
        _ groups: [ParameterGroup<Scalar>], learningRate: Double = 1e-2, learningRateDecay: Double = 0,
        weightDecay: Double = 0, initialAccumulatorValue: Double = 0, epsilon: Double = 1e-10, maximize: Bool = false
    ) throws {
        let defaults = ParameterGroup<Scalar>(
            [], learningRate: learningRate, weightDecay: weightDecay, maximize: maximize, epsilon: epsilon,
            learningRateDecay: learningRateDecay, initialAccumulatorValue: initialAccumulatorValue)
        core = try OptimizerCore(name: "Adagrad", keys: Self.optionKeys, groups: groups, defaults: defaults)
        core.initializeStates { options, count in
            State(step: 0, sum: [Scalar](repeating: Scalar(options.initialAccumulatorValue), count: count))
        }
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

    public var parameterGroups: [ParameterGroup<Scalar>] { core.groups }
    public var learningRates: [Double] {
        get { core.learningRates }
        set { core.learningRates = newValue }
    }
    public var initialLearningRates: [Double?] {
        get { core.initialLearningRates }
        set { core.initialLearningRates = newValue }
    }
    /// The state of the `index`-th parameter across groups.
    public func state(ofParameter index: Int) -> State? { core.states[index] }

    public func step() {
        core.step(makeState: { options, count in
            State(step: 0, sum: [Scalar](repeating: Scalar(options.initialAccumulatorValue), count: count))
        }, update: { Self.update($0, gradient: $1, state: &$2, options: $3) })
    }

    public func stateDict() -> [String: Tensor<Double>] { core.stateDict() }
    public func loadStateDict(_ dict: [String: Tensor<Double>]) throws { try core.loadStateDict(dict) }
}
