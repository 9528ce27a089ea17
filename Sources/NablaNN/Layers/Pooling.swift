import NablaTensor

/// 2-D max pooling over NCHW input (PyTorch `nn.MaxPool2d`), computing
/// ``maxPool2d(_:kernelSize:stride:padding:dilation:ceilMode:)``: each output is the maximum of its
/// window; padding counts as −∞; the gradient goes to the (first) maximum.
public final class MaxPool2d<Scalar: TensorScalar>: Module<Scalar> {
    /// `(kH, kW)`, the window size.
    public let kernelSize: IntPair
    /// The window step; `kernelSize` unless given.
    public let stride: IntPair
    /// `(pH, pW)`, the implicit −∞ padding on each side.
    public let padding: IntPair
    /// `(dH, dW)`, the spacing between window taps.
    public let dilation: IntPair
    /// Whether the output size rounds up (`⌈…⌉`) rather than down, as PyTorch's `ceil_mode`.
    public let ceilMode: Bool

    /// - Precondition: the configuration passes ``validate(kernelSize:stride:padding:dilation:ceilMode:inputShape:)``.
    public init(kernelSize: IntPair, stride: IntPair? = nil, padding: IntPair = 0, dilation: IntPair = 1,
                ceilMode: Bool = false) {
        do {
            try Self.validate(kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation,
                              ceilMode: ceilMode)
        } catch {
            preconditionFailure("\(error)")
        }
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.dilation = dilation
        self.ceilMode = ceilMode
        super.init()
    }

    /// Square sizes given as integers; `stride` defaults to `kernelSize`.
    public convenience init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1,
                            ceilMode: Bool = false) {
        self.init(kernelSize: IntPair(kernelSize), stride: stride.map { IntPair($0) }, padding: IntPair(padding),
                  dilation: IntPair(dilation), ceilMode: ceilMode)
    }

    /// `(height, width)` sizes; `stride` defaults to `kernelSize`.
    public convenience init(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                            dilation: (Int, Int) = (1, 1), ceilMode: Bool = false) {
        self.init(kernelSize: IntPair(kernelSize), stride: stride.map { IntPair($0) }, padding: IntPair(padding),
                  dilation: IntPair(dilation), ceilMode: ceilMode)
    }

    /// Checks a configuration (and optionally an input shape `[N, C, H, W]` or `[C, H, W]`, whose
    /// padded planes must hold at least one window) before construction.
    /// - Throws: ``/NablaTensor/NablaError`` `.invalidArgument` naming the layer and the numbers.
    public static func validate(kernelSize: IntPair, stride: IntPair? = nil, padding: IntPair = 0, dilation: IntPair = 1,
                                ceilMode: Bool = false, inputShape: [Int]? = nil) throws {
        let name = "MaxPool2d(kernel_size=\(kernelSize.compactDescription))"
        try validatePooling(name, kernelSize: kernelSize, stride: stride ?? kernelSize, padding: padding,
                            dilation: dilation, ceilMode: ceilMode, inputShape: inputShape)
    }

    /// `y[n, c, h, w] = max` of the window; output `Ho = ⌊(H + 2pH − dH·(kH − 1) − 1)/sH⌋ + 1` (⌈⌉ with
    /// ``ceilMode``); the gradient goes to the first maximum of each window.
    /// - Precondition: the input fits (``validate(kernelSize:stride:padding:dilation:ceilMode:inputShape:)``).
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        do {
            try Self.validate(kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation,
                              ceilMode: ceilMode, inputShape: input.shape)
        } catch {
            preconditionFailure("\(error)")
        }
        return maxPool2d(input, kernelSize: kernelSize.tuple, stride: stride.tuple, padding: padding.tuple,
                         dilation: dilation.tuple, ceilMode: ceilMode)
    }

    /// PyTorch's `MaxPool2d.extra_repr`.
    public override var configurationDescription: String {
        "kernel_size=\(kernelSize.compactDescription), stride=\(stride.compactDescription), "
            + "padding=\(padding.compactDescription), dilation=\(dilation.compactDescription), "
            + "ceil_mode=\(ceilMode ? "True" : "False")"
    }
}

/// 2-D average pooling over NCHW input (PyTorch `nn.AvgPool2d`), computing
/// ``avgPool2d(_:kernelSize:stride:padding:ceilMode:countIncludePad:)``: each output is its window's
/// mean, where with `countIncludePad` (the default) the zero padding counts toward the divisor.
public final class AvgPool2d<Scalar: TensorScalar>: Module<Scalar> {
    /// `(kH, kW)`, the window size.
    public let kernelSize: IntPair
    /// The window step; `kernelSize` unless given.
    public let stride: IntPair
    /// `(pH, pW)`, the zero padding on each side.
    public let padding: IntPair
    /// Whether the output size rounds up (`⌈…⌉`) rather than down, as PyTorch's `ceil_mode`.
    public let ceilMode: Bool
    /// Whether padded zeros count in the divisor (PyTorch's `count_include_pad`, default `true`).
    public let countIncludePad: Bool

    /// - Precondition: the configuration passes ``validate(kernelSize:stride:padding:ceilMode:inputShape:)``.
    public init(kernelSize: IntPair, stride: IntPair? = nil, padding: IntPair = 0, ceilMode: Bool = false,
                countIncludePad: Bool = true) {
        do {
            try Self.validate(kernelSize: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode)
        } catch {
            preconditionFailure("\(error)")
        }
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
        super.init()
    }

