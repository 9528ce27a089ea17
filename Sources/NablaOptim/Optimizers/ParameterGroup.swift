import NablaTensor

/// A list of parameters that share hyper-parameters inside an optimizer — PyTorch's `param_groups`
/// entry (`{"params": [...], "lr": 0.01, "weight_decay": 0}`).
///
/// ``hyperparameters`` holds the group's overrides under PyTorch's keys; a key the group leaves out
/// takes the optimizer's value (its constructor arguments, which default to PyTorch's), exactly as
/// a PyTorch group dict that omits it. After an optimizer is built, its
/// ``Optimizer/parameterGroups`` hold every key the optimizer reads, and only those; overriding a
/// key the optimizer does not read (`betas` on SGD) is an error rather than silently ignored.
///
/// ```swift
/// let groups = [
///     ParameterGroup(model.weights, weightDecay: 5e-4),
///     ParameterGroup(model.biases, weightDecay: 0),
///     ParameterGroup(model.head, ["lr": 0.01, "momentum": 0.5]),
/// ]
/// let sgd = try SGD(groups, learningRate: 0.1, momentum: 0.9)
/// ```
public struct ParameterGroup<Scalar: TensorScalar> {
    /// The parameters updated with these hyper-parameters.
    public var parameters: [Variable<Scalar>]
    /// The group's hyper-parameters by PyTorch key: overrides before the optimizer resolves the
    /// group, every key it reads afterwards.
    public var hyperparameters: Hyperparameters
    /// `initial_lr`: the learning rate the first schedule attached to the optimizer started from
    /// (PyTorch's `group.setdefault("initial_lr", lr)`); every later schedule uses it as its base.
    /// Not a hyper-parameter: it is stored next to them in the state dictionary.
    public var initialLearningRate: Double?

    /// A group of `parameters` with `hyperparameters` overriding the optimizer's (PyTorch keys).
    public init(_ parameters: [Variable<Scalar>], _ hyperparameters: Hyperparameters) {
        self.parameters = parameters
        self.hyperparameters = hyperparameters
    }

    /// A group of `parameters`, optionally with its own learning rate (`lr`) and weight decay
    /// (`weight_decay`), the two overrides every built-in optimizer reads.
    public init(_ parameters: [Variable<Scalar>], learningRate: Double? = nil, weightDecay: Double? = nil) {
        self.init(parameters, [:])
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }

    /// `lr`, when the group sets it (always, once resolved by an optimizer).
    public var learningRate: Double? {
        get { hyperparameters["lr"]?.number }
        set { hyperparameters["lr"] = newValue.map(Hyperparameters.Value.number) }
    }

    /// `weight_decay`, when the group sets it: coupled L2 (`g += λ·θ`) for most optimizers,
    /// decoupled for AdamW (`θ −= lr·λ·θ`).
    public var weightDecay: Double? {
        get { hyperparameters["weight_decay"]?.number }
        set { hyperparameters["weight_decay"] = newValue.map(Hyperparameters.Value.number) }
    }
}
