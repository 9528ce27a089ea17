import NablaTensor

/// The window arithmetic of 2-D max and average pooling over the planes of an NCHW tensor, as in
/// PyTorch's `pooling_output_shape`.
///
/// Along each axis, with input extent `I`, kernel `k`, stride `s`, padding `p` and dilation `d`, the
/// output extent is `O = ⌊(I + 2p − d·(k − 1) − 1 + (ceil ? s − 1 : 0)) / s⌋ + 1`; in ceil mode the last
/// window must start inside the input or the left padding, so `O` drops by one when
/// `(O − 1)·s ≥ I + p`. Window `o` covers input positions `o·s − p + j·d`, `j < k`.
struct Pooling2DGeometry: Equatable {
    /// `N·C` (or `C` for an unbatched input): the number of planes pooled independently.
    var planes: Int
    var inHeight: Int, inWidth: Int
    var kernelHeight: Int, kernelWidth: Int
    var strideHeight: Int, strideWidth: Int
    var paddingHeight: Int, paddingWidth: Int
    var dilationHeight: Int, dilationWidth: Int
    var ceilMode: Bool
    var outHeight: Int, outWidth: Int

    var inPlane: Int { inHeight * inWidth }
    var outPlane: Int { outHeight * outWidth }

    /// The output shape for an input of `shape`: the last two extents replaced by `Ho, Wo`.
    func outputShape(for shape: [Int]) -> [Int] { shape.dropLast(2) + [outHeight, outWidth] }
}

extension Pooling2DGeometry {
    /// The checks that need no input: positive kernel, stride and dilation, and padding between 0 and
    /// half the kernel (PyTorch's rule, which keeps every window partly inside the input).
    static func checkHyperparameters(operation: String, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
                                     dilation: (Int, Int)) throws {
        func fail(_ message: String) -> NablaError { NablaError(.invalidArgument, "\(operation): \(message)") }
        guard kernel.0 > 0, kernel.1 > 0 else { throw fail("kernel_size \(kernel) must be positive") }
        guard stride.0 > 0, stride.1 > 0 else { throw fail("stride \(stride) must be positive") }
        guard dilation.0 > 0, dilation.1 > 0 else { throw fail("dilation \(dilation) must be positive") }
        guard padding.0 >= 0, padding.1 >= 0, padding.0 <= kernel.0 / 2, padding.1 <= kernel.1 / 2 else {
            throw fail("padding \(padding) must be non-negative and at most half of kernel_size \(kernel)")
        }
    }

    /// PyTorch's `pooling_output_shape` (may be below 1 for a window that does not fit).
    static func outputExtent(input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, ceilMode: Bool) -> Int {
        let numerator = input + 2 * padding - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0)
        // Division rounding toward −∞.
        var extent = (numerator >= 0 ? numerator / stride : -((-numerator + stride - 1) / stride)) + 1
        if ceilMode && (extent - 1) * stride >= input + padding { extent -= 1 }
        return extent
    }

    /// Validates the hyper-parameters against `shape` (`[N, C, H, W]` or `[C, H, W]`), naming
    /// `operation` and the numbers in the error (PyTorch's `pool2d_shape_check`).
    init(operation: String, shape: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
         dilation: (Int, Int), ceilMode: Bool) throws {
        func fail(_ message: String) -> NablaError { NablaError(.invalidArgument, "\(operation): \(message)") }
        try Self.checkHyperparameters(operation: operation, kernel: kernel, stride: stride, padding: padding,
                                      dilation: dilation)
        guard shape.count == 4 || shape.count == 3 else {
            throw fail("input must be [N, C, H, W] or [C, H, W], got shape \(shape)")
        }
        let height = shape[shape.count - 2], width = shape[shape.count - 1]
        guard height > 0, width > 0 else { throw fail("input of shape \(shape) has an empty plane") }
        let outHeight = Self.outputExtent(input: height, kernel: kernel.0, stride: stride.0, padding: padding.0,
                                          dilation: dilation.0, ceilMode: ceilMode)
        let outWidth = Self.outputExtent(input: width, kernel: kernel.1, stride: stride.1, padding: padding.1,
                                         dilation: dilation.1, ceilMode: ceilMode)
        guard outHeight >= 1, outWidth >= 1 else {
            throw fail("kernel \(kernel.0)×\(kernel.1) with dilation \(dilation) is larger than the padded input "
                       + "\(height + 2 * padding.0)×\(width + 2 * padding.1) (output would be \(outHeight)×\(outWidth))")
        }
        self.init(planes: shape.dropLast(2).reduce(1, *), inHeight: height, inWidth: width,
                  kernelHeight: kernel.0, kernelWidth: kernel.1, strideHeight: stride.0, strideWidth: stride.1,
                  paddingHeight: padding.0, paddingWidth: padding.1, dilationHeight: dilation.0,
                  dilationWidth: dilation.1, ceilMode: ceilMode, outHeight: outHeight, outWidth: outWidth)
    }
}

