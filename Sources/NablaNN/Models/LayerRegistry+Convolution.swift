/// Model-description factories for convolution and pooling layers.
extension LayerRegistry {
    /// An `int` or `[int, int]` argument as an ``IntPair``.
    static func intPair(_ args: inout LayerArguments, _ name: String, default value: (Int, Int)? = nil) throws -> IntPair {
        IntPair(try args.pair(name, default: value))
    }

    /// PyTorch's output extent of a convolution along one axis.
    static func convolutionExtent(_ input: Int, _ kernel: Int, _ stride: Int, _ padding: Int, _ dilation: Int) -> Int {
        Convolution2DGeometry.outputExtent(input: input, kernel: kernel, stride: stride, padding: padding, dilation: dilation)
    }

    /// PyTorch's output extent of a pooling window along one axis (with `ceil_mode`'s rule).
    static func poolingExtent(_ input: Int, _ kernel: Int, _ stride: Int, _ padding: Int, _ dilation: Int, ceil: Bool) -> Int {
        Pooling2DGeometry.outputExtent(input: input, kernel: kernel, stride: stride, padding: padding, dilation: dilation, ceilMode: ceil)
    }

    static func requireImage(_ args: LayerArguments, _ shape: [Int], rank: Int = 3) throws {
        guard shape.count == rank else {
            let expected = rank == 3 ? "(N, C, H, W)" : "(N, C, L)"
            throw args.fail("expects \(expected) inputs, receives per-sample shape \(shape)")
        }
    }

    static func rejectPaddingMode(_ args: inout LayerArguments) throws {
        let mode = try args.string("padding_mode", default: "zeros")
        guard mode == "zeros" else { throw args.fail("padding_mode '\(mode)' is not supported (only 'zeros')") }
    }

    /// A convolution's `padding` per axis: integers, or PyTorch's strings `"valid"` (no padding) and
    /// `"same"` (total padding `dilation·(kernel − 1)`, which needs stride 1; PyTorch pads the odd
    /// extra pixel on the far side, which Nabla's symmetric padding cannot express, so an odd total
    /// is an error naming the axis).
    static func convolutionPadding(_ args: inout LayerArguments, kernel: [Int], stride: [Int], dilation: [Int]) throws -> [Int] {
        guard case .string(let mode)? = args.raw("padding") else {
            if kernel.count == 1 { return [try args.int("padding", default: 0)] }
            let pair = try args.pair("padding", default: (0, 0))
            return [pair.0, pair.1]
        }
        switch mode {
        case "valid": return kernel.map { _ in 0 }
        case "same":
            guard stride.allSatisfy({ $0 == 1 }) else { throw args.fail("padding='same' is not supported for strided convolutions") }
            return try zip(kernel, dilation).map { k, d in
                let total = d * (k - 1)
                guard total % 2 == 0 else {
                    throw args.fail("padding='same' with kernel \(k) and dilation \(d) pads one pixel more on one side, which is not supported (use an odd kernel)")
                }
                return total / 2
            }
        default: throw args.fail("padding '\(mode)' is not supported (an integer, 'valid' or 'same')")
        }
    }

