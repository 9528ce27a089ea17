import NablaTensor

/// A list of parameters that share hyper-parameters inside an optimizer — PyTorch's `param_groups`
/// entry (`{"params": [...], "lr": 0.01, "weight_decay": 0}`).
///
/// Every option is optional: `nil` means "use the optimizer's default", exactly as a PyTorch group
/// dict that omits a key. After an optimizer is built, its ``Optimizer/parameterGroups`` have every
/// option the optimizer uses filled in, and only those; setting an option the optimizer does not
/// use (`betas` on SGD) is an error rather than silently ignored.
///
/// ```swift
/// let groups = [
///     ParameterGroup(model.weights, weightDecay: 5e-4),
///     ParameterGroup(model.biases, weightDecay: 0),
/// ]
/// let sgd = try SGD(groups, learningRate: 0.1, momentum: 0.9)
/// ```
public struct ParameterGroup<Scalar: TensorScalar> {
    /// The parameters updated with these options.
    public var parameters: [Variable<Scalar>]
    /// `lr`.
    public var learningRate: Double?
    /// `weight_decay`: coupled L2 (`g += λ·θ`), decoupled for AdamW (`θ −= lr·λ·θ`).
    public var weightDecay: Double?
    /// `momentum` (SGD, RMSprop).
    public var momentum: Double?
    /// `dampening` (SGD).
    public var dampening: Double?
    /// `nesterov` (SGD).
    public var nesterov: Bool?
    /// `maximize`: ascend instead of descend (every optimizer).
    public var maximize: Bool?
    /// `eps` (Adagrad, RMSprop, Adam, AdamW).
    public var epsilon: Double?
    /// `betas` (Adam, AdamW).
    public var betas: (Double, Double)?
    /// `amsgrad` (Adam, AdamW).
    public var amsgrad: Bool?
    /// `decoupled_weight_decay` (Adam): decay the weights directly (`θ ← θ·(1 − lr·λ)`) rather than
    /// adding `λ·θ` to the gradient. AdamW always decouples and has no such option.
    public var decoupledWeightDecay: Bool?
    /// `alpha`, the smoothing constant of RMSprop.
    public var alpha: Double?
    /// `centered` (RMSprop).
    public var centered: Bool?
    /// `lr_decay` (Adagrad).
    public var learningRateDecay: Double?
    /// `initial_accumulator_value` (Adagrad).
    public var initialAccumulatorValue: Double?
    /// `initial_lr`: the learning rate the first schedule attached to the optimizer started from
    /// (PyTorch's `group.setdefault("initial_lr", lr)`); every later schedule uses it as its base.
    public var initialLearningRate: Double?

    /// A group of `parameters` with optional per-group overrides of the optimizer's defaults.
    public init(
        _ parameters: [Variable<Scalar>], learningRate: Double? = nil, weightDecay: Double? = nil,
        momentum: Double? = nil, dampening: Double? = nil, nesterov: Bool? = nil, maximize: Bool? = nil,
        epsilon: Double? = nil, betas: (Double, Double)? = nil, amsgrad: Bool? = nil, decoupledWeightDecay: Bool? = nil,
        alpha: Double? = nil, centered: Bool? = nil, learningRateDecay: Double? = nil, initialAccumulatorValue: Double? = nil
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.maximize = maximize
        self.epsilon = epsilon
        self.betas = betas
        self.amsgrad = amsgrad
        self.decoupledWeightDecay = decoupledWeightDecay
        self.alpha = alpha
        self.centered = centered
        self.learningRateDecay = learningRateDecay
        self.initialAccumulatorValue = initialAccumulatorValue
    }
}

// MARK: - Options as PyTorch state-dict entries

