import NablaTensor

/// Where a cycling schedule writes its momentum: the optimizer's `momentum` (SGD, RMSprop) or β₁,
/// the first of its `betas` (Adam and its relatives) — PyTorch's `use_beta1 = "betas" in defaults`
/// in `OneCycleLR` and `CyclicLR`.
struct MomentumCycling {
    /// True when the optimizer has `betas`, whose first value is cycled.
    let usesBeta1: Bool

    /// The cycling for `optimizer`, or `nil` when it has neither `momentum` nor `betas`.
    init?(_ optimizer: any Optimizer) {
        if optimizer.hyperparameter("betas", group: 0) != nil {
            usesBeta1 = true
        } else if optimizer.hyperparameter("momentum", group: 0) != nil {
            usesBeta1 = false
        } else {
            return nil
        }
    }

    /// PyTorch's message for an optimizer without either.
    static func unsupported() -> NablaError {
        NablaError(.invalidArgument, "optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    }

    /// Each group's momentum (or β₁) as the optimizer has it now.
    func momenta(of optimizer: any Optimizer) -> [Double] {
        optimizer.learningRates.indices.map { g in
            switch optimizer.hyperparameter(usesBeta1 ? "betas" : "momentum", group: g) {
            case .pair(let beta1, _)?: return beta1
            case .number(let momentum)?: return momentum
            default: return .nan
            }
        }
    }

    /// Sets each group's momentum (or β₁, keeping β₂).
    /// - Precondition: the values are valid for the optimizer (schedules validate their ranges).
    func set(_ momenta: [Double], on optimizer: any Optimizer) {
        for (g, momentum) in momenta.enumerated() {
            do {
                if usesBeta1, case .pair(_, let beta2)? = optimizer.hyperparameter("betas", group: g) {
                    try optimizer.setHyperparameter("betas", to: .pair(momentum, beta2), group: g)
                } else {
                    try optimizer.setHyperparameter("momentum", to: .number(momentum), group: g)
                }
            } catch {
                preconditionFailure("cycling momentum: \(error)")
            }
        }
    }
}

/// `value` expanded to one per parameter group, or `values` checked to have one per group —
/// PyTorch's `_format_param`.
func perGroup(_ values: [Double], _ name: String, groups: Int) throws -> [Double] {
    if values.count == 1 { return Array(repeating: values[0], count: groups) }
    guard values.count == groups else {
        throw NablaError(.invalidArgument, "\(name) must have the same length as optimizer.param_groups. \(name) has \(values.count) values, param_groups has \(groups).")
    }
    return values
}
