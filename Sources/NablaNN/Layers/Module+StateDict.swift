import NablaTensor

/// The state dictionary: every parameter and buffer by its dotted PyTorch key, with PyTorch's
/// layouts, so weights move between Nabla and PyTorch without renaming or transposing.
extension Module {
    /// Parameters and buffers by key. Integer buffers (`num_batches_tracked`) are stored as `Scalar`
    /// values here; ``integerStateKeys`` names them so writers can save them as int64.
    public func stateDict() -> [String: Tensor<Scalar>] {
        var dict: [String: Tensor<Scalar>] = [:]
        for (name, p) in namedParameters() { dict[name] = p.value }
        for (name, b) in namedBuffers() { dict[name] = b.value }
        return dict
    }

    /// The keys of ``stateDict()`` whose values are integers (PyTorch int64 buffers).
    public var integerStateKeys: Set<String> {
        Set(namedBuffers().filter { $0.buffer.isInteger }.map(\.name))
    }

    /// Every key of ``stateDict()``, parameters first, in registration order.
    public var stateKeys: [String] { namedParameters().map(\.name) + namedBuffers().map(\.name) }

    /// Replaces parameters and buffers with the values in `dict`.
    ///
    /// - Parameters:
    ///   - dict: values by state-dict key, as ``stateDict()`` returns them.
    ///   - strict: require exactly this module's keys (PyTorch's default). When `false`, missing and
    ///     unexpected keys are ignored, but a present key must still have the right shape.
    /// - Throws: ``/NablaTensor/NablaError`` naming the first missing key, unexpected key, or shape mismatch (with
    ///   both shapes). Nothing is modified unless every check passes.
    public func loadStateDict(_ dict: [String: Tensor<Scalar>], strict: Bool = true) throws {
        let params = namedParameters(), buffers = namedBuffers()
        var expected: [String: [Int]] = [:]
        for (name, p) in params { expected[name] = p.value.shape }
        for (name, b) in buffers { expected[name] = b.value.shape }
        if strict {
            if let missing = stateKeys.first(where: { dict[$0] == nil }) {
                throw NablaError(.missingKey, "state dict is missing key '\(missing)' (expected shape \(expected[missing]!))")
            }
            if let extra = dict.keys.sorted().first(where: { expected[$0] == nil }) {
                throw NablaError(.unexpectedKey, "state dict has unexpected key '\(extra)' of shape \(dict[extra]!.shape)")
            }
        }
        for (key, tensor) in dict {
            guard let shape = expected[key] else { continue }
            // PyTorch saves scalar buffers (num_batches_tracked) with shape []; accept any one-element form.
            let compatible = tensor.shape == shape || (tensor.count == 1 && shape.reduce(1, *) == 1)
            if !compatible {
                throw NablaError(.shapeMismatch,
                                 "state dict key '\(key)' has shape \(tensor.shape), the model expects \(shape)")
            }
        }
        for (name, p) in params { if let t = dict[name] { p.value = t.reshaped(to: p.value.shape) } }
        for (name, b) in buffers { if let t = dict[name] { b.value = t.reshaped(to: b.value.shape) } }
    }
}
