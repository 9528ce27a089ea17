import NablaTensor

/// The ``LayerFactory/estimate`` of every built-in layer whose size grows with its arguments: the
/// output shape and parameter count from the arguments alone, so a hostile `out_channels: 100000`
/// is measured before any tensor exists. They read the arguments as the factories do and return
/// `nil` for anything invalid, which the factory's build then reports; they read every argument
/// the factory reads, so an argument neither knows is reported (by the build) too. Layers without parameters
/// (activations, pooling, flattening, dropout) are not here: building them allocates nothing large.
extension LayerRegistry {
    static var builtinEstimates: [String: (inout LayerArguments, [Int]) throws -> LayerEstimate?] {
        var table: [String: (inout LayerArguments, [Int]) throws -> LayerEstimate?] = [
            "linear": linearEstimate,
            "conv2d": conv2dEstimate,
            "conv1d": conv1dEstimate,
            "layernorm": layerNormEstimate,
            "groupnorm": groupNormEstimate,
            "residual": residualEstimate,
        ]
        for (name, rank, affine, track) in [("batchnorm1d", [1, 2], true, true), ("batchnorm2d", [3], true, true),
                                            ("batchnorm3d", [4], true, true), ("instancenorm1d", [2], false, false),
                                            ("instancenorm2d", [3], false, false), ("instancenorm3d", [4], false, false)] {
            table[name] = { args, shape in try perChannelNormalizationEstimate(&args, shape, ranks: rank, affine: affine, track: track) }
        }
        return table
    }

    static func linearEstimate(_ args: inout LayerArguments, _ shape: [Int]) throws -> LayerEstimate? {
        let inFeatures = try args.positiveInt("in_features")
        let outFeatures = try args.positiveInt("out_features")
        let bias = try args.bool("bias", default: true)
        guard shape.last == inFeatures, ModelLimits.count([inFeatures, outFeatures]) != nil else { return nil }
        var estimate = LayerEstimate(outputShape: Array(shape.dropLast()) + [outFeatures])
        estimate.parameterCount = MemoryArithmetic.sum([MemoryArithmetic.product([inFeatures, outFeatures]), bias ? outFeatures : 0])
        return estimate
    }

    static func conv2dEstimate(_ args: inout LayerArguments, _ shape: [Int]) throws -> LayerEstimate? {
        let (i, o) = (try args.int("in_channels"), try args.int("out_channels"))
        let kernel = try intPair(&args, "kernel_size")
        let stride = try intPair(&args, "stride", default: (1, 1))
        let padding = try intPair(&args, "padding", default: (0, 0))
        let dilation = try intPair(&args, "dilation", default: (1, 1))
        let groups = try args.int("groups", default: 1)
        let bias = try args.bool("bias", default: true)
        _ = try args.string("padding_mode", default: "zeros")
        guard shape.count == 3 else { return nil }
        try Conv2d<Float>.validate(inChannels: i, outChannels: o, kernelSize: kernel, stride: stride, padding: padding,
                                   dilation: dilation, groups: groups, inputShape: [1] + shape)
        let weight = [o, i / groups, kernel.height, kernel.width]
        guard ModelLimits.count(weight) != nil else { return nil }
        let output = [o, convolutionExtent(shape[1], kernel.height, stride.height, padding.height, dilation.height),
                      convolutionExtent(shape[2], kernel.width, stride.width, padding.width, dilation.width)]
        var estimate = LayerEstimate(outputShape: output)
        estimate.parameterCount = MemoryArithmetic.sum([MemoryArithmetic.product(weight), bias ? o : 0])
        // im2col columns [(C/g)·kH·kW, Ho·Wo] and the product [O/g, Ho·Wo] of one sample.
        estimate.workspacePerSample = MemoryArithmetic.sum([MemoryArithmetic.product([i / groups, kernel.height, kernel.width, output[1], output[2]]),
                                                            MemoryArithmetic.product([o / groups, output[1], output[2]])])
        return estimate
    }

    static func conv1dEstimate(_ args: inout LayerArguments, _ shape: [Int]) throws -> LayerEstimate? {
        let (i, o) = (try args.int("in_channels"), try args.int("out_channels"))
        let kernel = try args.int("kernel_size")
        let stride = try args.int("stride", default: 1)
        let padding = try args.int("padding", default: 0)
        let dilation = try args.int("dilation", default: 1)
        let groups = try args.int("groups", default: 1)
        let bias = try args.bool("bias", default: true)
        _ = try args.string("padding_mode", default: "zeros")
        guard shape.count == 2 else { return nil }
        try Conv1d<Float>.validate(inChannels: i, outChannels: o, kernelSize: kernel, stride: stride, padding: padding,
                                   dilation: dilation, groups: groups, inputShape: [1] + shape)
        let weight = [o, i / groups, kernel]
        guard ModelLimits.count(weight) != nil else { return nil }
        let output = [o, convolutionExtent(shape[1], kernel, stride, padding, dilation)]
        var estimate = LayerEstimate(outputShape: output)
        estimate.parameterCount = MemoryArithmetic.sum([MemoryArithmetic.product(weight), bias ? o : 0])
        estimate.workspacePerSample = MemoryArithmetic.sum([MemoryArithmetic.product([i / groups, kernel, output[1]]),
                                                            MemoryArithmetic.product([o / groups, output[1]])])
        return estimate
    }

