import NablaTensor

/// The typed state an optimizer keeps for one parameter (`SGD.State`, `Adam.State`, …).
public protocol OptimizerState {
    /// The element type of the parameter the state belongs to.
    associatedtype Scalar: TensorScalar
    /// The state as PyTorch-named tensors of the parameter's `shape` (`step` 0-d), the entries
    /// `state.<i>.<name>` of the optimizer's state dictionary.
    func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)]
}

/// Reads one parameter's `state.<i>.*` entries, checking shapes and recording what was used.
public struct StateReader<Scalar: TensorScalar> {
    let dict: [String: Tensor<Double>]
    let prefix: String
    let shape: [Int]
    var used: Set<String> = []

    init(dict: [String: Tensor<Double>], prefix: String, shape: [Int]) {
        self.dict = dict
        self.prefix = prefix
        self.shape = shape
    }

    /// The buffer `name` with the parameter's shape.
    /// - Throws: ``/NablaTensor/NablaError`` when it is missing or has another shape.
    public mutating func buffer(_ name: String) throws -> [Scalar] {
        let key = prefix + name
        guard let tensor = dict[key] else { throw NablaError(.missingKey, "optimizer state dict is missing '\(key)'") }
        guard tensor.shape == shape else {
            throw NablaError(.shapeMismatch, "optimizer state entry '\(key)' has shape \(tensor.shape), parameter has \(shape)")
        }
        used.insert(key)
        return tensor.scalars.map { Scalar($0) }
    }

    /// The 0-d entry `name` (a scalar state such as NAdam's `mu_product`).
    /// - Throws: ``NablaError`` when it is missing or holds more than one number.
    public mutating func scalar(_ name: String) throws -> Double {
        let key = prefix + name
        guard let tensor = dict[key] else { throw NablaError(.missingKey, "optimizer state dict is missing '\(key)'") }
        guard tensor.count == 1 else {
            throw NablaError(.shapeMismatch, "optimizer state entry '\(key)' has shape \(tensor.shape), expected []")
        }
        used.insert(key)
        return tensor.scalars[0]
    }

    /// The step counter `step`, a non-negative whole number.
    /// - Throws: ``/NablaTensor/NablaError`` when it is missing or not such a number.
    public mutating func step() throws -> Int {
        let key = prefix + "step"
        guard let tensor = dict[key] else { throw NablaError(.missingKey, "optimizer state dict is missing '\(key)'") }
        guard tensor.count == 1, let value = tensor.scalars.first, value >= 0, value == value.rounded(), value < 1e15 else {
            throw NablaError(.invalidArgument, "optimizer state entry '\(key)' must be one non-negative whole number, got \(tensor.scalars.prefix(4))")
        }
        used.insert(key)
        return Int(value)
    }
}

/// The bookkeeping every ``PerParameterOptimizer`` shares: resolved parameter groups and their typed
/// options, per-parameter state indexed like PyTorch's state dict, the step loop, and the state
/// dictionary. The optimizer itself keeps only its update rule.
public final class OptimizerCore<Options: OptimizerOptions, State: OptimizerState> {
    /// The parameters' element type.
    public typealias Scalar = State.Scalar

    /// The optimizer's name in messages (`"SGD"`).
    public let name: String
    /// The groups, their ``ParameterGroup/hyperparameters`` resolved (every key the optimizer reads).
    public private(set) var groups: [ParameterGroup<Scalar>]
    /// `options[g]` is `groups[g]` decoded into the optimizer's typed options.
    public private(set) var options: [Options]
    /// `states[i]` belongs to the `i`-th parameter across groups; `nil` until its first update.
    public private(set) var states: [State?]

