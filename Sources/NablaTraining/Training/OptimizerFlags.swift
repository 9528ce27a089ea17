import NablaOptim

/// A `nabla train` flag that sets one optimizer hyper-parameter, and the PyTorch key it sets —
/// the one table between the command line and ``/NablaOptim/Hyperparameters``, read by the CLI (flags to keys,
/// the "does not apply" check, `--help`) and by the studies (the `nabla train` command of a run).
public struct OptimizerFlag: Sendable {
    /// The flag without its dashes (`weight-decay`).
    public let flag: String
    /// The PyTorch key (`weight_decay`).
    public let key: String
    /// What it takes: a number (`--lr 0.1`), nothing (`--nesterov`, a flag that sets `true`), or a
    /// pair (`--betas 0.9,0.999`).
    public let kind: Hyperparameters.Kind

    init(_ flag: String, _ key: String, _ kind: Hyperparameters.Kind) {
        self.flag = flag
        self.key = key
        self.kind = kind
    }

    /// Every optimizer flag, in the order help and commands list them.
    public static let all: [OptimizerFlag] = [
        OptimizerFlag("lr", "lr", .number),
        OptimizerFlag("momentum", "momentum", .number),
        OptimizerFlag("dampening", "dampening", .number),
        OptimizerFlag("nesterov", "nesterov", .flag),
        OptimizerFlag("weight-decay", "weight_decay", .number),
        OptimizerFlag("betas", "betas", .pair),
        OptimizerFlag("eps", "eps", .number),
        OptimizerFlag("alpha", "alpha", .number),
        OptimizerFlag("centered", "centered", .flag),
        OptimizerFlag("amsgrad", "amsgrad", .flag),
        OptimizerFlag("lr-decay", "lr_decay", .number),
        OptimizerFlag("rho", "rho", .number),
        OptimizerFlag("momentum-decay", "momentum_decay", .number),
        OptimizerFlag("decoupled-weight-decay", "decoupled_weight_decay", .flag),
    ]

    /// The flags that set keys `registration` reads, in table order (`--lr`, `--momentum`, …).
    public static func flags(of registration: OptimizerRegistration) -> [OptimizerFlag] {
        all.filter { registration.defaults[$0.key] != nil }
    }

    /// The words that set `value` on the command line (`["--lr", "0.1"]`, `["--nesterov"]`, or none
    /// for a flag that is false, which is every flag's default).
    public func arguments(for value: Hyperparameters.Value) -> [String] {
        switch value {
        case .number(let x): return ["--\(flag)", shortestDecimal(x)]
        case .flag(let b): return b ? ["--\(flag)"] : []
        case .pair(let a, let b): return ["--\(flag)", "\(shortestDecimal(a)),\(shortestDecimal(b))"]
        }
    }
}

extension OptimizerSpecification {
    /// The `nabla train` flags that select this optimizer: `--optimizer NAME --lr LR` (the
    /// effective learning rate), a flag per other hyper-parameter in ``OptimizerFlag/all`` order,
    /// and `--decay-weights-only`.
    /// - Precondition: every hyper-parameter has a flag.
    public var commandLineArguments: [String] {
        var words = ["--optimizer", name, "--lr", shortestDecimal(effectiveLearningRate)]
        for key in hyperparameters.keys where key != "lr" {
            precondition(OptimizerFlag.all.contains { $0.key == key }, "hyper-parameter '\(key)' has no nabla train flag")
        }
        for flag in OptimizerFlag.all where flag.key != "lr" {
            if let value = hyperparameters[flag.key] { words += flag.arguments(for: value) }
        }
        if decayWeightsOnly { words.append("--decay-weights-only") }
        return words
    }
}

/// A number as short as it reads back exactly (`0.05`, `1e-05`, `2`).
func shortestDecimal(_ x: Double) -> String {
    let text = "\(x)"
    return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
}
