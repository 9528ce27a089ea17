import NablaTensor

/// Lookahead: slow weights that move a fraction of the way towards the fast weights of any base
/// optimizer every `k` steps — Zhang et al. 2019, Algorithm 1.
///
/// The slow weights φ are the weights at construction. Every step runs the base optimizer's step;
/// after every `k`-th, for **every** parameter (whether or not it had a gradient at that step):
///
///     φ ← φ + α·(θ − φ);   θ ← φ
///
/// The base optimizer's state (momentum, Adam's moments and `step`) is kept across these syncs, as
/// in the paper. (timm's `Lookahead` differs: it creates φ at the first sync, which makes that sync
/// a no-op, and skips parameters without a gradient.) Defaults: `k` 5, `alpha` 0.5 (the paper's).
/// State dictionary: the base optimizer's, plus `state.<i>.lookahead_slow_buff` and timm's
/// `param_groups.<g>.lookahead_k`, `lookahead_alpha`, `lookahead_step`.
///
/// Reference: Zhang, Lucas, Hinton, Ba, "Lookahead Optimizer: k steps forward, 1 step back"
/// (NeurIPS 2019).
public final class Lookahead<Scalar: TensorScalar>: Optimizer {
    /// The optimizer that takes the fast steps.
    public let base: any Optimizer<Scalar>
    /// `k`: the number of fast steps between syncs.
    public private(set) var syncPeriod: Int
    /// `α`: the fraction of the way the slow weights move towards the fast ones at a sync.
    public private(set) var alpha: Double
    /// The number of steps taken (`lookahead_step`).
    public private(set) var lookaheadStep = 0
    /// φ, one buffer per parameter in state-dict order.
    public private(set) var slowWeights: [[Scalar]]

    /// Lookahead around `base`, whose current weights become the slow weights.
    /// - Parameters:
    ///   - base: the optimizer taking the fast steps.
    ///   - k: the number of fast steps between syncs.
    ///   - alpha: the slow weights' step towards the fast ones.
    /// - Throws: ``NablaError`` `Invalid lookahead steps: k` unless `k ≥ 1`, `Invalid slow update
    ///   rate: α` unless `0 ≤ α ≤ 1` (timm's messages).
    public init(_ base: any Optimizer<Scalar>, syncPeriod k: Int = 5, alpha: Double = 0.5) throws {
        try Self.validate(syncPeriod: k, alpha: alpha)
        self.base = base
        self.syncPeriod = k
        self.alpha = alpha
        slowWeights = base.parameters.map { $0.value.scalars }
    }

    static func validate(syncPeriod k: Int, alpha: Double) throws {
        guard alpha >= 0 && alpha <= 1 else { throw NablaError(.invalidArgument, "Invalid slow update rate: \(alpha)") }
        guard k >= 1 else { throw NablaError(.invalidArgument, "Invalid lookahead steps: \(k)") }
    }

    /// The base optimizer's parameter groups.
    public var parameterGroups: [ParameterGroup<Scalar>] { base.parameterGroups }
    /// The base optimizer's learning rates (schedules set these).
    public var learningRates: [Double] {
        get { base.learningRates }
        set { base.learningRates = newValue }
    }
    /// The base optimizer's `initial_lr`s.
    public var initialLearningRates: [Double?] {
        get { base.initialLearningRates }
        set { base.initialLearningRates = newValue }
    }

    /// Sets a hyper-parameter of the base optimizer (a schedule cycling its momentum).
    /// - Parameters:
    ///   - key: the PyTorch `param_groups` key.
    ///   - value: its new value.
    ///   - group: the parameter group.
    /// - Throws: the base optimizer's error for a key it does not read or an invalid value.
    public func setHyperparameter(_ key: String, to value: Hyperparameters.Value, group: Int) throws {
        try base.setHyperparameter(key, to: value, group: group)
    }

    /// The base optimizer's step, then a sync every `k`-th step.
    public func step() {
        base.step()
        lookaheadStep += 1
        guard lookaheadStep % syncPeriod == 0 else { return }
        let rate = Scalar(alpha)
        for (index, parameter) in base.parameters.enumerated() {
            slowWeights[index].withUnsafeMutableBufferPointer { slow in
                parameter.value.withUnsafeMutableBufferPointer { fast in
                    for i in 0..<slow.count {
                        slow[i] = slow[i] + rate * (fast[i] - slow[i])
                        fast[i] = slow[i]
                    }
                }
            }
        }
    }

    /// The base optimizer's state dictionary plus this wrapper's entries (described above).
    public func stateDict() -> [String: Tensor<Double>] {
        var dict = base.stateDict()
        for (index, parameter) in base.parameters.enumerated() {
            dict["state.\(index).lookahead_slow_buff"] = Tensor(shape: parameter.value.shape, scalars: slowWeights[index].map(Double.init))
        }
        for g in base.parameterGroups.indices {
            dict["param_groups.\(g).lookahead_k"] = Tensor(Double(syncPeriod))
            dict["param_groups.\(g).lookahead_alpha"] = Tensor(alpha)
            dict["param_groups.\(g).lookahead_step"] = Tensor(Double(lookaheadStep))
        }
        return dict
    }

    /// Restores ``stateDict()``: this wrapper's entries, and the rest through the base optimizer.
    /// - Parameter dict: a state dictionary written by ``stateDict()``.
    /// - Throws: ``/NablaTensor/NablaError`` for a missing, malformed or invalid entry of either.
    public func loadStateDict(_ dict: [String: Tensor<Double>]) throws {
        var rest = dict
        func take(_ key: String) throws -> Tensor<Double> {
            guard let tensor = rest.removeValue(forKey: key) else {
                throw NablaError(.missingKey, "optimizer state dict is missing '\(key)'")
            }
            return tensor
        }
        func whole(_ key: String, _ tensor: Tensor<Double>) throws -> Int {
            guard tensor.count == 1, let x = tensor.scalars.first, x >= 0, x == x.rounded(), x < 1e15 else {
                throw NablaError(.invalidArgument, "optimizer state entry '\(key)' must be one non-negative whole number")
            }
            return Int(x)
        }
        var slow: [[Scalar]] = []
        for (index, parameter) in base.parameters.enumerated() {
            let key = "state.\(index).lookahead_slow_buff", tensor = try take(key)
            guard tensor.shape == parameter.value.shape else {
                throw NablaError(.shapeMismatch, "optimizer state entry '\(key)' has shape \(tensor.shape), parameter has \(parameter.value.shape)")
            }
            slow.append(tensor.scalars.map { Scalar($0) })
        }
        var settings: (k: Int, alpha: Double, step: Int)?
        for g in base.parameterGroups.indices {
            let prefix = "param_groups.\(g).lookahead_"
            let k = try whole(prefix + "k", try take(prefix + "k")), step = try whole(prefix + "step", try take(prefix + "step"))
            let alphaTensor = try take(prefix + "alpha")
            guard alphaTensor.count == 1 else { throw NablaError(.shapeMismatch, "optimizer state entry '\(prefix)alpha' must be one number") }
            try Self.validate(syncPeriod: k, alpha: alphaTensor.scalars[0])
            settings = settings ?? (k, alphaTensor.scalars[0], step)
        }
        try base.loadStateDict(rest)
        slowWeights = slow
        if let settings { (syncPeriod, alpha, lookaheadStep) = settings }
    }
}