    /// Batch and instance normalization: `C` weights and biases when affine, running mean and
    /// variance (and a counter) when tracking; `x̂` is kept for backward beside the output.
    static func perChannelNormalizationEstimate(_ args: inout LayerArguments, _ shape: [Int], ranks: [Int],
                                                affine defaultAffine: Bool, track defaultTrack: Bool) throws -> LayerEstimate? {
        let features = try args.int("num_features")
        _ = (try args.double("eps", default: 1e-5), try args.nullableDouble("momentum", default: 0.1))
        let affine = try args.bool("affine", default: defaultAffine)
        let track = try args.bool("track_running_stats", default: defaultTrack)
        guard features > 0, ranks.contains(shape.count), shape.first == features, ModelLimits.count([features]) != nil else { return nil }
        var estimate = LayerEstimate(outputShape: shape, savedFactor: 2)
        estimate.parameterCount = affine ? 2 * features : 0
        estimate.bufferCount = track ? 2 * features + 1 : 0
        return estimate
    }

    static func layerNormEstimate(_ args: inout LayerArguments, _ shape: [Int]) throws -> LayerEstimate? {
        let normalized = try args.intList("normalized_shape")
        _ = try args.double("eps", default: 1e-5)
        let affine = try args.bool("elementwise_affine", default: true)
        let bias = try args.bool("bias", default: true)
        guard !normalized.isEmpty, normalized.allSatisfy({ $0 > 0 }), let count = ModelLimits.count(normalized),
              shape.count >= normalized.count, Array(shape.suffix(normalized.count)) == normalized else { return nil }
        var estimate = LayerEstimate(outputShape: shape, savedFactor: 2)
        estimate.parameterCount = affine ? (bias ? 2 : 1) * count : 0
        return estimate
    }

    static func groupNormEstimate(_ args: inout LayerArguments, _ shape: [Int]) throws -> LayerEstimate? {
        let groups = try args.int("num_groups")
        let channels = try args.int("num_channels")
        _ = try args.double("eps", default: 1e-5)
        let affine = try args.bool("affine", default: true)
        guard groups > 0, channels > 0, channels % groups == 0, shape.count >= 2, shape.first == channels,
              ModelLimits.count([channels]) != nil else { return nil }
        var estimate = LayerEstimate(outputShape: shape, savedFactor: 2)
        estimate.parameterCount = affine ? 2 * channels : 0
        return estimate
    }

    /// A residual block: its branch and shortcut estimated layer by layer (as nested footprints),
    /// plus the sum (and, with stochastic depth, its mask).
    static func residualEstimate(_ args: inout LayerArguments, _ shape: [Int]) throws -> LayerEstimate? {
        let p = try args.double("drop_path", default: 0)
        guard let layers = args.raw("layers") else { return nil }
        let branch = try ModelDescription(name: args.context + " branch", layers: try ModelDescription.layerList(layers, context: args.context))
            .memoryEstimate(inputShape: shape)
        var inner = branch.layers.map { LayerFootprint(path: "branch." + $0.path, type: $0.type, estimate: $0.estimate) }
        var shortcutShape = shape
        if let shortcut = args.raw("shortcut"), shortcut != .null {
            let estimate = try ModelDescription(name: args.context + " shortcut",
                                                layers: try ModelDescription.layerList(shortcut, context: args.context))
                .memoryEstimate(inputShape: shape)
            inner += estimate.layers.map { LayerFootprint(path: "shortcut." + $0.path, type: $0.type, estimate: $0.estimate) }
            shortcutShape = estimate.layers.last(where: { !$0.path.contains(".") })?.estimate.outputShape ?? shape
        }
        let branchShape = branch.layers.last(where: { !$0.path.contains(".") })?.estimate.outputShape ?? shape
        guard branchShape == shortcutShape else { return nil }
        var estimate = LayerEstimate(outputShape: shortcutShape, savedFactor: p > 0 ? 2 : 1)
        estimate.inner = inner
        return estimate
    }
}
