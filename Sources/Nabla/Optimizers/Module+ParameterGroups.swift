extension Module {
    /// The parameters split into two optimizer groups: those that take weight decay, and biases plus
    /// the affine parameters of normalization layers (``NormalizationLayer``), which conventionally
    /// do not (their decay group has `weightDecay: 0`).
    ///
    /// ```swift
    /// let optimizer = try SGD(model.parameterGroups(weightDecay: 5e-4), learningRate: 0.1, momentum: 0.9)
    /// ```
    ///
    /// - Parameter weightDecay: the decay of the first group; `nil` leaves it to the optimizer's default.
    /// - Returns: `[decayed, notDecayed]`, each in ``namedParameters(prefix:)`` order; a group with no
    ///   parameters is left out.
    public func parameterGroups(weightDecay: Double? = nil) -> [ParameterGroup<Scalar>] {
        var exempt = Set<ObjectIdentifier>()
        for (name, module) in namedModules() where module is NormalizationLayer {
            for (_, parameter) in module.namedParameters(prefix: name) { exempt.insert(ObjectIdentifier(parameter)) }
        }
        var decayed: [Variable<Scalar>] = [], notDecayed: [Variable<Scalar>] = []
        for (name, parameter) in namedParameters() {
            let isBias = name == "bias" || name.hasSuffix(".bias")
            if isBias || exempt.contains(ObjectIdentifier(parameter)) {
                notDecayed.append(parameter)
            } else {
                decayed.append(parameter)
            }
        }
        var groups: [ParameterGroup<Scalar>] = []
        if !decayed.isEmpty { groups.append(ParameterGroup(decayed, weightDecay: weightDecay)) }
        if !notDecayed.isEmpty { groups.append(ParameterGroup(notDecayed, weightDecay: 0)) }
        return groups
    }
}
