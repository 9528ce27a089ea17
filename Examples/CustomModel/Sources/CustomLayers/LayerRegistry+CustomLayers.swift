import NablaTensor
import NablaNN

extension LayerRegistry {
    /// Registers this package's layers so that model files can name them:
    ///
    /// ```yaml
    /// layers:
    ///   - Linear: {in_features: 2, out_features: 64}
    ///   - Swish: {}            # or {beta: 1.5}
    /// ```
    ///
    /// Call it before reading a model file; calling it again does nothing.
    public static func registerCustomLayers() { _ = customLayersRegistered }
}

/// Runs once, on first use (Swift initializes globals lazily and exactly once), because the
/// registry rejects a second registration of a name.
private let customLayersRegistered: Void = {
    LayerRegistry.register(LayerFactory("Swish") { arguments, shape, _ in
        let beta = try arguments.double("beta", default: 1)
        guard beta.isFinite else { throw NablaError(.invalidArgument, "\(arguments.context): beta=\(beta) must be finite") }
        // Pointwise: the per-sample output shape is the input's.
        return (Swish<Float>(beta: Float(beta)), shape)
    })
}()
