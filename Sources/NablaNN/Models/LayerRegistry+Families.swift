import NablaTensor

/// Model-description factories for the normalization, dropout and residual layers.
extension LayerRegistry {
    /// Runs a layer's own throwing input check on a batch of two samples of `shape`, prefixing the
    /// layer's context to its message.
    static func check(_ arguments: LayerArguments, _ body: () throws -> Void) throws {
        do { try body() } catch let error as NablaError { throw arguments.fail(error.message) }
    }

    static var normalizationFactories: [LayerFactory] {
        func batchNorm(_ name: String, _ make: @escaping (Int, Double, Double?, Bool, Bool, Bool) -> BatchNorm<Float>) -> LayerFactory {
            LayerFactory(name) { args, shape, _ in
                let features = try args.int("num_features")
                let eps = try args.double("eps", default: 1e-5)
                let momentum = try args.nullableDouble("momentum", default: 0.1)
                let affine = try args.bool("affine", default: true)
                let track = try args.bool("track_running_stats", default: true)
                let bias = try args.bool("bias", default: true)
                try acceptDeviceAndDType(&args)
                try ModelLimits.check([features], "num_features", context: args.context)
                try check(args) { try BatchNorm<Float>.validate(numFeatures: features, eps: eps, momentum: momentum) }
                let layer = make(features, eps, momentum, affine, track, bias)
                try check(args) { try layer.checkInput([2] + shape) }
                return (layer, shape)
            }
        }
        func instanceNorm(_ name: String, _ make: @escaping (Int, Double, Double?, Bool, Bool, Bool) -> InstanceNorm<Float>) -> LayerFactory {
            LayerFactory(name) { args, shape, _ in
                let features = try args.int("num_features")
                let eps = try args.double("eps", default: 1e-5)
                let momentum = try args.nullableDouble("momentum", default: 0.1)
                let affine = try args.bool("affine", default: false)
                let track = try args.bool("track_running_stats", default: false)
                let bias = try args.bool("bias", default: true)
                try acceptDeviceAndDType(&args)
                try ModelLimits.check([features], "num_features", context: args.context)
                try check(args) { try InstanceNorm<Float>.validate(numFeatures: features, eps: eps, momentum: momentum) }
                let layer = make(features, eps, momentum, affine, track, bias)
                try check(args) { try layer.checkInput([2] + shape) }
                return (layer, shape)
            }
        }
        return [
            batchNorm("BatchNorm1d") { BatchNorm1d($0, eps: $1, momentum: $2, affine: $3, trackRunningStats: $4, bias: $5) },
            batchNorm("BatchNorm2d") { BatchNorm2d($0, eps: $1, momentum: $2, affine: $3, trackRunningStats: $4, bias: $5) },
            batchNorm("BatchNorm3d") { BatchNorm3d($0, eps: $1, momentum: $2, affine: $3, trackRunningStats: $4, bias: $5) },
            instanceNorm("InstanceNorm1d") { InstanceNorm1d($0, eps: $1, momentum: $2, affine: $3, trackRunningStats: $4, bias: $5) },
            instanceNorm("InstanceNorm2d") { InstanceNorm2d($0, eps: $1, momentum: $2, affine: $3, trackRunningStats: $4, bias: $5) },
            instanceNorm("InstanceNorm3d") { InstanceNorm3d($0, eps: $1, momentum: $2, affine: $3, trackRunningStats: $4, bias: $5) },
            LayerFactory("LayerNorm") { args, shape, _ in
                let normalized = try args.intList("normalized_shape")
                let eps = try args.double("eps", default: 1e-5)
                let affine = try args.bool("elementwise_affine", default: true)
                let bias = try args.bool("bias", default: true)
                try acceptDeviceAndDType(&args)
                try check(args) { try LayerNorm<Float>.validate(normalizedShape: normalized, eps: eps) }
                try ModelLimits.check(normalized, "normalized_shape", context: args.context)
                let layer = LayerNorm<Float>(normalized, eps: eps, elementwiseAffine: affine, bias: bias)
                try check(args) { try layer.checkInput([2] + shape) }
                return (layer, shape)
            },
            LayerFactory("GroupNorm") { args, shape, _ in
                let groups = try args.int("num_groups")
                let channels = try args.int("num_channels")
                let eps = try args.double("eps", default: 1e-5)
                let affine = try args.bool("affine", default: true)
                let bias = try args.bool("bias", default: true)
                try acceptDeviceAndDType(&args)
                try check(args) { try GroupNorm<Float>.validate(numGroups: groups, numChannels: channels, eps: eps) }
                try ModelLimits.check([channels], "num_channels", context: args.context)
                let layer = GroupNorm<Float>(groups, channels, eps: eps, affine: affine, bias: bias)
                try check(args) { try layer.checkInput([2] + shape) }
                return (layer, shape)
            },
        ]
    }

    static var regularizationFactories: [LayerFactory] {
        [
            LayerFactory("Dropout") { args, shape, g in
                let p = try args.double("p", default: 0.5)
                try acceptInplace(&args)
                try check(args) { try Dropout<Float>.validate(probability: p) }
                return (Dropout<Float>(p, using: &g), shape)
            },
            LayerFactory("Dropout2d") { args, shape, g in
                let p = try args.double("p", default: 0.5)
                try acceptInplace(&args)
                try check(args) { try Dropout2d<Float>.validate(probability: p) }
                guard shape.count == 2 || shape.count == 3 else {
                    throw args.fail("expects (N, C, H, W) or (N, C, L) inputs, receives per-sample shape \(shape)")
                }
                return (Dropout2d<Float>(p, using: &g), shape)
            },
            LayerFactory("DropPath") { args, shape, g in
                let p = try args.double("p", default: 0.1)
                try check(args) { try DropPath<Float>.validate(probability: p) }
                return (DropPath<Float>(p, using: &g), shape)
            },
            LayerFactory("Residual") { args, shape, g in
                let p = try args.double("drop_path", default: 0)
                try check(args) { try DropPath<Float>.validate(probability: p) }
                guard let layers = args.raw("layers") else { throw args.fail("missing required argument 'layers' (the branch)") }
                let branch = try ModelDescription(name: args.context + " branch",
                                                  layers: try ModelDescription.layerList(layers, context: args.context))
                    .build(inputShape: shape, using: &g)
                var shortcutModel: Sequential<Float>?
                var shortcutShape = shape
                if let shortcut = args.raw("shortcut"), shortcut != .null {
                    let built = try ModelDescription(name: args.context + " shortcut",
                                                     layers: try ModelDescription.layerList(shortcut, context: args.context))
                        .build(inputShape: shape, using: &g)
                    shortcutModel = built.model
                    shortcutShape = built.outputShape
                }
                guard branch.outputShape == shortcutShape else {
                    throw args.fail("the branch outputs per-sample shape \(branch.outputShape) but the shortcut carries \(shortcutShape)")
                }
                return (Residual<Float>(branch.model, shortcut: shortcutModel, dropPath: p, using: &g), shortcutShape)
            },
        ]
    }
}
