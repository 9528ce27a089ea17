import NablaTensor

/// A `(height, width)` pair of a 2-D layer hyper-parameter — kernel size, stride, padding, dilation —
/// written as one integer for a square value (`3`), as an array literal (`[3, 1]`) or from a tuple.
public struct IntPair: Equatable, Hashable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
    CustomStringConvertible {
    /// The vertical value (the first of PyTorch's tuple).
    public var height: Int
    /// The horizontal value (the second of PyTorch's tuple).
    public var width: Int

    /// The pair `(height, width)`.
    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    /// The square pair `(value, value)`.
    public init(_ value: Int) { self.init(value, value) }

    /// The pair `(pair.0, pair.1)`.
    public init(_ pair: (Int, Int)) { self.init(pair.0, pair.1) }

    /// The square pair `(value, value)`, so `kernelSize: 3` reads as PyTorch's `kernel_size=3`.
    public init(integerLiteral value: Int) { self.init(value) }

    /// The pair `[height, width]`, as PyTorch's `kernel_size=(3, 1)`.
    /// - Precondition: exactly two elements.
    public init(arrayLiteral elements: Int...) {
        precondition(elements.count == 2, "IntPair needs exactly 2 elements, got \(elements)")
        self.init(elements[0], elements[1])
    }

    /// The pair as a tuple, for the functional ops.
    public var tuple: (Int, Int) { (height, width) }

    /// Python's tuple syntax, `(3, 3)`, as PyTorch prints it.
    public var description: String { "(\(height), \(width))" }

    /// `3` for a square pair, `(3, 1)` otherwise (how PyTorch prints a pooling size given as an int).
    var compactDescription: String { height == width ? "\(height)" : description }
}

/// A 2-D convolution layer over NCHW input (PyTorch `nn.Conv2d`), computing
/// ``conv2d(_:weight:bias:stride:padding:dilation:groups:)``.
///
/// Parameters: `weight` `[out, in/groups, kH, kW]` and `bias` `[out]`. Default initialization is
/// PyTorch's: `kaiming_uniform(a = √5)`, which is `U(±1/√fan_in)` with `fan_in = (in/groups)·kH·kW`,
/// for the weight, and `U(±1/√fan_in)` for the bias.
public final class Conv2d<Scalar: TensorScalar>: Module<Scalar> {
    /// `C`, the input channels (PyTorch's `in_channels`).
    public let inChannels: Int
    /// `O`, the output channels (PyTorch's `out_channels`).
    public let outChannels: Int
    /// `(kH, kW)`.
    public let kernelSize: IntPair
    /// `(sH, sW)`, the step between windows.
    public let stride: IntPair
    /// `(pH, pW)`, zeros added on each side of the input plane.
    public let padding: IntPair
    /// `(dH, dW)`, the spacing between kernel taps.
    public let dilation: IntPair
    /// The number of channel groups; divides both `C` and `O`.
    public let groups: Int
    /// The kernel, `[O, C/groups, kH, kW]`.
    public let weight: Variable<Scalar>
    /// The bias, `[O]`, or `nil` when created with `bias: false`.
    public let bias: Variable<Scalar>?

