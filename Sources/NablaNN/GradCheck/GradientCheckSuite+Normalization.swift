import NablaTensor

/// Gradient-check cases for the normalization family: the fused kernels in every mode and layout,
/// and every layer with random (non-trivial) affine parameters and running statistics.
extension GradientCheckSuite {
    static var normalization: [GradientCheckCase] {
        normalizationFunctions + normalizationLayers
    }

    private static var normalizationFunctions: [GradientCheckCase] {
        typealias V = Variable<Double>
        var generator = RandomGenerator(seed: 41)
        let runningMean = Tensor<Double>(uniform: [3], lower: -0.5, upper: 0.5, using: &generator)
        let runningVariance = Tensor<Double>(uniform: [3], lower: 0.5, upper: 2, using: &generator)
        return [
            .function("batchNorm (training, [N, C])", shapes: [[5, 3], [3], [3]]) {
                batchNorm($0[0], runningMean: nil, runningVariance: nil, weight: $0[1], bias: $0[2], training: true)
            },
            .function("batchNorm (training, [N, C, L])", shapes: [[3, 3, 4], [3], [3]]) {
                batchNorm($0[0], runningMean: nil, runningVariance: nil, weight: $0[1], bias: $0[2], training: true)
            },
            .function("batchNorm (training, [N, C, H, W])", shapes: [[2, 3, 2, 3], [3], [3]]) {
                batchNorm($0[0], runningMean: nil, runningVariance: nil, weight: $0[1], bias: $0[2], training: true)
            },
            .function("batchNorm (training, no affine)", shapes: [[4, 3, 2]]) {
                batchNorm($0[0], runningMean: nil, runningVariance: nil, weight: nil, bias: nil, training: true)
            },
            .function("batchNorm (training, weight without bias)", shapes: [[4, 3, 2], [3]]) {
                batchNorm($0[0], runningMean: nil, runningVariance: nil, weight: $0[1], bias: nil, training: true)
            },
            .function("groupNorm (weight without bias)", shapes: [[2, 4, 3], [4]]) {
                groupNorm($0[0], groupCount: 2, weight: $0[1], bias: nil)
            },
            .function("batchNorm (evaluation)", shapes: [[2, 3, 2, 2], [3], [3]]) {
                batchNorm($0[0], runningMean: Buffer(runningMean), runningVariance: Buffer(runningVariance),
                          weight: $0[1], bias: $0[2], training: false)
            },
            .function("batchNorm + ReLU fused (training, [N, C, H, W])", shapes: [[2, 3, 2, 3], [3], [3]]) {
                batchNorm($0[0], runningMean: nil, runningVariance: nil, weight: $0[1], bias: $0[2], training: true,
                          fusingReLU: true)
            },
            .function("batchNorm + ReLU fused (training, [N, C])", shapes: [[5, 3], [3], [3]]) {
                batchNorm($0[0], runningMean: nil, runningVariance: nil, weight: $0[1], bias: $0[2], training: true,
                          fusingReLU: true)
            },
            .function("batchNorm + ReLU fused (evaluation)", shapes: [[2, 3, 2, 2], [3], [3]]) {
                batchNorm($0[0], runningMean: Buffer(runningMean), runningVariance: Buffer(runningVariance),
                          weight: $0[1], bias: $0[2], training: false, fusingReLU: true)
            },
            .function("layerNorm ([5])", shapes: [[3, 5], [5], [5]]) {
                layerNorm($0[0], normalizedShape: [5], weight: $0[1], bias: $0[2])
            },
            .function("layerNorm ([3, 4])", shapes: [[2, 3, 4], [3, 4], [3, 4]]) {
                layerNorm($0[0], normalizedShape: [3, 4], weight: $0[1], bias: $0[2])
            },
            .function("layerNorm (no affine)", shapes: [[4, 6]]) {
                layerNorm($0[0], normalizedShape: [6], weight: nil, bias: nil)
            },
            .function("groupNorm (G = 2)", shapes: [[2, 4, 3], [4], [4]]) {
                groupNorm($0[0], groupCount: 2, weight: $0[1], bias: $0[2])
            },
            .function("instanceNorm", shapes: [[2, 3, 5], [3], [3]]) {
                instanceNorm($0[0], runningMean: nil, runningVariance: nil, weight: $0[1], bias: $0[2],
                             useInputStatistics: true)
            },
        ]
    }

