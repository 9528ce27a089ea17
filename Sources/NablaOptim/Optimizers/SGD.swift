import NablaTensor

/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and coupled
/// weight decay — PyTorch's `torch.optim.SGD` (`_single_tensor_sgd`), in the same order of operations.
///
/// For each parameter `θ` with gradient `g`, learning rate `γ`, momentum `μ`, dampening `τ` and
/// weight decay `λ`:
///
///     g ← −g                          if maximize
///     g ← g + λ·θ                     if λ ≠ 0
///     if μ ≠ 0:
///         b ← g                       on the first step (the buffer is a copy of g, not zero)
///         b ← μ·b + (1 − τ)·g         afterwards
///         g ← g + μ·b                 if nesterov, else g ← b
///     θ ← θ − γ·g
///
/// Defaults: `learningRate` 1e-3, `momentum` 0, `dampening` 0, `weightDecay` 0, `nesterov` false,
/// `maximize` false. State: `momentum_buffer` (only when `μ ≠ 0`).
///
/// This is the momentum of Sutskever et al. (2013) rewritten as PyTorch does: the book's form
/// `v ← μ·v − γ·g; θ ← θ + v` keeps `v = −γ·b`, so the two give the same trajectory while the
/// learning rate is constant and differ when a schedule changes it (PyTorch's buffer does not carry
/// the old learning rate). Nesterov momentum follows Sutskever et al.'s reformulation.
///
/// References: Polyak, "Some methods of speeding up the convergence of iteration methods" (1964);
/// Sutskever, Martens, Dahl, Hinton, "On the importance of initialization and momentum in deep
/// learning" (ICML 2013).
public final class SGD<Scalar: TensorScalar>: PerParameterOptimizer {
    /// The name the registry knows it by.
    public static var name: String { "sgd" }
    /// The name in messages, PyTorch's class name.
    public static var displayName: String { "SGD" }
    /// One line for `--help`, with the paper.
    public static var summary: String {
        "stochastic gradient descent with optional momentum, Nesterov momentum and coupled weight decay (Polyak 1964; Sutskever et al., ICML 2013)"
    }

    /// One group's hyper-parameters, under PyTorch's `param_groups` keys.
    public struct Options: OptimizerOptions {
        /// `lr`, γ.
        public var learningRate: Double
        /// `momentum`, μ.
        public var momentum: Double
        /// `dampening`, τ.
        public var dampening: Double
        /// `weight_decay`, λ (coupled: `g ← g + λ·θ`).
        public var weightDecay: Double
        /// `nesterov`.
        public var nesterov: Bool
        /// `maximize`: ascend instead of descend.
        public var maximize: Bool

        enum CodingKeys: String, CodingKey {
            case learningRate = "lr", momentum, dampening, weightDecay = "weight_decay", nesterov, maximize
        }

        /// PyTorch's defaults.
        public init() { self.init(learningRate: 1e-3) }

        /// Options as given, not validated (the optimizer validates).
        public init(learningRate: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
                    weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false) {
            self.learningRate = learningRate
            self.momentum = momentum
            self.dampening = dampening
            self.weightDecay = weightDecay
            self.nesterov = nesterov
            self.maximize = maximize
        }

