import NablaTensor
import NablaNN
import NablaOptim

/// An optimizer chosen by name with its hyper-parameters under PyTorch's keys — what
/// `nabla train --optimizer …`, the studies and configuration files configure:
///
/// ```swift
/// let spec = OptimizerSpecification(name: "sgd", hyperparameters: ["lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4],
///                                   decayWeightsOnly: true)
/// let optimizer = try spec.make(for: model)
/// ```
///
/// The optimizer is found in the ``/NablaOptim/OptimizerRegistry``; keys left out take its PyTorch defaults
/// (AdamW's `weight_decay` is 0.01, every other optimizer's 0). Encoded as
/// `{"name": "sgd", "hyperparameters": {"lr": 0.1, "betas": [0.9, 0.999]}, "decay_weights_only": true}`.
public struct OptimizerSpecification: Equatable, Sendable, Codable, CustomStringConvertible {
    /// The registered name (`sgd`, `adagrad`, `rmsprop`, `adam`, `adamw`, or one registered later).
    public var name: String
    /// The hyper-parameters that differ from the optimizer's defaults.
    public var hyperparameters: Hyperparameters
    /// Apply weight decay only to weights, not to biases or normalization parameters
    /// (``/NablaOptim/NablaNN/Module/parameterGroups(weightDecay:)``).
    public var decayWeightsOnly: Bool

    /// The optimizer `name` with `hyperparameters` over its defaults.
    public init(name: String = "sgd", hyperparameters: Hyperparameters = [:], decayWeightsOnly: Bool = false) {
        self.name = name
        self.hyperparameters = hyperparameters
        self.decayWeightsOnly = decayWeightsOnly
    }

    /// The registered optimizer names.
    public static var names: [String] { OptimizerRegistry.names }

    /// `lr`, when set.
    public var learningRate: Double? {
        get { hyperparameters["lr"]?.number }
        set { hyperparameters["lr"] = newValue.map(Hyperparameters.Value.number) }
    }

    /// `weight_decay`, when set.
    public var weightDecay: Double? {
        get { hyperparameters["weight_decay"]?.number }
        set { hyperparameters["weight_decay"] = newValue.map(Hyperparameters.Value.number) }
    }

    /// The learning rate that will be used: `lr`, or the optimizer's PyTorch default (1e-3, 1e-2
    /// for Adagrad and RMSprop); NaN for a name that is not registered.
    public var effectiveLearningRate: Double {
        learningRate ?? (try? OptimizerRegistry.registration(named: name))?.defaultLearningRate ?? .nan
    }

    /// Builds the optimizer over `model`'s parameters: one group, or with ``decayWeightsOnly`` a
    /// decayed group and a group of biases and normalization parameters with `weight_decay` 0.
    /// - Throws: ``/NablaTensor/NablaError`` for an unknown name, a key the optimizer does not read (naming the
    ///   keys it reads), or an invalid value (the optimizers validate as PyTorch does, echoing it).
    public func make(for model: Module<Float>) throws -> any Optimizer<Float> {
        let registration = try OptimizerRegistry.registration(named: name)
        let groups: [ParameterGroup<Float>]
        if decayWeightsOnly {
            guard registration.defaults["weight_decay"] != nil else {
                throw NablaError(.invalidArgument, "decay_weights_only: optimizer \(registration.name) has no weight_decay")
            }
            groups = model.parameterGroups(weightDecay: weightDecay)
        } else {
            groups = [ParameterGroup(model.parameters)]
        }
        return try registration.make(groups, hyperparameters: hyperparameters)
    }

    /// `sgd(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.005 on weights only)`: the
    /// effective learning rate first, then the other hyper-parameters in order, as Python spells
    /// them (` on weights only` marks ``decayWeightsOnly``).
    public var description: String {
        var parts = ["lr=\(shortestDecimal(effectiveLearningRate))"]
        for (key, value) in hyperparameters.entries where key != "lr" {
            let text: String
            switch value {
            case .number(let x): text = shortestDecimal(x)
            case .flag(let b): text = b ? "True" : "False"
            case .pair(let a, let b): text = "(\(shortestDecimal(a)), \(shortestDecimal(b)))"
            }
            parts.append("\(key)=\(text)" + (key == "weight_decay" && decayWeightsOnly ? " on weights only" : ""))
        }
        return "\(name)(\(parts.joined(separator: ", ")))"
    }

    private enum CodingKeys: String, CodingKey {
        case name, hyperparameters, decayWeightsOnly = "decay_weights_only"
    }

    /// Reads `name`, and `hyperparameters` and `decay_weights_only` when present.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        hyperparameters = try container.decodeIfPresent(Hyperparameters.self, forKey: .hyperparameters) ?? [:]
        decayWeightsOnly = try container.decodeIfPresent(Bool.self, forKey: .decayWeightsOnly) ?? false
    }
}