    private static var normalizationLayers: [GradientCheckCase] {
        [
            .module("BatchNorm1d(3) (N, C)", input: [5, 3]) { g in randomized(BatchNorm1d(3), &g) },
            .module("BatchNorm1d(3) (N, C, L)", input: [3, 3, 4]) { g in randomized(BatchNorm1d(3), &g) },
            .module("BatchNorm2d(3)", input: [2, 3, 3, 2]) { g in randomized(BatchNorm2d(3), &g) },
            .module("BatchNorm3d(2)", input: [2, 2, 2, 3, 2]) { g in randomized(BatchNorm3d(2), &g) },
            .module("BatchNorm2d(3) eval", input: [2, 3, 2, 2]) { g in randomized(BatchNorm2d(3), &g, eval: true) },
            .module("BatchNorm1d(4) eval (N, C)", input: [3, 4]) { g in randomized(BatchNorm1d(4), &g, eval: true) },
            .module("BatchNorm2d(3, affine: false)", input: [2, 3, 2, 2]) { g in
                randomized(BatchNorm2d(3, affine: false), &g)
            },
            .module("BatchNorm2d(3, trackRunningStats: false) eval", input: [2, 3, 2, 2]) { g in
                randomized(BatchNorm2d(3, trackRunningStats: false), &g, eval: true)
            },
            .module("LayerNorm([5])", input: [3, 5]) { g in randomized(LayerNorm([5]), &g) },
            .module("LayerNorm([3, 4])", input: [2, 3, 4]) { g in randomized(LayerNorm([3, 4]), &g) },
            .module("GroupNorm(1, 4)", input: [2, 4, 3, 2]) { g in randomized(GroupNorm(1, 4), &g) },
            .module("GroupNorm(4, 4)", input: [2, 4, 3, 2]) { g in randomized(GroupNorm(4, 4), &g) },
            .module("GroupNorm(2, 4)", input: [2, 4, 3, 2]) { g in randomized(GroupNorm(2, 4), &g) },
            .module("InstanceNorm1d(3, affine: true)", input: [2, 3, 5]) { g in
                randomized(InstanceNorm1d(3, affine: true), &g)
            },
            .module("InstanceNorm2d(3, affine: true)", input: [2, 3, 2, 3]) { g in
                randomized(InstanceNorm2d(3, affine: true), &g)
            },
            .module("InstanceNorm2d(3) (C, H, W)", input: [3, 2, 3]) { g in randomized(InstanceNorm2d(3), &g) },
            .module("InstanceNorm2d(3, affine, tracked) eval", input: [2, 3, 2, 2]) { g in
                randomized(InstanceNorm2d(3, affine: true, trackRunningStats: true), &g, eval: true)
            },
        ]
    }

    /// Gives `module` random parameters and running statistics (so that `γ = 1`, `β = 0`, `μ = 0`,
    /// `σ² = 1` cannot hide a mistake), optionally in evaluation mode.
    private static func randomized(_ module: Module<Double>, _ generator: inout RandomGenerator,
                                   eval: Bool = false) -> Module<Double> {
        for parameter in module.parameters {
            parameter.value = Tensor(uniform: parameter.shape, lower: 0.5, upper: 1.5, using: &generator)
                * Tensor(bernoulli: parameter.shape, probability: 0.8, using: &generator).map { $0 * 2 - 1 }
        }
        for (name, buffer) in module.namedBuffers() where !buffer.isInteger {
            let (lower, upper) = name.hasSuffix("running_var") ? (0.5, 2.0) : (-0.5, 0.5)
            buffer.value = Tensor(uniform: buffer.value.shape, lower: lower, upper: upper, using: &generator)
        }
        if eval { module.eval() }
        return module
    }
}