        /// PyTorch's checks: non-negative `lr`, `momentum`, `weight_decay`; finite `dampening`;
        /// Nesterov only with momentum and without dampening.
        public func validate(group: Int) throws {
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: group)
            try HyperparameterCheck.nonNegative(momentum, "Invalid momentum value", group: group)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: group)
            guard dampening.isFinite else {
                throw NablaError(.invalidArgument, "Invalid dampening value: \(dampening)\(HyperparameterCheck.location(group))")
            }
            if nesterov && (momentum <= 0 || dampening != 0) {
                throw NablaError(.invalidArgument, "Nesterov momentum requires a momentum and zero dampening, "
                                 + "got momentum \(momentum) and dampening \(dampening)\(HyperparameterCheck.location(group))")
            }
        }
    }

    /// One parameter's state.
    public struct State: OptimizerState {
        /// `momentum_buffer`; `nil` until the first step with momentum.
        public var momentumBuffer: [Scalar]?

        /// The state under PyTorch's names, as `state.<i>.<name>` entries.
        public func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            momentumBuffer.map { [("momentum_buffer", Tensor(shape: shape, scalars: $0.map(Double.init)))] } ?? []
        }

        /// The state from its buffer.
        public init(momentumBuffer: [Scalar]? = nil) { self.momentumBuffer = momentumBuffer }
    }

    /// A parameter's state before its first update, as PyTorch creates it.
    public static func makeState(count: Int, options: Options) -> State { State() }

    /// The state ``State/entries(shape:)`` wrote under `options`, read back.
    public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        State(momentumBuffer: options.momentum != 0 ? try reader.buffer("momentum_buffer") : nil)
    }

    /// The update of one parameter, in place (PyTorch's `_single_tensor_sgd` for one tensor).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func update(
        _ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
        state: inout State, options: Options
    ) {
        let count = parameter.count
        let negativeRate = -Scalar(options.learningRate), decay = Scalar(options.weightDecay)
        let momentum = Scalar(options.momentum), keep = Scalar(1 - options.dampening)
        let sign: Scalar = options.maximize ? -1 : 1
        let hasMomentum = options.momentum != 0
        let isFirst = hasMomentum && state.momentumBuffer == nil
        var buffer = state.momentumBuffer ?? (isFirst ? [Scalar](repeating: 0, count: count) : [])
        state.momentumBuffer = nil   // moved out, so writing through the buffer does not copy it
        buffer.withUnsafeMutableBufferPointer { buffer in
            forEachChunk(count) { range in
                // Local copies: the loop then keeps the pointers in registers instead of reloading
                // them from the closure context after every store, which blocks vectorization.
                let (parameter, gradient, buffer) = (parameter, gradient, buffer)
                branch(options.weightDecay != 0) { decayed in
                branch(hasMomentum) { hasMomentum in
                branch(isFirst) { isFirst in
                branch(options.nesterov) { nesterov in
                    for i in range {
                        var g = sign * gradient[i]
                        if decayed { g = g + decay * parameter[i] }
                        if hasMomentum {
                            let b = isFirst ? g : buffer[i] * momentum + keep * g
                            buffer[i] = b
                            g = nesterov ? g + momentum * b : b
                        }
                        parameter[i] = parameter[i] + negativeRate * g
                    }
                }}}}
            }
        }
        if hasMomentum { state.momentumBuffer = buffer }
    }

    /// The groups, their resolved options and the per-parameter states.
    public let core: OptimizerCore<Options, State>

    /// SGD over parameter groups, whose hyper-parameters override `options`.
    /// - Throws: ``/NablaTensor/NablaError`` for a negative learning rate, momentum or weight decay, Nesterov
    ///   without momentum or with dampening, an empty parameter list, or an option SGD does not use.
    public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }

    /// SGD over parameter groups; options a group does not set take these values.
    public convenience init(
        _ groups: [ParameterGroup<Scalar>], learningRate: Double = 1e-3, momentum: Double = 0,
        dampening: Double = 0, weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false
    ) throws {
        try self.init(groups, options: Options(learningRate: learningRate, momentum: momentum, dampening: dampening,
                                               weightDecay: weightDecay, nesterov: nesterov, maximize: maximize))
    }

    /// SGD over one group of `parameters` (for example `model.parameters`).
    public convenience init(
        _ parameters: [Variable<Scalar>], learningRate: Double = 1e-3, momentum: Double = 0,
        dampening: Double = 0, weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false
    ) throws {
        try self.init([ParameterGroup(parameters)], learningRate: learningRate, momentum: momentum,
                      dampening: dampening, weightDecay: weightDecay, nesterov: nesterov, maximize: maximize)
    }
}
