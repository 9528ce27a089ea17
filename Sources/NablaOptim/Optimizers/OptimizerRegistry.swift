import NablaTensor

/// An optimizer the ``OptimizerRegistry`` can build by name: its names and help text, the
/// hyper-parameters it reads with their defaults, and a factory from parameter groups.
///
/// Optimizers built by name act on `Float` parameters, as every model built from a model file does.
public struct OptimizerRegistration: Sendable {
    /// The name to select it by, lower-case (`"sgd"`).
    public let name: String
    /// The name in messages (`"SGD"`).
    public let displayName: String
    /// One line for `--help`, with the paper it comes from.
    public let summary: String
    /// Every key the optimizer reads, in order, with PyTorch's default (`lr`, `momentum`, …).
    public let defaults: Hyperparameters
    private let build: @Sendable ([ParameterGroup<Float>], Hyperparameters) throws -> any Optimizer<Float>
    private let typeName: String

    /// The registration of `type`.
    /// - Precondition: its options encode `lr` and neither `params` nor `initial_lr` (state-dict
    ///   keys the optimizer's bookkeeping owns).
    public init<O: RegistrableOptimizer>(_ type: O.Type) where O.Scalar == Float {
        name = O.name.lowercased()
        displayName = O.displayName
        summary = O.summary
        defaults = O.Options.defaultHyperparameters
        typeName = String(reflecting: O.self)
        precondition(defaults["lr"]?.kind == .number, "\(typeName).Options must encode 'lr' as a number")
        precondition(defaults["params"] == nil && defaults["initial_lr"] == nil,
                     "\(typeName).Options must not use the keys 'params' or 'initial_lr'")
        let displayName = O.displayName
        build = { groups, hyperparameters in
            try O(groups, options: try O.Options().applying(hyperparameters, optimizer: displayName, group: 0))
        }
    }

    /// The keys the optimizer reads, in order.
    public var keys: [String] { defaults.keys }

    /// PyTorch's default learning rate of the optimizer (`lr`).
    public var defaultLearningRate: Double { defaults["lr"]!.number! }

    /// The optimizer over `groups` with `hyperparameters` overriding its defaults (what a group
    /// sets overrides both).
    /// - Throws: ``/NablaTensor/NablaError`` for a key the optimizer does not read — naming the optimizer and
    ///   the keys it reads — a value of the wrong kind, an invalid value, or an empty parameter list.
    public func make(_ groups: [ParameterGroup<Float>], hyperparameters: Hyperparameters) throws -> any Optimizer<Float> {
        if let unknown = hyperparameters.keys.first(where: { defaults[$0] == nil }) {
            throw NablaError(.invalidArgument, "optimizer \(name) has no hyper-parameter '\(unknown)' (\(name) reads \(keys.joined(separator: ", ")))")
        }
        return try build(groups, hyperparameters)
    }
}

extension OptimizerRegistration: RegistryEntry {
    var lookupNames: [String] { [name] }
    var identity: String { typeName }
}

/// Every optimizer that can be selected by name — by `nabla train --optimizer`, an
/// `OptimizerSpecification` (NablaTraining) in a study or configuration file, and `--help`, which lists them.
///
/// The built-ins are registered in `builtIns`, one line each; an optimizer defined elsewhere is
/// registered once, before it is looked up:
///
/// ```swift
/// OptimizerRegistry.register(Signum<Float>.self)
/// let optimizer = try OptimizerSpecification(name: "signum", hyperparameters: ["lr": 1e-4]).make(for: model)
/// ```
///
/// Lookups ignore case. The registry is safe to use from several threads.
public enum OptimizerRegistry {
    /// The optimizers Nabla ships, in the order `--help` lists them.
    static var builtIns: [OptimizerRegistration] {
        [
            OptimizerRegistration(SGD<Float>.self),
            OptimizerRegistration(Adagrad<Float>.self),
            OptimizerRegistration(RMSprop<Float>.self),
            OptimizerRegistration(Adam<Float>.self),
            OptimizerRegistration(AdamW<Float>.self),
            OptimizerRegistration(Adadelta<Float>.self),
            OptimizerRegistration(Adamax<Float>.self),
            OptimizerRegistration(NAdam<Float>.self),
            OptimizerRegistration(RAdam<Float>.self),
            OptimizerRegistration(Lion<Float>.self),
            OptimizerRegistration(LAMB<Float>.self),
        ]
    }

    private static let table = RegistryTable("optimizer", builtIns: builtIns)

    /// Registers `type` under its ``RegistrableOptimizer/name``; registering it again does nothing.
    /// - Precondition: no other optimizer has that name.
    public static func register<O: RegistrableOptimizer>(_ type: O.Type) where O.Scalar == Float {
        table.register(OptimizerRegistration(type))
    }

    /// Every registered optimizer, built-ins first, in registration order.
    public static var registrations: [OptimizerRegistration] { table.all }

    /// The registered names, in registration order (`sgd, adagrad, rmsprop, adam, adamw, …`).
    public static var names: [String] { registrations.map(\.name) }

    /// The optimizer registered as `name` (any case).
    /// - Throws: ``/NablaTensor/NablaError`` listing the known names when there is none.
    public static func registration(named name: String) throws -> OptimizerRegistration {
        guard let registration = table.entry(named: name) else {
            throw NablaError(.invalidArgument, "unknown optimizer '\(name)' (known: \(names.joined(separator: ", ")))")
        }
        return registration
    }
}
