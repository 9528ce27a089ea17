import NablaNN

extension Module {
    /// The parameters split into two optimizer groups: the decayable ones (``/NablaNN/Module/decayableParameters()``)
    /// and biases plus the affine parameters of normalization layers, which conventionally take no
    /// weight decay (their group has `weightDecay: 0`).
    ///
    /// ```swift
    /// let optimizer = try SGD(model.parameterGroups(weightDecay: 5e-4), learningRate: 0.1, momentum: 0.9)
    /// ```
    ///
    /// - Parameter weightDecay: the decay of the first group; `nil` leaves it to the optimizer's default.
    /// - Returns: `[decayed, notDecayed]`, each in ``/NablaNN/Module/namedParameters(prefix:)`` order; a group with no
    ///   parameters is left out.
    public func parameterGroups(weightDecay: Double? = nil) -> [ParameterGroup<Scalar>] {
        // The same rule as the penalties use (see ``ParameterSelection``).
        let decayed = decayableParameters(), notDecayed = nonDecayableParameters()
        var groups: [ParameterGroup<Scalar>] = []
        if !decayed.isEmpty { groups.append(ParameterGroup(decayed, weightDecay: weightDecay)) }
        if !notDecayed.isEmpty { groups.append(ParameterGroup(notDecayed, weightDecay: 0)) }
        return groups
    }
}