    /// Creates the layer, drawing initial values from `generator`.
    /// - Precondition: the configuration passes ``validate(inChannels:outChannels:kernelSize:stride:padding:dilation:groups:inputShape:)``.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: IntPair, stride: IntPair = 1, padding: IntPair = 0,
                dilation: IntPair = 1, groups: Int = 1, bias: Bool = true, using generator: inout RandomGenerator) {
        do {
            try Self.validate(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, stride: stride,
                              padding: padding, dilation: dilation, groups: groups)
        } catch {
            preconditionFailure("\(error)")
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        let shape = [outChannels, inChannels / groups, kernelSize.height, kernelSize.width]
        (weight, self.bias) = defaultConvolutionParameters(weightShape: shape, bias: bias, using: &generator)
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    /// Creates the layer, drawing initial values from ``GlobalGenerator/shared``.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: IntPair, stride: IntPair = 1,
                            padding: IntPair = 0, dilation: IntPair = 1, groups: Int = 1, bias: Bool = true) {
        self.init(inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation,
                  groups: groups, bias: bias, using: &GlobalGenerator.shared)
    }

    /// Creates the layer with square sizes given as integers, drawing from `generator`.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true, using generator: inout RandomGenerator) {
        self.init(inChannels, outChannels, kernelSize: IntPair(kernelSize), stride: IntPair(stride),
                  padding: IntPair(padding), dilation: IntPair(dilation), groups: groups, bias: bias, using: &generator)
    }

    /// Creates the layer with square sizes given as integers, drawing from ``GlobalGenerator/shared``.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true) {
        self.init(inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation,
                  groups: groups, bias: bias, using: &GlobalGenerator.shared)
    }

    /// Creates the layer with `(height, width)` sizes, drawing from `generator`.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                            padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1,
                            bias: Bool = true, using generator: inout RandomGenerator) {
        self.init(inChannels, outChannels, kernelSize: IntPair(kernelSize), stride: IntPair(stride),
                  padding: IntPair(padding), dilation: IntPair(dilation), groups: groups, bias: bias, using: &generator)
    }

    /// Creates the layer with `(height, width)` sizes, drawing from ``GlobalGenerator/shared``.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                            padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1,
                            bias: Bool = true) {
        self.init(inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation,
                  groups: groups, bias: bias, using: &GlobalGenerator.shared)
    }

    /// Checks a configuration before constructing the layer, for configurations read from user input
    /// (a CLI flag, a model file). With `inputShape` (`[N, C, H, W]` or `[C, H, W]`) it also checks that
    /// the channels match and the dilated kernel fits the padded input.
    /// - Throws: ``/NablaTensor/NablaError`` `.invalidArgument` naming the layer and the offending numbers.
    public static func validate(inChannels: Int, outChannels: Int, kernelSize: IntPair, stride: IntPair = 1,
                                padding: IntPair = 0, dilation: IntPair = 1, groups: Int = 1,
                                inputShape: [Int]? = nil) throws {
        let name = "Conv2d(\(inChannels), \(outChannels), kernel_size=\(kernelSize))"
        try validateConvolution(name, inChannels: inChannels, outChannels: outChannels,
                                kernel: [kernelSize.height, kernelSize.width], stride: [stride.height, stride.width],
                                padding: [padding.height, padding.width], dilation: [dilation.height, dilation.width],
                                groups: groups)
        guard let inputShape else { return }
        _ = try Convolution2DGeometry(
            operation: name, input: inputShape,
            weight: [outChannels, inChannels / groups, kernelSize.height, kernelSize.width], bias: nil,
            stride: stride.tuple, padding: padding.tuple, dilation: dilation.tuple, groups: groups)
    }

    /// `y[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c]` over the channels of `o`'s group, output
    /// `[N, O, Ho, Wo]` with `Ho = ⌊(H + 2pH − dH·(kH − 1) − 1)/sH⌋ + 1` (likewise `Wo`); see
    /// ``conv2d(_:weight:bias:stride:padding:dilation:groups:)``.
    /// - Precondition: the input fits the layer (``validate(inChannels:outChannels:kernelSize:stride:padding:dilation:groups:inputShape:)``).
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        do {
            try Self.validate(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, stride: stride,
                              padding: padding, dilation: dilation, groups: groups, inputShape: input.shape)
        } catch {
            preconditionFailure("\(error)")
        }
        return conv2d(input, weight: weight, bias: bias, stride: stride.tuple, padding: padding.tuple,
                      dilation: dilation.tuple, groups: groups)
    }

    /// PyTorch's `Conv2d.extra_repr`: sizes as tuples, defaults of padding, dilation, groups and bias omitted.
    public override var configurationDescription: String {
        var text = "\(inChannels), \(outChannels), kernel_size=\(kernelSize), stride=\(stride)"
        if padding != 0 { text += ", padding=\(padding)" }
        if dilation != 1 { text += ", dilation=\(dilation)" }
        if groups != 1 { text += ", groups=\(groups)" }
        if bias == nil { text += ", bias=False" }
        return text
    }
}

/// A 1-D convolution layer over NCL input (PyTorch `nn.Conv1d`), computing
/// ``conv1d(_:weight:bias:stride:padding:dilation:groups:)``.
///
/// Parameters: `weight` `[out, in/groups, k]` and `bias` `[out]`, initialized as PyTorch does:
/// `U(±1/√fan_in)` for both, `fan_in = (in/groups)·k`.
public final class Conv1d<Scalar: TensorScalar>: Module<Scalar> {
    /// `C`, the input channels.
    public let inChannels: Int
    /// `O`, the output channels.
    public let outChannels: Int
    /// `k`, the kernel length.
    public let kernelSize: Int
    /// `s`, the step between windows.
    public let stride: Int
    /// `p`, zeros added at each end of the input.
    public let padding: Int
    /// `d`, the spacing between kernel taps.
    public let dilation: Int
    /// The number of channel groups; divides both `C` and `O`.
    public let groups: Int
    /// The kernel, `[O, C/groups, k]`.
    public let weight: Variable<Scalar>
    /// The bias, `[O]`, or `nil` when created with `bias: false`.
    public let bias: Variable<Scalar>?

    /// Creates the layer, drawing initial values from `generator`.
    /// - Precondition: the configuration passes ``validate(inChannels:outChannels:kernelSize:stride:padding:dilation:groups:inputShape:)``.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, using generator: inout RandomGenerator) {
        do {
            try Self.validate(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, stride: stride,
                              padding: padding, dilation: dilation, groups: groups)
        } catch {
            preconditionFailure("\(error)")
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        let shape = [outChannels, inChannels / groups, kernelSize]
        (weight, self.bias) = defaultConvolutionParameters(weightShape: shape, bias: bias, using: &generator)
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    /// Creates the layer, drawing initial values from ``GlobalGenerator/shared``.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true) {
        self.init(inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation,
                  groups: groups, bias: bias, using: &GlobalGenerator.shared)
    }

