import NablaTensor

/// Gradient-check cases for convolution and pooling: one per configuration class (stride, padding,
/// dilation, groups, non-square kernels and inputs, no bias, pointwise, 1-D), the layers, and max /
/// average / adaptive pooling with padding, ceil mode and non-divisible windows.
extension GradientCheckSuite {
    static var convolution: [GradientCheckCase] {
        [
            .function("conv2d", shapes: [[2, 3, 5, 5], [4, 3, 3, 3], [4]]) {
                conv2d($0[0], weight: $0[1], bias: $0[2])
            },
            .function("conv2d(padding 1)", shapes: [[2, 3, 5, 4], [4, 3, 3, 3], [4]]) {
                conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1))
            },
            .function("conv2d(stride 2, odd input)", shapes: [[2, 2, 7, 5], [3, 2, 3, 3], [3]]) {
                conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1))
            },
            .function("conv2d(dilation 2)", shapes: [[1, 2, 7, 8], [3, 2, 3, 3], [3]]) {
                conv2d($0[0], weight: $0[1], bias: $0[2], padding: (2, 1), dilation: (2, 2))
            },
            .function("conv2d(groups 2)", shapes: [[2, 4, 5, 5], [6, 2, 3, 3], [6]]) {
                conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1), groups: 2)
            },
            .function("conv2d(depthwise, stride 2)", shapes: [[1, 3, 6, 6], [6, 1, 3, 3], [6]]) {
                conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), groups: 3)
            },
            .function("conv2d(non-square, no bias)", shapes: [[2, 3, 5, 8], [2, 3, 2, 3]]) {
                conv2d($0[0], weight: $0[1], bias: nil, stride: (1, 2), padding: (0, 1))
            },
            .function("conv2d(mixed stride/padding/dilation)", shapes: [[1, 3, 7, 9], [6, 1, 3, 2], [6]]) {
                conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 1), padding: (1, 0), dilation: (1, 2), groups: 3)
            },
            // C·kW ≥ 16 with unit stride and Wo = W: the row-shifted lowering (RowShiftedConvolution.swift).
            .function("conv2d(row-shifted, 6 channels, padding 1)", shapes: [[2, 6, 5, 4], [3, 6, 3, 3], [3]]) {
                conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1))
            },
            .function("conv2d(row-shifted, 3×5 kernel, padding 2, no bias)", shapes: [[1, 4, 6, 7], [2, 4, 3, 5]]) {
                conv2d($0[0], weight: $0[1], bias: nil, padding: (2, 2))
            },
            .function("conv2d(row-shifted, dilation (2, 1))", shapes: [[1, 8, 7, 5], [2, 8, 2, 3], [2]]) {
                conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1), dilation: (2, 1))
            },
            .function("conv2d(1×1)", shapes: [[2, 4, 3, 3], [5, 4, 1, 1], [5]]) {
                conv2d($0[0], weight: $0[1], bias: $0[2])
            },
            // The direct kernels (DirectConvolution.swift), pinned whatever the build's default: a
            // width that is a whole number of vectors and one that is not, a channel count that leaves
            // a partial tile, the outer-product weight gradient (3×3 and 5×5, 64 taps or more per
            // output channel) and the general one (fewer taps, dilation, a 2×3 kernel).
            .function("conv2d(direct, 3×3 padding 1, 8 channels → 3)", shapes: [[1, 8, 3, 4], [3, 8, 3, 3], [3]]) { v in
                withConvolutionAlgorithm(.direct) { conv2d(v[0], weight: v[1], bias: v[2], padding: (1, 1)) }
            },
            .function("conv2d(direct, 3×3 padding 1, odd width)", shapes: [[1, 3, 3, 5], [5, 3, 3, 3], [5]]) { v in
                withConvolutionAlgorithm(.direct) { conv2d(v[0], weight: v[1], bias: v[2], padding: (1, 1)) }
            },
            .function("conv2d(direct, 5×5 padding 2)", shapes: [[1, 3, 4, 5], [2, 3, 5, 5], [2]]) { v in
                withConvolutionAlgorithm(.direct) { conv2d(v[0], weight: v[1], bias: v[2], padding: (2, 2)) }
            },
            .function("conv2d(direct, dilation 2, no bias)", shapes: [[1, 2, 5, 6], [2, 2, 3, 3]]) { v in
                withConvolutionAlgorithm(.direct) { conv2d(v[0], weight: v[1], bias: nil, padding: (2, 1), dilation: (2, 2)) }
            },
            .function("conv2d(direct, 2×3 kernel, no padding)", shapes: [[1, 2, 4, 5], [3, 2, 2, 3], [3]]) { v in
                withConvolutionAlgorithm(.direct) { conv2d(v[0], weight: v[1], bias: v[2]) }
            },
            // Winograd F(2×2, 3×3) (WinogradConvolution.swift) for the output and the input gradient: odd
            // output sizes (a partial last tile) and each padding it takes.
            .function("conv2d(winograd, 3×3 padding 1, odd height)", shapes: [[2, 3, 5, 4], [4, 3, 3, 3], [4]]) { v in
                withConvolutionAlgorithm(.winograd) { conv2d(v[0], weight: v[1], bias: v[2], padding: (1, 1)) }
            },
            .function("conv2d(winograd, 3×3 padding (0, 2))", shapes: [[1, 2, 6, 3], [3, 2, 3, 3], [3]]) { v in
                withConvolutionAlgorithm(.winograd) { conv2d(v[0], weight: v[1], bias: v[2], padding: (0, 2)) }
            },
            // F(4×4, 3×3) (WinogradF4Transforms.swift): a partial last tile in both directions, and the
            // input gradient's padding of 2.
            .function("conv2d(winograd4x4, 3×3 padding 1, partial tiles)", shapes: [[2, 3, 6, 7], [4, 3, 3, 3], [4]]) { v in
                withConvolutionAlgorithm(.winograd4x4) { conv2d(v[0], weight: v[1], bias: v[2], padding: (1, 1)) }
            },
            .function("conv2d(winograd4x4, 3×3 padding (2, 0))", shapes: [[1, 2, 5, 9], [3, 2, 3, 3], [3]]) { v in
                withConvolutionAlgorithm(.winograd4x4) { conv2d(v[0], weight: v[1], bias: v[2], padding: (2, 0)) }
            },
            .function("conv1d(stride 2, groups 2)", shapes: [[2, 4, 9], [6, 2, 3], [6]]) {
                conv1d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1, groups: 2)
            },
            .module("Conv2d(3, 4, 3, padding 1)", input: [2, 3, 5, 5]) { Conv2d(3, 4, kernelSize: 3, padding: 1, using: &$0) },
            .module("Conv2d(4, 4, (3, 1), groups 2, no bias)", input: [1, 4, 6, 5]) {
                Conv2d(4, 4, kernelSize: [3, 1], stride: [2, 1], groups: 2, bias: false, using: &$0)
            },
            .module("Conv1d(2, 3, 3, dilation 2)", input: [2, 2, 8]) { Conv1d(2, 3, kernelSize: 3, dilation: 2, using: &$0) },
        ] + pooling
    }

    private static var pooling: [GradientCheckCase] {
        [
            distinctInput("maxPool2d(2)", shape: [2, 2, 6, 6]) { maxPool2d($0, kernelSize: (2, 2)) },
            distinctInput("maxPool2d(3, stride 2, padding 1)", shape: [1, 2, 7, 9]) {
                maxPool2d($0, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1))
            },
            distinctInput("maxPool2d(3, stride 2, padding 1, ceil)", shape: [1, 2, 6, 6]) {
                maxPool2d($0, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true)
            },
            distinctInput("maxPool2d((3, 2), dilation 2)", shape: [1, 2, 8, 7]) {
                maxPool2d($0, kernelSize: (3, 2), stride: (1, 2), padding: (1, 1), dilation: (2, 2))
            },
            .function("avgPool2d(2)", shapes: [[2, 2, 6, 6]]) { avgPool2d($0[0], kernelSize: (2, 2)) },
            .function("avgPool2d(3, stride 2, padding 1, ceil)", shapes: [[1, 2, 6, 8]]) {
                avgPool2d($0[0], kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), ceilMode: true)
            },
            .function("avgPool2d(exclude padding, ceil)", shapes: [[1, 2, 7, 5]]) {
                avgPool2d($0[0], kernelSize: (3, 2), stride: (2, 1), padding: (1, 1), ceilMode: true,
                          countIncludePad: false)
            },
            .function("adaptiveAvgPool2d(7×9 → 3×4)", shapes: [[2, 2, 7, 9]]) { adaptiveAvgPool2d($0[0], outputSize: (3, 4)) },
            .function("adaptiveAvgPool2d(global)", shapes: [[2, 3, 5, 4]]) { adaptiveAvgPool2d($0[0], outputSize: (1, 1)) },
            .module("MaxPool2d(2)", input: [1, 2, 4, 4]) { _ in MaxPool2d(kernelSize: 2) },
            .module("AvgPool2d(3, stride 2, padding 1)", input: [1, 2, 5, 5]) { _ in
                AvgPool2d(kernelSize: 3, stride: 2, padding: 1)
            },
            .module("AdaptiveAvgPool2d((2, 3))", input: [1, 2, 5, 7]) { _ in AdaptiveAvgPool2d(outputSize: (2, 3)) },
        ]
    }

    /// A case whose input is a shuffled ramp with steps of 0.1, so no window has two maxima within
    /// the finite-difference step (a tie is a kink where the gradient is not defined).
    private static func distinctInput(_ name: String, shape: [Int],
                                      _ f: @escaping @Sendable (Variable<Double>) -> Variable<Double>) -> GradientCheckCase {
        GradientCheckCase(name, shapes: "\(shape)") {
            let count = shape.reduce(1, *)
            var generator = RandomGenerator(seed: 11)
            var values = (0..<count).map { Double($0) * 0.1 - Double(count) * 0.05 }
            values.shuffle(using: &generator)
            return checkGradients(at: [Tensor(shape: shape, scalars: values)]) { f($0[0]) }
        }
    }
}