extension Pooling2DGeometry {
    /// The geometry of adaptive pooling of `shape` (`[N, C, H, W]` or `[C, H, W]`) to `outputSize`.
    init(operation: String, shape: [Int], outputSize: (Int, Int)) throws {
        func fail(_ message: String) -> NablaError { NablaError(.invalidArgument, "\(operation): \(message)") }
        guard outputSize.0 > 0, outputSize.1 > 0 else { throw fail("output_size \(outputSize) must be positive") }
        guard shape.count == 4 || shape.count == 3 else {
            throw fail("input must be [N, C, H, W] or [C, H, W], got shape \(shape)")
        }
        let height = shape[shape.count - 2], width = shape[shape.count - 1]
        guard height > 0, width > 0 else { throw fail("input of shape \(shape) has an empty plane") }
        self.init(planes: shape.dropLast(2).reduce(1, *), inHeight: height, inWidth: width,
                  kernelHeight: 0, kernelWidth: 0, strideHeight: 0, strideWidth: 0, paddingHeight: 0, paddingWidth: 0,
                  dilationHeight: 1, dilationWidth: 1, ceilMode: false, outHeight: outputSize.0, outWidth: outputSize.1)
    }
}

/// 2-D max pooling as one tape node, PyTorch's `F.max_pool2d`:
/// `y[n, c, h, w] = max_{i < kH, j < kW} x[n, c, h·sH − pH + i·dH, w·sW − pW + j·dW]`, where padding
/// counts as −∞ (it never wins).
///
/// The backward pass sends each upstream gradient to the position of its window's maximum, recorded
/// in the forward pass; among equal maxima the first in row-major window order wins, and a NaN wins
/// over any number (both as in PyTorch).
/// - Parameters:
///   - x: the input `[N, C, H, W]` (or unbatched `[C, H, W]`).
///   - kernelSize: window `(height, width)`.
///   - stride: defaults to `kernelSize`.
///   - padding: implicit −∞ border, at most half the kernel.
///   - dilation: spacing of the window taps.
///   - ceilMode: round the output extent up (see `Pooling2DGeometry`).
public func maxPool2d<Scalar>(
    _ x: Variable<Scalar>, kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
    dilation: (Int, Int) = (1, 1), ceilMode: Bool = false
) -> Variable<Scalar> {
    let geometry = poolingGeometry("max_pool2d", x.shape, kernelSize, stride ?? kernelSize, padding, dilation, ceilMode)
    if geometry.planes == 0 { return emptyPooling(x, geometry: geometry) }
    let xv = x.value
    var indices = [Int32](repeating: 0, count: geometry.planes * geometry.outPlane)
    let out = Tensor<Scalar>(shape: geometry.outputShape(for: x.shape)) { o in
        xv.withUnsafeBufferPointer { px in
            indices.withUnsafeMutableBufferPointer { pi in
                maxPool2DForward(px.baseAddress!, geometry, output: o.baseAddress!, argmax: pi.baseAddress!)
            }
        }
    }
    return Variable(out, inputs: [x]) { g in
        var dx = Tensor<Scalar>(shape: xv.shape) { _ in }   // the kernel zeroes it
        dx.withUnsafeMutableBufferPointer { pdx in
            g.withUnsafeBufferPointer { pg in
                indices.withUnsafeBufferPointer { pi in
                    maxPool2DBackward(pg.baseAddress!, argmax: pi.baseAddress!, geometry, into: pdx.baseAddress!)
                }
            }
        }
        x.accumulate(dx)
    }
}