    /// Square sizes given as integers; `stride` defaults to `kernelSize`.
    public convenience init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false,
                            countIncludePad: Bool = true) {
        self.init(kernelSize: IntPair(kernelSize), stride: stride.map { IntPair($0) }, padding: IntPair(padding),
                  ceilMode: ceilMode, countIncludePad: countIncludePad)
    }

    /// `(height, width)` sizes; `stride` defaults to `kernelSize`.
    public convenience init(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                            ceilMode: Bool = false, countIncludePad: Bool = true) {
        self.init(kernelSize: IntPair(kernelSize), stride: stride.map { IntPair($0) }, padding: IntPair(padding),
                  ceilMode: ceilMode, countIncludePad: countIncludePad)
    }

    /// Checks a configuration (and optionally an input shape) before construction.
    /// - Throws: ``/NablaTensor/NablaError`` `.invalidArgument` naming the layer and the numbers.
    public static func validate(kernelSize: IntPair, stride: IntPair? = nil, padding: IntPair = 0,
                                ceilMode: Bool = false, inputShape: [Int]? = nil) throws {
        let name = "AvgPool2d(kernel_size=\(kernelSize.compactDescription))"
        try validatePooling(name, kernelSize: kernelSize, stride: stride ?? kernelSize, padding: padding,
                            dilation: 1, ceilMode: ceilMode, inputShape: inputShape)
    }

    /// `y[n, c, h, w]` = the mean of the window; output `Ho = ⌊(H + 2pH − kH)/sH⌋ + 1` (⌈⌉ with ``ceilMode``);
    /// the gradient is spread evenly over each window.
    /// - Precondition: the input fits (``validate(kernelSize:stride:padding:ceilMode:inputShape:)``).
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        do {
            try Self.validate(kernelSize: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode,
                              inputShape: input.shape)
        } catch {
            preconditionFailure("\(error)")
        }
        return avgPool2d(input, kernelSize: kernelSize.tuple, stride: stride.tuple, padding: padding.tuple,
                         ceilMode: ceilMode, countIncludePad: countIncludePad)
    }

    /// PyTorch's `AvgPool2d.extra_repr`.
    public override var configurationDescription: String {
        "kernel_size=\(kernelSize.compactDescription), stride=\(stride.compactDescription), "
            + "padding=\(padding.compactDescription)"
    }
}

/// 2-D adaptive average pooling (PyTorch `nn.AdaptiveAvgPool2d`), computing
/// ``adaptiveAvgPool2d(_:outputSize:)``: any input plane is averaged down to `outputSize` with windows
/// `⌊i·H/Ho⌋ ..< ⌈(i+1)·H/Ho⌉`; `outputSize = 1` is global average pooling.
public final class AdaptiveAvgPool2d<Scalar: TensorScalar>: Module<Scalar> {
    /// `(Ho, Wo)`, the output plane size.
    public let outputSize: IntPair

    /// Pooling down to `outputSize`.
    ///
    /// - Precondition: `outputSize` is positive.
    public init(outputSize: IntPair) {
        do { try Self.validate(outputSize: outputSize) } catch { preconditionFailure("\(error)") }
        self.outputSize = outputSize
        super.init()
    }

    /// Pooling down to the square `outputSize × outputSize` (1: global average pooling).
    public convenience init(outputSize: Int) { self.init(outputSize: IntPair(outputSize)) }

    /// Pooling down to `(Ho, Wo)`.
    public convenience init(outputSize: (Int, Int)) { self.init(outputSize: IntPair(outputSize)) }

    /// Checks a configuration (and optionally an input shape) before construction.
    /// - Throws: ``/NablaTensor/NablaError`` `.invalidArgument` naming the layer and the numbers.
    public static func validate(outputSize: IntPair, inputShape: [Int]? = nil) throws {
        let name = "AdaptiveAvgPool2d(output_size=\(outputSize.compactDescription))"
        guard outputSize.height > 0, outputSize.width > 0 else {
            throw NablaError(.invalidArgument, "\(name): output_size \(outputSize) must be positive")
        }
        if let inputShape { _ = try Pooling2DGeometry(operation: name, shape: inputShape, outputSize: outputSize.tuple) }
    }

    /// Averages window `⌊i·H/Ho⌋ ..< ⌈(i+1)·H/Ho⌉` × (likewise for columns) into output `(i, j)`, for any input size.
    /// - Precondition: the output size is positive.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        do { try Self.validate(outputSize: outputSize, inputShape: input.shape) } catch { preconditionFailure("\(error)") }
        return adaptiveAvgPool2d(input, outputSize: outputSize.tuple)
    }

    /// PyTorch's `AdaptiveAvgPool2d.extra_repr`.
    public override var configurationDescription: String { "output_size=\(outputSize.compactDescription)" }
}

/// The checks shared by the max and average pooling layers.
private func validatePooling(_ name: String, kernelSize: IntPair, stride: IntPair, padding: IntPair, dilation: IntPair,
                             ceilMode: Bool, inputShape: [Int]?) throws {
    try Pooling2DGeometry.checkHyperparameters(operation: name, kernel: kernelSize.tuple, stride: stride.tuple,
                                               padding: padding.tuple, dilation: dilation.tuple)
    if let inputShape {
        _ = try Pooling2DGeometry(operation: name, shape: inputShape, kernel: kernelSize.tuple, stride: stride.tuple,
                                  padding: padding.tuple, dilation: dilation.tuple, ceilMode: ceilMode)
    }
}
