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

    /// The exact values of the integer buffers (``integerStateKeys``), which ``stateDict()`` holds
    /// as `Scalar` (exact in `Float` only up to 2²⁴).
    public func integerState() -> [String: [Int64]] {
        Dictionary(uniqueKeysWithValues: namedBuffers().filter { $0.buffer.isInteger }.map { ($0.name, $0.buffer.integerValues) })
    }

    /// Sets integer buffers to exact values (after ``loadStateDict(_:strict:)`` has set them as
    /// `Scalar`); keys that are not integer buffers of this module are ignored.
    /// - Throws: ``/NablaTensor/NablaError`` naming a key whose element count does not match the buffer's.
    public func loadIntegerState(_ values: [String: [Int64]]) throws {
        let buffers = namedBuffers().filter { $0.buffer.isInteger }
        for (name, buffer) in buffers {
            if let v = values[name], v.count != buffer.value.count {
                throw NablaError(.shapeMismatch, "state dict key '\(name)' has \(v.count) values, the model expects \(buffer.value.count)")
            }
        }
        for (name, buffer) in buffers { if let v = values[name] { buffer.integerValues = v } }
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
        for (name, b) in buffers where b.isInteger {
            if let t = dict[name], let bad = t.scalars.first(where: { !$0.isFinite }) {
                throw NablaError(.invalidArgument, "state dict key '\(name)' is an integer counter but holds \(bad)")
            }
        }
        for (name, p) in params { if let t = dict[name] { p.value = t.reshaped(to: p.value.shape) } }
        for (name, b) in buffers { if let t = dict[name] { b.value = t.reshaped(to: b.value.shape) } }
    }
}
