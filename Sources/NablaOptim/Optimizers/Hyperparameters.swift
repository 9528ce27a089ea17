import NablaTensor

/// Optimizer hyper-parameters by PyTorch's `param_groups` key, in order — the lingua franca of the
/// command line, configuration files, per-group overrides and state dictionaries:
///
/// ```swift
/// let overrides: Hyperparameters = ["lr": 0.1, "momentum": 0.9, "nesterov": true]
/// let adam: Hyperparameters = ["betas": .pair(0.9, 0.99), "eps": 1e-6]
/// ```
///
/// Each optimizer's typed ``OptimizerOptions`` are encoded to and decoded from this form (its
/// `CodingKeys` are the PyTorch keys), so a key means the same thing everywhere: `lr`,
/// `weight_decay`, `betas`, … Values are numbers, flags or pairs of numbers; in a state dictionary
/// they are tensors (numbers and flags 0-d, flags as 0/1, pairs of shape `[2]`). Equality ignores
/// the order of the keys; ``description`` keeps it (`lr=0.1, momentum=0.9, nesterov=True`).
public struct Hyperparameters: Equatable, Sendable, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// The kind of a value: what a key holds, and what a state-dict tensor of it looks like.
    public enum Kind: String, Sendable {
        /// A real number, a 0-d tensor.
        case number
        /// A Boolean, a 0-d tensor holding 0 or 1.
        case flag
        /// Two numbers (PyTorch's tuples such as `betas`), a tensor of shape `[2]`.
        case pair
    }

    /// One hyper-parameter value.
    public enum Value: Equatable, Sendable, CustomStringConvertible,
        ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
        /// A real number (`lr`, `momentum`), stored as a 0-d tensor.
        case number(Double)
        /// A flag (`nesterov`, `amsgrad`), stored as a 0-d tensor holding 0 or 1.
        case flag(Bool)
        /// Two numbers (`betas`), stored as a tensor of shape `[2]`.
        case pair(Double, Double)

        /// `0.9` is a number.
        public init(floatLiteral value: Double) { self = .number(value) }
        /// `0` is a number.
        public init(integerLiteral value: Int) { self = .number(Double(value)) }
        /// `true` is a flag.
        public init(booleanLiteral value: Bool) { self = .flag(value) }

        /// Whether this is a number, a flag or a pair.
        public var kind: Kind {
            switch self {
            case .number: return .number
            case .flag: return .flag
            case .pair: return .pair
            }
        }

        /// The number, or `nil` for a flag or a pair.
        public var number: Double? { if case .number(let x) = self { return x } else { return nil } }

        /// Python's spelling: `0.1`, `True`, `(0.9, 0.999)`.
        public var description: String {
            switch self {
            case .number(let x): return "\(x)"
            case .flag(let b): return b ? "True" : "False"
            case .pair(let a, let b): return "(\(a), \(b))"
            }
        }
    }

    /// The keys, in insertion order.
    public private(set) var keys: [String] = []
    private var values: [String: Value] = [:]

    /// No hyper-parameters.
    public init() {}

    /// `["lr": 0.1, "nesterov": true]`.
    /// - Precondition: every key appears once.
    public init(dictionaryLiteral elements: (String, Value)...) {
        for (key, value) in elements {
            precondition(values[key] == nil, "Hyperparameters: key '\(key)' appears twice")
            self[key] = value
        }
    }

    /// The value of `key`; setting `nil` removes the key, setting a new key appends it.
    public subscript(key: String) -> Value? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// The key–value pairs, in order.
    public var entries: [(key: String, value: Value)] { keys.map { ($0, values[$0]!) } }

    /// Whether there are no keys.
    public var isEmpty: Bool { keys.isEmpty }
    /// The number of keys.
    public var count: Int { keys.count }

    /// These values with `overrides` applied: existing keys keep their position, new keys follow.
    public func merging(_ overrides: Hyperparameters) -> Hyperparameters {
        var merged = self
        for (key, value) in overrides.entries { merged[key] = value }
        return merged
    }

    /// `lr=0.1, momentum=0.9, nesterov=True` (PyTorch's keyword arguments).
    public var description: String { entries.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") }

    /// The same keys with the same values, in any order.
    public static func == (lhs: Hyperparameters, rhs: Hyperparameters) -> Bool { lhs.values == rhs.values }
}

