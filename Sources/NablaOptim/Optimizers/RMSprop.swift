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
public final class RMSprop<Scalar: TensorScalar>: PerParameterOptimizer {
    /// The name the registry knows it by.
    public static var name: String { "rmsprop" }
    /// The name in messages, PyTorch's class name.
    public static var displayName: String { "RMSprop" }
    /// One line for `--help`, with the paper.
    public static var summary: String {
        "gradients divided by a running root-mean-square, optionally centered and with momentum (Hinton, lecture 6e 2012; Graves 2013)"
    }

    /// One group's hyper-parameters, under PyTorch's `param_groups` keys.
    public struct Options: OptimizerOptions {
        /// `lr`, γ.
        public var learningRate: Double
        /// `alpha`, the smoothing constant α.
        public var alpha: Double
        /// `eps`, ε.
        public var epsilon: Double
        /// `weight_decay`, λ (coupled).
        public var weightDecay: Double
        /// `momentum`, μ.
        public var momentum: Double
        /// `centered`: divide by the running standard deviation instead of the root-mean-square.
        public var centered: Bool
        /// `maximize`: ascend instead of descend.
        public var maximize: Bool

        enum CodingKeys: String, CodingKey {
            case learningRate = "lr", alpha, epsilon = "eps", weightDecay = "weight_decay", momentum, centered, maximize
        }

        /// PyTorch's defaults.
        public init() { self.init(learningRate: 1e-2) }

        /// Options as given, not validated (the optimizer validates).
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

        /// PyTorch's checks: every number non-negative.
        public func validate(group: Int) throws {
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: group)
            try HyperparameterCheck.nonNegative(epsilon, "Invalid epsilon value", group: group)
            try HyperparameterCheck.nonNegative(momentum, "Invalid momentum value", group: group)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: group)
            try HyperparameterCheck.nonNegative(alpha, "Invalid alpha value", group: group)
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

        /// The state from its parts.
        public init(step: Int, squareAverage: [Scalar], momentumBuffer: [Scalar]?, gradientAverage: [Scalar]?) {
            self.step = step
            self.squareAverage = squareAverage
            self.momentumBuffer = momentumBuffer
            self.gradientAverage = gradientAverage
        }

        /// The state under PyTorch's names, as `state.<i>.<name>` entries.
        public func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            var entries: [(name: String, value: Tensor<Double>)] = [
                ("step", Tensor(Double(step))), ("square_avg", Tensor(shape: shape, scalars: squareAverage.map(Double.init))),
            ]
            if let momentumBuffer { entries.append(("momentum_buffer", Tensor(shape: shape, scalars: momentumBuffer.map(Double.init)))) }
            if let gradientAverage { entries.append(("grad_avg", Tensor(shape: shape, scalars: gradientAverage.map(Double.init)))) }
            return entries
        }
    }

    /// A parameter's state before its first update, as PyTorch creates it.
    public static func makeState(count: Int, options: Options) -> State { State(count: count, options: options) }

    /// The state ``State/entries(shape:)`` wrote under `options`, read back.
    public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        State(step: try reader.step(), squareAverage: try reader.buffer("square_avg"),
              momentumBuffer: options.momentum > 0 ? try reader.buffer("momentum_buffer") : nil,
              gradientAverage: options.centered ? try reader.buffer("grad_avg") : nil)
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

    /// The groups, their resolved options and the per-parameter states.
    public let core: OptimizerCore<Options, State>

    /// RMSprop over parameter groups, whose hyper-parameters override `options`.
    /// - Throws: ``/NablaTensor/NablaError`` for a negative learning rate, alpha, epsilon, momentum or weight
    ///   decay, an empty parameter list, or an option RMSprop does not use.
    public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }

    /// RMSprop over parameter groups; options a group does not set take these values.
    public convenience init(
        _ groups: [ParameterGroup<Scalar>], learningRate: Double = 1e-2, alpha: Double = 0.99, epsilon: Double = 1e-8,
        weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false, maximize: Bool = false
    ) throws {
        try self.init(groups, options: Options(learningRate: learningRate, alpha: alpha, epsilon: epsilon,
                                               weightDecay: weightDecay, momentum: momentum, centered: centered,
                                               maximize: maximize))
    }

    /// RMSprop over one group of `parameters` (for example `model.parameters`).
    public convenience init(
        _ parameters: [Variable<Scalar>], learningRate: Double = 1e-2, alpha: Double = 0.99, epsilon: Double = 1e-8,
        weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false, maximize: Bool = false
    ) throws {
        try self.init([ParameterGroup(parameters)], learningRate: learningRate, alpha: alpha, epsilon: epsilon,
                      weightDecay: weightDecay, momentum: momentum, centered: centered, maximize: maximize)
    }
}
