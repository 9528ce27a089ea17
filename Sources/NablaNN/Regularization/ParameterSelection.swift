import NablaTensor

/// Which parameters a penalty or weight decay applies to.
///
/// The usual practice (e.g. Goyal et al., 2017, "Accurate, Large Minibatch SGD"; timm's
/// `param_groups_weight_decay`) decays only the *weights*: biases only shift activations and
/// normalization layers' affine parameters (`weight`/`bias` of BatchNorm, LayerNorm, GroupNorm …)
/// only rescale normalized values, so shrinking them towards zero does not limit capacity — it
/// just fights the normalization. The rule Nabla uses:
///
/// A parameter is *decayable* unless its own name (the last component of its dotted key) is
/// `bias`, or it belongs to a module conforming to ``NormalizationLayer``.
public enum ParameterSelection: String, Sendable, CaseIterable {
    /// Every parameter.
    case all
    /// The decayable parameters only (no biases, no normalization parameters).
    case weightsOnly = "weights"
}

extension Module {
    /// The decayable parameters with their dotted names, in ``namedParameters(prefix:)`` order
    /// (see ``ParameterSelection`` for the rule). A parameter shared by several modules appears once.
    public func namedDecayableParameters() -> [(name: String, variable: Variable<Scalar>)] {
        classifiedParameters().filter(\.decayable).map { ($0.name, $0.variable) }
    }

    /// The decayable parameters: not biases, not in a ``NormalizationLayer``. Pass them to a penalty
    /// (``l2Penalty(_:lambda:)``) or to an optimizer's decayed parameter group.
    public func decayableParameters() -> [Variable<Scalar>] { namedDecayableParameters().map(\.variable) }

    /// The complement of ``decayableParameters()``: biases and normalization parameters — the
    /// parameter group that gets `weightDecay = 0`.
    public func nonDecayableParameters() -> [Variable<Scalar>] {
        classifiedParameters().filter { !$0.decayable }.map(\.variable)
    }

    /// The parameters chosen by `selection`.
    public func parameters(_ selection: ParameterSelection) -> [Variable<Scalar>] {
        selection == .all ? parameters : decayableParameters()
    }

    /// Every parameter once, with whether it is decayable. A module's own parameters are those of
    /// its ``namedParameters(prefix:)`` whose names have no dot.
    private func classifiedParameters() -> [(name: String, variable: Variable<Scalar>, decayable: Bool)] {
        var decayable: [ObjectIdentifier: Bool] = [:]
        for (_, module) in namedModules() {
            let isNormalization = module is NormalizationLayer
            for (name, variable) in module.namedParameters() where !name.contains(".") {
                let id = ObjectIdentifier(variable)
                let own = !isNormalization && name != "bias"
                decayable[id] = (decayable[id] ?? true) && own
            }
        }
        var seen = Set<ObjectIdentifier>()
        return namedParameters().compactMap { entry in
            let id = ObjectIdentifier(entry.variable)
            guard seen.insert(id).inserted else { return nil }
            return (entry.name, entry.variable, decayable[id] ?? true)
        }
    }
}