// MARK: - State-dictionary tensors

extension Hyperparameters.Value {
    /// The value as a state-dict tensor: numbers and flags (0/1) 0-d, pairs of shape `[2]`.
    public var tensor: Tensor<Double> {
        switch self {
        case .number(let x): return Tensor(x)
        case .flag(let b): return Tensor(b ? 1 : 0)
        case .pair(let a, let b): return Tensor([a, b])
        }
    }

    /// Reads a state-dict tensor as a value of `kind`; `entry` names it in messages.
    /// - Throws: ``/NablaTensor/NablaError`` when the tensor's shape does not fit `kind`, or a flag is not 0 or 1.
    public init(_ tensor: Tensor<Double>, as kind: Hyperparameters.Kind, entry: String) throws {
        if kind == .pair {
            guard tensor.shape == [2] else {
                throw NablaError(.shapeMismatch, "optimizer state entry '\(entry)' has shape \(tensor.shape), expected [2]")
            }
            self = .pair(tensor.scalars[0], tensor.scalars[1])
            return
        }
        guard tensor.count == 1 else {
            throw NablaError(.shapeMismatch, "optimizer state entry '\(entry)' has shape \(tensor.shape), expected []")
        }
        let value = tensor.scalars[0]
        guard kind == .flag else {
            self = .number(value)
            return
        }
        guard value == 0 || value == 1 else {
            throw NablaError(.invalidArgument, "optimizer state entry '\(entry)' is \(value), expected 0 or 1")
        }
        self = .flag(value == 1)
    }
}

// MARK: - Codable: a JSON/YAML object of numbers, Booleans and two-element lists

extension Hyperparameters.Value: Codable {
    /// Reads `true`/`false` as a flag, a number as a number, `[a, b]` as a pair.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .flag(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let pair = try? container.decode([Double].self), pair.count == 2 {
            self = .pair(pair[0], pair[1])
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a number, true/false or a list of two numbers")
        }
    }

    /// Writes a flag as a Boolean, a number as a number, a pair as a two-element list.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let x): try container.encode(x)
        case .flag(let b): try container.encode(b)
        case .pair(let a, let b): try container.encode([a, b])
        }
    }
}

extension Hyperparameters: Codable {
    private struct Name: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Reads an object of keys to values; keys are taken in sorted order (an object has none).
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Name.self)
        self.init()
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
            self[key.stringValue] = try container.decode(Value.self, forKey: key)
        }
    }

    /// Writes an object of keys to values, in order.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Name.self)
        for (key, value) in entries { try container.encode(value, forKey: Name(stringValue: key)) }
    }
}

/// Two numbers held by one hyper-parameter, like PyTorch's `betas=(0.9, 0.999)`: a two-element
/// list when encoded, a `[2]` tensor in a state dictionary.
public struct HyperparameterPair: Codable, Equatable, Sendable, CustomStringConvertible {
    /// The first number (β₁ of `betas`).
    public var first: Double
    /// The second number (β₂ of `betas`).
    public var second: Double

    /// `(first, second)`.
    public init(_ first: Double, _ second: Double) {
        self.first = first
        self.second = second
    }

    /// Reads a list of exactly two numbers.
    public init(from decoder: Decoder) throws {
        var container = try decoder.unkeyedContainer()
        first = try container.decode(Double.self)
        second = try container.decode(Double.self)
        guard container.isAtEnd else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected two numbers")
        }
    }

    /// Writes `[first, second]`.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(first)
        try container.encode(second)
    }

    /// `(0.9, 0.999)`.
    public var description: String { "(\(first), \(second))" }
}