extension ParameterGroup {
    /// The options that are set, under PyTorch's `param_groups` keys (`lr`, `weight_decay`,
    /// `betas`, …), each as a tensor: 0-d for numbers and flags (`1` = true), shape `[2]` for
    /// `betas`. `initial_lr` is not included (it is not a hyper-parameter; see ``initialLearningRate``).
    public var optionEntries: [(key: String, value: Tensor<Double>)] {
        var entries: [(key: String, value: Tensor<Double>)] = []
        func add(_ key: String, _ value: Double?) { if let value { entries.append((key, Tensor(value))) } }
        func add(_ key: String, _ value: Bool?) { if let value { entries.append((key, Tensor(value ? 1 : 0))) } }
        add("lr", learningRate)
        add("weight_decay", weightDecay)
        add("momentum", momentum)
        add("dampening", dampening)
        add("nesterov", nesterov)
        add("maximize", maximize)
        add("eps", epsilon)
        if let betas { entries.append(("betas", Tensor([betas.0, betas.1]))) }
        add("amsgrad", amsgrad)
        add("decoupled_weight_decay", decoupledWeightDecay)
        add("alpha", alpha)
        add("centered", centered)
        add("lr_decay", learningRateDecay)
        add("initial_accumulator_value", initialAccumulatorValue)
        return entries
    }

    /// Sets the option stored under PyTorch key `key` from a state-dict tensor.
    /// - Throws: ``NablaError`` when the key is unknown or the tensor has the wrong shape.
    mutating func setOption(_ key: String, from tensor: Tensor<Double>, entry: String) throws {
        func number() throws -> Double {
            guard tensor.count == 1 else {
                throw NablaError(.shapeMismatch, "optimizer state entry '\(entry)' has shape \(tensor.shape), expected []")
            }
            return tensor.scalars[0]
        }
        func flag() throws -> Bool {
            let value = try number()
            guard value == 0 || value == 1 else {
                throw NablaError(.invalidArgument, "optimizer state entry '\(entry)' is \(value), expected 0 or 1")
            }
            return value == 1
        }
        switch key {
        case "lr": learningRate = try number()
        case "weight_decay": weightDecay = try number()
        case "momentum": momentum = try number()
        case "dampening": dampening = try number()
        case "nesterov": nesterov = try flag()
        case "maximize": maximize = try flag()
        case "eps": epsilon = try number()
        case "betas":
            guard tensor.shape == [2] else {
                throw NablaError(.shapeMismatch, "optimizer state entry '\(entry)' has shape \(tensor.shape), expected [2]")
            }
            betas = (tensor.scalars[0], tensor.scalars[1])
        case "amsgrad": amsgrad = try flag()
        case "decoupled_weight_decay": decoupledWeightDecay = try flag()
        case "alpha": alpha = try number()
        case "centered": centered = try flag()
        case "lr_decay": learningRateDecay = try number()
        case "initial_accumulator_value": initialAccumulatorValue = try number()
        default: throw NablaError(.unexpectedKey, "optimizer state entry '\(entry)' names an unknown option '\(key)'")
        }
    }
}

// MARK: - Validation shared by the optimizers

/// Hyper-parameter checks with PyTorch's messages, which echo the bad value.
enum HyperparameterCheck {
    /// Appended to a message for groups after the first, so the user knows where the value came from.
    static func location(_ group: Int) -> String { group == 0 ? "" : " (parameter group \(group))" }

    /// Throws `"<message>: <value>"` unless `0 ≤ value` (also rejects NaN).
    static func nonNegative(_ value: Double, _ message: String, group: Int) throws {
        guard value >= 0 else { throw NablaError(.invalidArgument, "\(message): \(value)\(location(group))") }
    }

    /// Throws unless `0 ≤ beta < 1`.
    static func beta(_ value: Double, index: Int, group: Int) throws {
        guard value >= 0 && value < 1 else {
            throw NablaError(.invalidArgument, "Invalid beta parameter at index \(index): \(value)\(location(group))")
        }
    }

    /// Throws when a group sets an option that `optimizer` does not use.
    static func onlyOptions<S>(_ allowed: Set<String>, in group: ParameterGroup<S>, index: Int, optimizer: String) throws {
        if let extra = group.optionEntries.map(\.key).first(where: { !allowed.contains($0) }) {
            throw NablaError(.invalidArgument, "\(optimizer) has no option '\(extra)'\(location(index))")
        }
    }
}
