import NablaTensor

/// The typed hyper-parameters of one parameter group of an optimizer — `SGD.Options`,
/// `Adam.Options`, … — PyTorch's `param_groups` entry without its `params`.
///
/// A conforming type is a flat struct whose `CodingKeys` are PyTorch's keys and whose properties
/// carry Swift names (`learningRate` ↔ `lr`, `weightDecay` ↔ `weight_decay`); each property is a
/// `Double`, `Float`, `Int`, `Bool` or ``HyperparameterPair``, and encodes itself (no optionals), so
/// encoding ``init()`` lists every key the optimizer reads with PyTorch's default:
///
/// ```swift
/// public struct Options: OptimizerOptions {
///     public var learningRate = 1e-3
///     public var momentum = 0.0
///     enum CodingKeys: String, CodingKey { case learningRate = "lr", momentum }
///     public init() {}
///     public func validate(group: Int) throws {
///         try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: group)
///     }
/// }
/// ```
///
/// A group is resolved as PyTorch resolves it: the optimizer's options (its constructor arguments,
/// which default to ``init()``) overridden by the group's ``ParameterGroup/hyperparameters``,
/// decoded into `Self` and validated. The state dictionary's `param_groups.<g>.<key>` entries are
/// the encoding of the resolved options (numbers and flags as 0-d tensors, pairs as `[2]`).
public protocol OptimizerOptions: Codable, Equatable, Sendable {
    /// PyTorch's defaults.
    init()

    /// `lr`, which every optimizer has and every schedule sets.
    var learningRate: Double { get set }

    /// Throws unless every value is valid, with PyTorch's message echoing the bad value
    /// (``HyperparameterCheck``); `group` locates the group (``HyperparameterCheck/location(_:)``).
    func validate(group: Int) throws
}

extension OptimizerOptions {
    /// The keys this optimizer reads, in order, with PyTorch's defaults.
    public static var defaultHyperparameters: Hyperparameters { Hyperparameters(encoding: Self()) }

    /// These options by PyTorch key.
    public var hyperparameters: Hyperparameters { Hyperparameters(encoding: self) }

    /// These options with `overrides` applied, validated.
    /// - Parameters:
    ///   - overrides: values by PyTorch key that replace these options' values.
    ///   - optimizer: the optimizer's name in messages (`"SGD"`).
    ///   - group: the index of the group the options are for, in messages.
    /// - Throws: ``/NablaTensor/NablaError`` `"SGD has no option 'betas'"` for a key these options do not have,
    ///   for a value of the wrong kind (a number where a flag belongs), or an invalid value.
    public func applying(_ overrides: Hyperparameters, optimizer: String, group: Int) throws -> Self {
        var options = self
        if !overrides.isEmpty {
            let current = hyperparameters
            for (key, value) in overrides.entries {
                guard let existing = current[key] else {
                    throw NablaError(.invalidArgument, "\(optimizer) has no option '\(key)'\(HyperparameterCheck.location(group))")
                }
                guard existing.kind == value.kind else {
                    throw NablaError(.invalidArgument, "\(optimizer) option '\(key)' must be \(existing.kind.noun), got \(value)"
                                     + HyperparameterCheck.location(group))
                }
            }
            options = try current.merging(overrides).decode(Self.self, context: optimizer)
        }
        try options.validate(group: group)
        return options
    }
}

extension Hyperparameters.Kind {
    /// `"a number"`, `"a flag (true or false)"`, `"a pair of numbers"`, for messages.
    public var noun: String {
        switch self {
        case .number: return "a number"
        case .flag: return "a flag (true or false)"
        case .pair: return "a pair of numbers"
        }
    }
}