/// 2-D average pooling as one tape node, PyTorch's `F.avg_pool2d`: each output is the sum of its
/// window's in-bounds inputs divided by the window size.
///
/// The window is clipped to the padded input `[−p, I + p)`; with `countIncludePad` the divisor is the
/// clipped window's size (padding zeros count), otherwise the number of real input positions in it.
/// Backward spreads `∂y / divisor` over the same positions.
/// - Parameters: as ``maxPool2d(_:kernelSize:stride:padding:dilation:ceilMode:)`` without dilation.
public func avgPool2d<Scalar>(
    _ x: Variable<Scalar>, kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
    ceilMode: Bool = false, countIncludePad: Bool = true
) -> Variable<Scalar> {
    let geometry = poolingGeometry("avg_pool2d", x.shape, kernelSize, stride ?? kernelSize, padding, (1, 1), ceilMode)
    let windows = PoolingWindows.average(geometry, countIncludePad: countIncludePad)
    return pooledAverage(x, geometry: geometry, windows: windows)
}

/// 2-D adaptive average pooling as one tape node, PyTorch's `F.adaptive_avg_pool2d`: output `(i, j)`
/// of an `Ho×Wo` result averages rows `⌊i·H/Ho⌋ ..< ⌈(i+1)·H/Ho⌉` and columns
/// `⌊j·W/Wo⌋ ..< ⌈(j+1)·W/Wo⌉`, so windows may overlap and differ in size when the extents do not
/// divide. `outputSize = (1, 1)` is global average pooling.
public func adaptiveAvgPool2d<Scalar>(_ x: Variable<Scalar>, outputSize: (Int, Int)) -> Variable<Scalar> {
    let geometry: Pooling2DGeometry
    do {
        geometry = try Pooling2DGeometry(operation: "adaptive_avg_pool2d", shape: x.shape, outputSize: outputSize)
    } catch {
        preconditionFailure("\(error)")
    }
    return pooledAverage(x, geometry: geometry, windows: PoolingWindows.adaptive(geometry))
}

/// Builds and checks a pooling geometry, trapping with the validator's message on misuse.
private func poolingGeometry(_ operation: String, _ shape: [Int], _ kernel: (Int, Int), _ stride: (Int, Int),
                             _ padding: (Int, Int), _ dilation: (Int, Int), _ ceilMode: Bool) -> Pooling2DGeometry {
    do {
        return try Pooling2DGeometry(operation: operation, shape: shape, kernel: kernel, stride: stride,
                                     padding: padding, dilation: dilation, ceilMode: ceilMode)
    } catch {
        preconditionFailure("\(error)")
    }
}

/// The shared tape node of average and adaptive average pooling.
private func pooledAverage<Scalar>(_ x: Variable<Scalar>, geometry: Pooling2DGeometry,
                                   windows: PoolingWindows) -> Variable<Scalar> {
    if geometry.planes == 0 { return emptyPooling(x, geometry: geometry) }
    let xv = x.value
    let out = Tensor<Scalar>(shape: geometry.outputShape(for: x.shape)) { o in
        xv.withUnsafeBufferPointer { px in
            averagePool2DForward(px.baseAddress!, geometry, windows, output: o.baseAddress!)
        }
    }
    return Variable(out, inputs: [x]) { g in
        var dx = Tensor<Scalar>(shape: xv.shape) { _ in }   // the kernel zeroes it
        dx.withUnsafeMutableBufferPointer { pdx in
            g.withUnsafeBufferPointer { pg in
                averagePool2DBackward(pg.baseAddress!, geometry, windows, into: pdx.baseAddress!)
            }
        }
        x.accumulate(dx)
    }
}

/// Pooling of an input with no planes (an empty batch): an empty output and a zero gradient.
private func emptyPooling<Scalar>(_ x: Variable<Scalar>, geometry: Pooling2DGeometry) -> Variable<Scalar> {
    Variable(Tensor(zeros: geometry.outputShape(for: x.shape)), inputs: [x]) { _ in x.accumulate(Tensor(zeros: x.shape)) }
}