    /// Checks a configuration (and optionally an input shape `[N, C, L]` or `[C, L]`) before
    /// construction. - Throws: ``/NablaTensor/NablaError`` `.invalidArgument` naming the layer and the numbers.
    public static func validate(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                                dilation: Int = 1, groups: Int = 1, inputShape: [Int]? = nil) throws {
        let name = "Conv1d(\(inChannels), \(outChannels), kernel_size=(\(kernelSize),))"
        try validateConvolution(name, inChannels: inChannels, outChannels: outChannels, kernel: [kernelSize],
                                stride: [stride], padding: [padding], dilation: [dilation], groups: groups)
        guard let inputShape else { return }
        guard inputShape.count == 3 || inputShape.count == 2 else {
            throw NablaError(.invalidArgument, "\(name): input must be [N, C, L] or [C, L], got shape \(inputShape)")
        }
        let channels = inputShape[inputShape.count - 2], length = inputShape[inputShape.count - 1]
        guard channels == inChannels else {
            throw NablaError(.invalidArgument, "\(name): input has \(channels) channels, expected \(inChannels)")
        }
        guard length > 0 else {
            throw NablaError(.invalidArgument, "\(name): input of shape \(inputShape) has length 0")
        }
        guard length + 2 * padding - dilation * (kernelSize - 1) - 1 >= 0 else {
            throw NablaError(.invalidArgument, "\(name): kernel \(kernelSize) with dilation \(dilation) is larger than "
                             + "the padded input length \(length + 2 * padding)")
        }
    }

    /// `[N, C, L] → [N, O, Lo]` with `Lo = ⌊(L + 2p − d·(k − 1) − 1)/s⌋ + 1`; see
    /// ``conv1d(_:weight:bias:stride:padding:dilation:groups:)``.
    /// - Precondition: the input fits the layer (``validate(inChannels:outChannels:kernelSize:stride:padding:dilation:groups:inputShape:)``).
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        do {
            try Self.validate(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, stride: stride,
                              padding: padding, dilation: dilation, groups: groups, inputShape: input.shape)
        } catch {
            preconditionFailure("\(error)")
        }
        return conv1d(input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                      groups: groups)
    }

    /// PyTorch's `Conv1d.extra_repr`.
    public override var configurationDescription: String {
        var text = "\(inChannels), \(outChannels), kernel_size=(\(kernelSize),), stride=(\(stride),)"
        if padding != 0 { text += ", padding=(\(padding),)" }
        if dilation != 1 { text += ", dilation=(\(dilation),)" }
        if groups != 1 { text += ", groups=\(groups)" }
        if bias == nil { text += ", bias=False" }
        return text
    }
}

/// The hyper-parameter checks shared by the convolution layers; sizes have one entry per spatial axis.
private func validateConvolution(_ name: String, inChannels: Int, outChannels: Int, kernel: [Int], stride: [Int],
                                 padding: [Int], dilation: [Int], groups: Int) throws {
    func fail(_ message: String) -> NablaError { NablaError(.invalidArgument, "\(name): \(message)") }
    func show(_ values: [Int]) -> String {
        values.count == 1 ? "\(values[0])" : "(" + values.map(String.init).joined(separator: ", ") + ")"
    }
    guard inChannels > 0, outChannels > 0 else {
        throw fail("in_channels \(inChannels) and out_channels \(outChannels) must be positive")
    }
    guard kernel.allSatisfy({ $0 > 0 }) else { throw fail("kernel_size \(show(kernel)) must be positive") }
    guard stride.allSatisfy({ $0 > 0 }) else { throw fail("stride \(show(stride)) must be positive") }
    guard padding.allSatisfy({ $0 >= 0 }) else { throw fail("padding \(show(padding)) must be non-negative") }
    guard dilation.allSatisfy({ $0 > 0 }) else { throw fail("dilation \(show(dilation)) must be positive") }
    guard groups > 0 else { throw fail("groups \(groups) must be positive") }
    guard inChannels % groups == 0 else { throw fail("in_channels \(inChannels) is not divisible by groups \(groups)") }
    guard outChannels % groups == 0 else { throw fail("out_channels \(outChannels) is not divisible by groups \(groups)") }
}

/// PyTorch's `_ConvNd.reset_parameters`: weight `kaiming_uniform(a = √5)`, which is `U(±1/√fan_in)`,
/// then bias `U(±1/√fan_in)`, with `fan_in = (in/groups)·∏kernel`; drawn in that order from `generator`.
func defaultConvolutionParameters<Scalar: TensorScalar>(
    weightShape shape: [Int], bias: Bool, using generator: inout RandomGenerator
) -> (weight: Variable<Scalar>, bias: Variable<Scalar>?) {
    let weight = Variable(Tensor<Scalar>.kaimingUniform(shape, nonlinearity: .leakyRelu(negativeSlope: 5.0.squareRoot()),
                                                        using: &generator), requiresGradient: true)
    guard bias else { return (weight, nil) }
    let bound = Scalar(1 / Double(fans(of: shape).fanIn).squareRoot())
    return (weight, Variable(Tensor(uniform: [shape[0]], lower: -bound, upper: bound, using: &generator), requiresGradient: true))
}