    /// Resolves each group — `defaults` (the constructor's options) overridden by the group's
    /// hyper-parameters — and validates it.
    /// - Throws: ``/NablaTensor/NablaError`` for an empty parameter list, a parameter that does not require a
    ///   gradient or appears in two groups, an option the optimizer does not have, or an invalid value.
    public init(name: String, groups: [ParameterGroup<Scalar>], defaults: Options) throws {
        self.name = name
        guard !groups.isEmpty, groups.contains(where: { !$0.parameters.isEmpty }) else {
            throw NablaError(.invalidArgument, "\(name) got an empty parameter list")
        }
        var seen = Set<ObjectIdentifier>()
        var resolved: [ParameterGroup<Scalar>] = []
        var options: [Options] = []
        for (index, group) in groups.enumerated() {
            let groupOptions = try defaults.applying(group.hyperparameters, optimizer: name, group: index)
            for parameter in group.parameters {
                guard parameter.requiresGradient else {
                    throw NablaError(.invalidArgument, "\(name) can only optimize parameters that require a gradient\(HyperparameterCheck.location(index))")
                }
                guard seen.insert(ObjectIdentifier(parameter)).inserted else {
                    throw NablaError(.invalidArgument, "some parameters appear in more than one parameter group")
                }
            }
            var group = group
            group.hyperparameters = groupOptions.hyperparameters
            resolved.append(group)
            options.append(groupOptions)
        }
        self.groups = resolved
        self.options = options
        self.states = Array(repeating: nil, count: resolved.reduce(0) { $0 + $1.parameters.count })
    }

    /// Each group's `lr`.
    /// - Precondition (set): one finite value per group (see ``Optimizer/learningRates``).
    public var learningRates: [Double] {
        get { options.map(\.learningRate) }
        set {
            precondition(newValue.count == groups.count,
                         "\(name): \(newValue.count) learning rates for \(groups.count) parameter groups")
            for (g, lr) in newValue.enumerated() {
                precondition(lr.isFinite, "\(name): invalid learning rate \(lr) for group \(g)")
                groups[g].learningRate = lr
                options[g].learningRate = lr
            }
        }
    }

    /// Each group's `initial_lr`.
    /// - Precondition (set): one value per group.
    public var initialLearningRates: [Double?] {
        get { groups.map(\.initialLearningRate) }
        set {
            precondition(newValue.count == groups.count,
                         "\(name): \(newValue.count) initial learning rates for \(groups.count) parameter groups")
            for g in groups.indices { groups[g].initialLearningRate = newValue[g] }
        }
    }

    /// Sets `key` of group `group` to `value`, decoded into the typed options and validated.
    /// - Precondition: `group` is a valid group index.
    /// - Throws: ``NablaError`` for a key these options do not have, a value of the wrong kind, or an
    ///   invalid value; nothing changes then.
    public func setHyperparameter(_ key: String, to value: Hyperparameters.Value, group: Int) throws {
        precondition(groups.indices.contains(group), "\(name): no parameter group \(group)")
        var overrides = Hyperparameters()
        overrides[key] = value
        let updated = try options[group].applying(overrides, optimizer: name, group: group)
        options[group] = updated
        groups[group].hyperparameters = updated.hyperparameters
    }

    /// Creates the state of every parameter now (Adagrad initializes its sums at construction).
    public func initializeStates(_ make: (_ elementCount: Int, _ options: Options) -> State) {
        var index = 0
        for (g, group) in groups.enumerated() {
            for parameter in group.parameters {
                states[index] = make(parameter.value.count, options[g])
                index += 1
            }
        }
    }

    /// Runs `update` on every parameter that has a gradient, in place, creating its state with
    /// `makeState(elementCount, options)` on first use. `update` must not touch the optimizer.
    public func step(
        makeState: (_ elementCount: Int, _ options: Options) -> State,
        update: (UnsafeMutableBufferPointer<Scalar>, UnsafeBufferPointer<Scalar>, inout State, Options) -> Void
    ) {
        var index = 0
        for (g, group) in groups.enumerated() {
            let groupOptions = options[g]
            for parameter in group.parameters {
                defer { index += 1 }
                guard let gradient = parameter.grad else { continue }
                precondition(gradient.shape == parameter.value.shape,
                             "\(name): gradient of shape \(gradient.shape) for a parameter of shape \(parameter.value.shape)")
                if states[index] == nil { states[index] = makeState(parameter.value.count, groupOptions) }
                gradient.withUnsafeBufferPointer { g in
                    parameter.value.withUnsafeMutableBufferPointer { p in
                        update(p, g, &states[index]!, groupOptions)
                    }
                }
            }
        }
    }