    static var convolutionFactories: [LayerFactory] {
        [
            LayerFactory("Conv2d") { args, shape, g in
                let (i, o) = (try args.int("in_channels"), try args.int("out_channels"))
                let kernel = try intPair(&args, "kernel_size")
                let stride = try intPair(&args, "stride", default: (1, 1))
                let dilation = try intPair(&args, "dilation", default: (1, 1))
                let pads = try convolutionPadding(&args, kernel: [kernel.height, kernel.width], stride: [stride.height, stride.width],
                                                  dilation: [dilation.height, dilation.width])
                let padding = IntPair(pads[0], pads[1])
                let groups = try args.int("groups", default: 1)
                let bias = try args.bool("bias", default: true)
                try rejectPaddingMode(&args)
                try acceptDeviceAndDType(&args)
                try requireImage(args, shape)
                try check(args) {
                    try Conv2d<Float>.validate(inChannels: i, outChannels: o, kernelSize: kernel, stride: stride, padding: padding,
                                               dilation: dilation, groups: groups, inputShape: [1] + shape)
                }
                try ModelLimits.check([o, i / groups, kernel.height, kernel.width], "weight", context: args.context)
                let output = [o, convolutionExtent(shape[1], kernel.height, stride.height, padding.height, dilation.height),
                              convolutionExtent(shape[2], kernel.width, stride.width, padding.width, dilation.width)]
                try ModelLimits.check(output, "output shape", context: args.context)
                let layer = Conv2d<Float>(i, o, kernelSize: kernel, stride: stride, padding: padding, dilation: dilation,
                                          groups: groups, bias: bias, using: &g)
                return (layer, output)
            },
            LayerFactory("Conv1d") { args, shape, g in
                let (i, o) = (try args.int("in_channels"), try args.int("out_channels"))
                let kernel = try args.int("kernel_size")
                let stride = try args.int("stride", default: 1)
                let dilation = try args.int("dilation", default: 1)
                let padding = try convolutionPadding(&args, kernel: [kernel], stride: [stride], dilation: [dilation])[0]
                let groups = try args.int("groups", default: 1)
                let bias = try args.bool("bias", default: true)
                try rejectPaddingMode(&args)
                try acceptDeviceAndDType(&args)
                try requireImage(args, shape, rank: 2)
                try check(args) {
                    try Conv1d<Float>.validate(inChannels: i, outChannels: o, kernelSize: kernel, stride: stride, padding: padding,
                                               dilation: dilation, groups: groups, inputShape: [1] + shape)
                }
                try ModelLimits.check([o, i / groups, kernel], "weight", context: args.context)
                let output = [o, convolutionExtent(shape[1], kernel, stride, padding, dilation)]
                try ModelLimits.check(output, "output shape", context: args.context)
                let layer = Conv1d<Float>(i, o, kernelSize: kernel, stride: stride, padding: padding, dilation: dilation,
                                          groups: groups, bias: bias, using: &g)
                return (layer, output)
            },
            LayerFactory("MaxPool2d") { args, shape, _ in
                let kernel = try intPair(&args, "kernel_size")
                let stride = args.isPresent("stride") ? try intPair(&args, "stride") : nil
                _ = args.raw("stride")
                let padding = try intPair(&args, "padding", default: (0, 0))
                let dilation = try intPair(&args, "dilation", default: (1, 1))
                let ceil = try args.bool("ceil_mode", default: false)
                guard try !args.bool("return_indices", default: false) else { throw args.fail("return_indices=true is not supported") }
                try requireImage(args, shape)
                try check(args) {
                    try MaxPool2d<Float>.validate(kernelSize: kernel, stride: stride, padding: padding, dilation: dilation,
                                                  ceilMode: ceil, inputShape: [1] + shape)
                }
                let step = stride ?? kernel
                let output = [shape[0], poolingExtent(shape[1], kernel.height, step.height, padding.height, dilation.height, ceil: ceil),
                              poolingExtent(shape[2], kernel.width, step.width, padding.width, dilation.width, ceil: ceil)]
                return (MaxPool2d<Float>(kernelSize: kernel, stride: stride, padding: padding, dilation: dilation, ceilMode: ceil), output)
            },
            LayerFactory("AvgPool2d") { args, shape, _ in
                let kernel = try intPair(&args, "kernel_size")
                let stride = args.isPresent("stride") ? try intPair(&args, "stride") : nil
                _ = args.raw("stride")
                let padding = try intPair(&args, "padding", default: (0, 0))
                let ceil = try args.bool("ceil_mode", default: false)
                let includePad = try args.bool("count_include_pad", default: true)
                if args.isPresent("divisor_override") { throw args.fail("divisor_override is not supported") }
                _ = args.raw("divisor_override")
                try requireImage(args, shape)
                try check(args) {
                    try AvgPool2d<Float>.validate(kernelSize: kernel, stride: stride, padding: padding, ceilMode: ceil,
                                                  inputShape: [1] + shape)
                }
                let step = stride ?? kernel
                let output = [shape[0], poolingExtent(shape[1], kernel.height, step.height, padding.height, 1, ceil: ceil),
                              poolingExtent(shape[2], kernel.width, step.width, padding.width, 1, ceil: ceil)]
                return (AvgPool2d<Float>(kernelSize: kernel, stride: stride, padding: padding, ceilMode: ceil, countIncludePad: includePad), output)
            },
            LayerFactory("AdaptiveAvgPool2d") { args, shape, _ in
                try requireImage(args, shape)
                // PyTorch's None in output_size keeps that axis of the input.
                let size: IntPair
                switch args.raw("output_size") {
                case .null?: size = IntPair(shape[1], shape[2])
                case .list(let items)? where items.count == 2 && items.contains(.null):
                    func extent(_ item: LayerArgument, _ input: Int) throws -> Int {
                        if case .int(let v) = item { return v }
                        if item == .null { return input }
                        throw args.fail("argument 'output_size' must be an integer or a pair of integers or nulls, got \(LayerArgument.list(items))")
                    }
                    size = IntPair(try extent(items[0], shape[1]), try extent(items[1], shape[2]))
                default: size = try intPair(&args, "output_size")
                }
                try check(args) { try AdaptiveAvgPool2d<Float>.validate(outputSize: size, inputShape: [1] + shape) }
                return (AdaptiveAvgPool2d<Float>(outputSize: size), [shape[0], size.height, size.width])
            },
        ]
    }
}
