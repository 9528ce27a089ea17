import NablaTensor

/// The typed hyper-parameters of one parameter group, read from a resolved ``ParameterGroup``.
protocol OptimizerOptions {
    /// Reads and validates a group whose options are all set; `index` locates it in messages.
    init<S>(_ group: ParameterGroup<S>, index: Int) throws
    var learningRate: Double { get set }
}

/// The typed state an optimizer keeps for one parameter.
protocol OptimizerState {
    associatedtype Scalar: TensorScalar
    associatedtype Options: OptimizerOptions
    /// The state as PyTorch-named tensors of the parameter's `shape` (`step` 0-d).
    func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)]
    /// Reads the state the optimizer would have written under `options`.
    init(reading reader: inout StateReader<Scalar>, options: Options) throws
}

/// Reads one parameter's `state.<i>.*` entries, checking shapes and recording what was used.
struct StateReader<Scalar: TensorScalar> {
    let dict: [String: Tensor<Double>]
    let prefix: String
    let shape: [Int]
    var used: Set<String> = []

    /// The buffer `name` with the parameter's shape.
    mutating func buffer(_ name: String) throws -> [Scalar] {
        let key = prefix + name
        guard let tensor = dict[key] else { throw NablaError(.missingKey, "optimizer state dict is missing '\(key)'") }
        guard tensor.shape == shape else {
            throw NablaError(.shapeMismatch, "optimizer state entry '\(key)' has shape \(tensor.shape), parameter has \(shape)")
        }
        used.insert(key)
        return tensor.scalars.map { Scalar($0) }
    }

    /// The step counter `step`, a non-negative whole number.
    mutating func step() throws -> Int {
        let key = prefix + "step"
        guard let tensor = dict[key] else { throw NablaError(.missingKey, "optimizer state dict is missing '\(key)'") }
        guard tensor.count == 1, let value = tensor.scalars.first, value >= 0, value == value.rounded(), value < 1e15 else {
            throw NablaError(.invalidArgument, "optimizer state entry '\(key)' must be one non-negative whole number, got \(tensor.scalars.prefix(4))")
        }
        used.insert(key)
        return Int(value)
    }
}

/// The bookkeeping every optimizer shares: resolved parameter groups and their typed options,
/// per-parameter state indexed like PyTorch's state dict, the step loop, and the state dictionary.
struct OptimizerCore<State: OptimizerState> {
    typealias Scalar = State.Scalar
    typealias Options = State.Options

    /// The optimizer's name in messages (`"SGD"`).
    let name: String
    /// The PyTorch `param_groups` keys this optimizer uses.
    let keys: Set<String>
    private(set) var groups: [ParameterGroup<Scalar>]
    /// `options[g]` is `groups[g]` read into the optimizer's typed options.
    private(set) var options: [Options]
    /// `states[i]` belongs to the `i`-th parameter across groups; `nil` until its first update.
    var states: [State?]

    /// Resolves each group against `defaults` (the constructor's hyper-parameters) and validates it.
    init(name: String, keys: Set<String>, groups: [ParameterGroup<Scalar>], defaults: ParameterGroup<Scalar>) throws {
        self.name = name
        self.keys = keys
        guard !groups.isEmpty, groups.contains(where: { !$0.parameters.isEmpty }) else {
            throw NablaError(.invalidArgument, "\(name) got an empty parameter list")
        }
        var seen = Set<ObjectIdentifier>()
        var resolved: [ParameterGroup<Scalar>] = []
        for (index, group) in groups.enumerated() {
            try HyperparameterCheck.onlyOptions(keys, in: group, index: index, optimizer: name)
            for parameter in group.parameters {
                guard parameter.requiresGradient else {
                    throw NablaError(.invalidArgument, "\(name) can only optimize parameters that require a gradient\(HyperparameterCheck.location(index))")
                }
                guard seen.insert(ObjectIdentifier(parameter)).inserted else {
                    throw NablaError(.invalidArgument, "some parameters appear in more than one parameter group")
                }
            }
            var group = group
            let present = Set(group.optionEntries.map(\.key))
            for (key, value) in defaults.optionEntries where keys.contains(key) && !present.contains(key) {
                try group.setOption(key, from: value, entry: key)
            }
            resolved.append(group)
        }
        self.groups = resolved
        self.options = try resolved.enumerated().map { try Options($1, index: $0) }
        self.states = Array(repeating: nil, count: resolved.reduce(0) { $0 + $1.parameters.count })
    }

    var learningRates: [Double] {
        get { options.map(\.learningRate) }
        set {
            precondition(newValue.count == groups.count,
                         "\(name): \(newValue.count) learning rates for \(groups.count) parameter groups")
            for (g, lr) in newValue.enumerated() {
                precondition(lr >= 0 && lr.isFinite, "\(name): invalid learning rate \(lr) for group \(g)")
                groups[g].learningRate = lr
                options[g].learningRate = lr
            }
        }
    }

    var initialLearningRates: [Double?] {
        get { groups.map(\.initialLearningRate) }
        set {
            precondition(newValue.count == groups.count,
                         "\(name): \(newValue.count) initial learning rates for \(groups.count) parameter groups")
            for g in groups.indices { groups[g].initialLearningRate = newValue[g] }
        }
    }

    /// Creates the state of every parameter now (Adagrad initializes its sums at construction).
    mutating func initializeStates(_ make: (Options, Int) -> State) {
        var index = 0
        for (g, group) in groups.enumerated() {
            for parameter in group.parameters {
                states[index] = make(options[g], parameter.value.count)
                index += 1
            }
        }
    }

    /// Runs `update` on every parameter that has a gradient, in place, creating its state with
    /// `makeState(options, elementCount)` on first use. `update` must not touch the optimizer.
    mutating func step(
        makeState: (Options, Int) -> State,
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
                if states[index] == nil { states[index] = makeState(groupOptions, parameter.value.count) }
                gradient.withUnsafeBufferPointer { g in
                    parameter.value.withUnsafeMutableBufferPointer { p in
                        update(p, g, &states[index]!, groupOptions)
                    }
                }
            }
        }
    }

    func stateDict() -> [String: Tensor<Double>] {
        var dict: [String: Tensor<Double>] = [:]
        var index = 0
        for (g, group) in groups.enumerated() {
            for (key, value) in group.optionEntries { dict["param_groups.\(g).\(key)"] = value }
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

    mutating func loadStateDict(_ dict: [String: Tensor<Double>]) throws {
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
                throw NablaError(.shapeMismatch, "optimizer state dict group \(g) holds parameters \(params.scalars.map { Int($0) }), this optimizer's group \(g) holds \(expected.map { Int($0) })")
            }
            used.insert(prefix + "params")
            for key in keys.sorted() {
                guard let value = dict[prefix + key] else {
                    throw NablaError(.missingKey, "optimizer state dict is missing '\(prefix)\(key)'")
                }
                try newGroups[g].setOption(key, from: value, entry: prefix + key)
                used.insert(prefix + key)
            }
            newGroups[g].initialLearningRate = dict[prefix + "initial_lr"].map { $0.scalars[0] }
            if dict[prefix + "initial_lr"] != nil { used.insert(prefix + "initial_lr") }
            let groupOptions = try Options(newGroups[g], index: g)
            newOptions.append(groupOptions)
            for parameter in groups[g].parameters {
                let statePrefix = "state.\(index)."
                if dict.keys.contains(where: { $0.hasPrefix(statePrefix) }) {
                    var reader = StateReader<Scalar>(dict: dict, prefix: statePrefix, shape: parameter.value.shape)
                    newStates.append(try State(reading: &reader, options: groupOptions))
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