    /// `state.<i>.<name>` for every parameter with state and `param_groups.<g>.<key>` for every
    /// group: its resolved hyper-parameters, `params` (the indices of its parameters) and
    /// `initial_lr` once a schedule set it.
    public func stateDict() -> [String: Tensor<Double>] {
        var dict: [String: Tensor<Double>] = [:]
        var index = 0
        for (g, group) in groups.enumerated() {
            for (key, value) in group.hyperparameters.entries { dict["param_groups.\(g).\(key)"] = value.tensor }
            if let initial = group.initialLearningRate { dict["param_groups.\(g).initial_lr"] = Tensor(initial) }
            dict["param_groups.\(g).params"] = Tensor((index..<index + group.parameters.count).map(Double.init))
            for parameter in group.parameters {
                if let state = states[index] {
                    for (name, value) in state.entries(shape: parameter.value.shape) { dict["state.\(index).\(name)"] = value }
                }
                index += 1
            }
        }
        return dict
    }

    /// Restores what ``stateDict()`` wrote; `readState` reads one parameter's state as the
    /// optimizer would have written it under the group's options. Nothing changes unless every
    /// check passes.
    /// - Throws: ``/NablaTensor/NablaError`` naming the first missing, unexpected or mismatched entry, or an
    ///   invalid hyper-parameter.
    public func loadStateDict(
        _ dict: [String: Tensor<Double>],
        readState: (inout StateReader<Scalar>, Options) throws -> State
    ) throws {
        var used = Set<String>()
        var newGroups = groups
        var newOptions: [Options] = []
        var newStates: [State?] = []
        var index = 0
        for g in groups.indices {
            let prefix = "param_groups.\(g)."
            let count = groups[g].parameters.count
            guard let params = dict[prefix + "params"] else {
                throw NablaError(.missingKey, "optimizer state dict is missing '\(prefix)params'")
            }
            let expected = (index..<index + count).map(Double.init)
            guard params.scalars == expected else {
                throw NablaError(.shapeMismatch, "optimizer state dict group \(g) holds parameters [\(params.scalars.prefix(16).map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int($0)) : "\($0)" }.joined(separator: ", "))], this optimizer's group \(g) holds \(expected.map { Int($0) })")
            }
            used.insert(prefix + "params")
            var hyperparameters = Hyperparameters()
            for (key, value) in groups[g].hyperparameters.entries.sorted(by: { $0.key < $1.key }) {
                guard let tensor = dict[prefix + key] else {
                    throw NablaError(.missingKey, "optimizer state dict is missing '\(prefix)\(key)'")
                }
                hyperparameters[key] = try Hyperparameters.Value(tensor, as: value.kind, entry: prefix + key)
                used.insert(prefix + key)
            }
            let groupOptions = try hyperparameters.decode(Options.self, context: name)
            try groupOptions.validate(group: g)
            newGroups[g].hyperparameters = groupOptions.hyperparameters
            newGroups[g].initialLearningRate = nil
            if let initial = dict[prefix + "initial_lr"] {
                guard initial.count == 1 else {
                    throw NablaError(.shapeMismatch, "optimizer state entry '\(prefix)initial_lr' has shape \(initial.shape), expected []")
                }
                newGroups[g].initialLearningRate = initial.scalars[0]
                used.insert(prefix + "initial_lr")
            }
            newOptions.append(groupOptions)
            for parameter in groups[g].parameters {
                let statePrefix = "state.\(index)."
                if dict.keys.contains(where: { $0.hasPrefix(statePrefix) }) {
                    var reader = StateReader<Scalar>(dict: dict, prefix: statePrefix, shape: parameter.value.shape)
                    newStates.append(try readState(&reader, groupOptions))
                    used.formUnion(reader.used)
                } else {
                    newStates.append(nil)
                }
                index += 1
            }
        }
        if let extra = dict.keys.sorted().first(where: { !used.contains($0) }) {
            throw NablaError(.unexpectedKey, "optimizer state dict has unexpected entry '\(extra)' for \(name) with \(groups.count) group(s) and \(index) parameter(s)")
        }
        groups = newGroups
        options = newOptions
        states = newStates
    }
}
