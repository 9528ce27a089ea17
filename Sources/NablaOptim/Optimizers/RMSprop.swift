import NablaTensor

/// RMSprop: gradients divided by a running root-mean-square, optionally centered and with momentum —
/// PyTorch's `torch.optim.RMSprop` (`_single_tensor_rmsprop`), in the same order of operations.
///
/// With learning rate `γ`, smoothing constant `α`, epsilon `ε`, weight decay `λ` and momentum `μ`,
/// each step of a parameter `θ` is (`v`, `ḡ`, `b` start at zero):
///
///     g ← −g                          if maximize
///     g ← g + λ·θ                     if λ ≠ 0
///     v ← α·v + (1 − α)·g²
///     if centered:  ḡ ← lerp(ḡ, g, 1 − α);  d ← √(v − ḡ²) + ε
///     else:         d ← √v + ε
///     if μ > 0:     b ← μ·b + g/d;  θ ← θ − γ·b
///     else:         θ ← θ − γ·g/d
///
/// ε is added outside the square root (the book's RMSProp adds 1e-7 inside it). Defaults:
/// `learningRate` 1e-2, `alpha` 0.99, `epsilon` 1e-8, `weightDecay` 0, `momentum` 0, `centered`
/// false, `maximize` false. State: `step`, `square_avg`, `momentum_buffer` (when `μ > 0`),
/// `grad_avg` (when centered).
///
/// References: Hinton, Srivastava, Swersky, "Neural Networks for Machine Learning", lecture 6e
/// (2012); Graves, "Generating Sequences With Recurrent Neural Networks" (2013) for the centered form.
public final class RMSprop<Scalar: TensorScalar>: Optimizer {
    /// One group's hyper-parameters.
    public struct Options: OptimizerOptions {
        public var learningRate: Double
        public var alpha: Double
        public var epsilon: Double
        public var weightDecay: Double
        public var momentum: Double
        public var centered: Bool
        public var maximize: Bool

        /// Options as given, not validated (the optimizer's initializers validate).
        public init(learningRate: Double = 1e-2, alpha: Double = 0.99, epsilon: Double = 1e-8, weightDecay: Double = 0,
                    momentum: Double = 0, centered: Bool = false, maximize: Bool = false) {
            self.learningRate = learningRate
            self.alpha = alpha
            self.epsilon = epsilon
            self.weightDecay = weightDecay
            self.momentum = momentum
            self.centered = centered
            self.maximize = maximize
        }

