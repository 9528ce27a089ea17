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
public final class SGD<Scalar: TensorScalar>: Optimizer {
    /// One group's hyper-parameters.
    public struct Options: OptimizerOptions {
        public var learningRate: Double
        public var momentum: Double
        public var dampening: Double
        public var weightDecay: Double
        public var nesterov: Bool
        public var maximize: Bool

        /// Options as given, not validated (the optimizer's initializers validate).
        public init(learningRate: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
                    weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false) {
            self.learningRate = learningRate
            self.momentum = momentum
            self.dampening = dampening
            self.weightDecay = weightDecay
            self.nesterov = nesterov
            self.maximize = maximize
        }

        init<S>(_ group: ParameterGroup<S>, index: Int) throws {
            learningRate = group.learningRate!
            momentum = group.momentum!
            dampening = group.dampening!
            weightDecay = group.weightDecay!
            nesterov = group.nesterov!
            maximize = group.maximize!
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: index)
            try HyperparameterCheck.nonNegative(momentum, "Invalid momentum value", group: index)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: index)
            guard dampening.isFinite else {
                throw NablaError(.invalidArgument, "Invalid dampening value: \(dampening)\(HyperparameterCheck.location(index))")
            }
            if nesterov && (momentum <= 0 || dampening != 0) {
                throw NablaError(.invalidArgument, "Nesterov momentum requires a momentum and zero dampening, "
                                 + "got momentum \(momentum) and dampening \(dampening)\(HyperparameterCheck.location(index))")
            }
        }
    }

    /// One parameter's state.
    public struct State: OptimizerState {
        /// `momentum_buffer`; `nil` until the first step with momentum.
        public var momentumBuffer: [Scalar]?

        func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            momentumBuffer.map { [("momentum_buffer", Tensor(shape: shape, scalars: $0.map(Double.init)))] } ?? []
        }

        public init(momentumBuffer: [Scalar]? = nil) { self.momentumBuffer = momentumBuffer }

        init(reading reader: inout StateReader<Scalar>, options: Options) throws {
            momentumBuffer = options.momentum != 0 ? try reader.buffer("momentum_buffer") : nil
        }
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

    /// The PyTorch `param_groups` keys of this optimizer.
    static var optionKeys: Set<String> { ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"] }

    var core: OptimizerCore<State>

    /// SGD over parameter groups; options a group leaves `nil` take these defaults.
    /// - Throws: ``NablaError`` for a negative learning rate, momentum or weight decay, Nesterov
    ///   without momentum or with dampening, an empty parameter list, or an option SGD does not use.
    public init(
        _ groups: [ParameterGroup<Scalar>], learningRate: Double = 1e-3, momentum: Double = 0,
        dampening: Double = 0, weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false
    ) throws {
        let defaults = ParameterGroup<Scalar>(
            [], learningRate: learningRate, weightDecay: weightDecay, momentum: momentum, dampening: dampening,
            nesterov: nesterov, maximize: maximize)
        core = try OptimizerCore(name: "SGD", keys: Self.optionKeys, groups: groups, defaults: defaults)
    }

    /// SGD over one group of `parameters` (for example `model.parameters`).
    public convenience init(
        _ parameters: [Variable<Scalar>], learningRate: Double = 1e-3, momentum: Double = 0,
        dampening: Double = 0, weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false
    ) throws {
        try self.init([ParameterGroup(parameters)], learningRate: learningRate, momentum: momentum,
                      dampening: dampening, weightDecay: weightDecay, nesterov: nesterov, maximize: maximize)
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
        core.step(makeState: { _, _ in State() }, update: { Self.update($0, gradient: $1, state: &$2, options: $3) })
    }

    public func stateDict() -> [String: Tensor<Double>] { core.stateDict() }
    public func loadStateDict(_ dict: [String: Tensor<Double>]) throws { try core.loadStateDict(dict) }
}