        init<S>(_ group: ParameterGroup<S>, index: Int) throws {
            self.init(learningRate: group.learningRate!, alpha: group.alpha!, epsilon: group.epsilon!,
                      weightDecay: group.weightDecay!, momentum: group.momentum!, centered: group.centered!,
                      maximize: group.maximize!)
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: index)
            try HyperparameterCheck.nonNegative(epsilon, "Invalid epsilon value", group: index)
            try HyperparameterCheck.nonNegative(momentum, "Invalid momentum value", group: index)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: index)
            try HyperparameterCheck.nonNegative(alpha, "Invalid alpha value", group: index)
        }
    }

    /// One parameter's state.
    public struct State: OptimizerState {
        /// `step`: the number of updates applied to this parameter.
        public var step: Int
        /// `square_avg`: the running mean of squared gradients.
        public var squareAverage: [Scalar]
        /// `momentum_buffer`, present when momentum > 0.
        public var momentumBuffer: [Scalar]?
        /// `grad_avg`, present when centered.
        public var gradientAverage: [Scalar]?

        /// Zeroed state for `count` elements under `options`, as PyTorch creates it on first use.
        public init(count: Int, options: Options) {
            step = 0
            squareAverage = [Scalar](repeating: 0, count: count)
            momentumBuffer = options.momentum > 0 ? [Scalar](repeating: 0, count: count) : nil
            gradientAverage = options.centered ? [Scalar](repeating: 0, count: count) : nil
        }

        func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            var entries: [(name: String, value: Tensor<Double>)] = [
                ("step", Tensor(Double(step))), ("square_avg", Tensor(shape: shape, scalars: squareAverage.map(Double.init))),
            ]
            if let momentumBuffer { entries.append(("momentum_buffer", Tensor(shape: shape, scalars: momentumBuffer.map(Double.init)))) }
            if let gradientAverage { entries.append(("grad_avg", Tensor(shape: shape, scalars: gradientAverage.map(Double.init)))) }
            return entries
        }

        init(reading reader: inout StateReader<Scalar>, options: Options) throws {
            step = try reader.step()
            squareAverage = try reader.buffer("square_avg")
            momentumBuffer = options.momentum > 0 ? try reader.buffer("momentum_buffer") : nil
            gradientAverage = options.centered ? try reader.buffer("grad_avg") : nil
        }
    }

    /// The update of one parameter, in place (PyTorch's `_single_tensor_rmsprop` for one tensor).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func update(
        _ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
        state: inout State, options: Options
    ) {
        let count = parameter.count
        state.step += 1
        let negativeRate = -Scalar(options.learningRate), decay = Scalar(options.weightDecay)
        let alpha = Scalar(options.alpha), oneMinusAlpha = Scalar(1 - options.alpha), eps = Scalar(options.epsilon)
        let momentum = Scalar(options.momentum), hasMomentum = options.momentum > 0, centered = options.centered
        let sign: Scalar = options.maximize ? -1 : 1
        // Moved out of the state so that writing through them does not copy; empty when unused.
        var momentumBuffer = state.momentumBuffer ?? (hasMomentum ? [Scalar](repeating: 0, count: count) : [])
        var gradientAverage = state.gradientAverage ?? (centered ? [Scalar](repeating: 0, count: count) : [])
        state.momentumBuffer = nil
        state.gradientAverage = nil
        state.squareAverage.withUnsafeMutableBufferPointer { square in
            momentumBuffer.withUnsafeMutableBufferPointer { buffer in
                gradientAverage.withUnsafeMutableBufferPointer { average in
                    forEachChunk(count) { range in
                        // Local copies: the loop then keeps the pointers in registers instead of reloading
                        // them from the closure context after every store, which blocks vectorization.
                        let (parameter, gradient, square, buffer, average) = (parameter, gradient, square, buffer, average)
                        branch(options.weightDecay != 0) { decayed in
                        branch(centered) { centered in
                        branch(hasMomentum) { hasMomentum in
                        branch(abs(oneMinusAlpha) < 0.5) { smallWeight in
                            for i in range {
                                var g = sign * gradient[i]
                                if decayed { g = g + decay * parameter[i] }
                                let v = square[i] * alpha + oneMinusAlpha * g * g
                                square[i] = v
                                var denominator: Scalar
                                if centered {
                                    let mean = lerp(average[i], g, weight: oneMinusAlpha, small: smallWeight)
                                    average[i] = mean
                                    denominator = (v + -1 * mean * mean).squareRoot()
                                } else {
                                    denominator = v.squareRoot()
                                }
                                denominator = denominator + eps
                                if hasMomentum {
                                    let b = buffer[i] * momentum + g / denominator
                                    buffer[i] = b
                                    parameter[i] = parameter[i] + negativeRate * b
                                } else {
                                    parameter[i] = parameter[i] + negativeRate * (g / denominator)
                                }
                            }
                        }}}}
                    }
                }
            }
        }
        if hasMomentum { state.momentumBuffer = momentumBuffer }
        if centered { state.gradientAverage = gradientAverage }
    }

    /// The PyTorch `param_groups` keys of this optimizer.
    static var optionKeys: Set<String> { ["lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"] }

    var core: OptimizerCore<State>

    /// RMSprop over parameter groups; options a group leaves `nil` take these defaults.
    /// - Throws: ``NablaError`` for a negative learning rate, alpha, epsilon, momentum or weight
    ///   decay, an empty parameter list, or an option RMSprop does not use.
    public init(
        _ groups: [ParameterGroup<Scalar>], learningRate: Double = 1e-2, alpha: Double = 0.99, epsilon: Double = 1e-8,
        weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false, maximize: Bool = false
    ) throws {
        let defaults = ParameterGroup<Scalar>(
            [], learningRate: learningRate, weightDecay: weightDecay, momentum: momentum, maximize: maximize,
            epsilon: epsilon, alpha: alpha, centered: centered)
        core = try OptimizerCore(name: "RMSprop", keys: Self.optionKeys, groups: groups, defaults: defaults)
    }

    /// RMSprop over one group of `parameters` (for example `model.parameters`).
    public convenience init(
        _ parameters: [Variable<Scalar>], learningRate: Double = 1e-2, alpha: Double = 0.99, epsilon: Double = 1e-8,
        weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false, maximize: Bool = false
    ) throws {
        try self.init([ParameterGroup(parameters)], learningRate: learningRate, alpha: alpha, epsilon: epsilon,
                      weightDecay: weightDecay, momentum: momentum, centered: centered, maximize: maximize)
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
