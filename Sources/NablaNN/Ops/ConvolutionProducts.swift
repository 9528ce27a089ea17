import NablaTensor

/// The three matrix-product-like passes of a convolution, each runnable on its own so that benchmarks
/// (`nabla bench --kernels`) can time them separately.
public enum ConvolutionProduct: String, CaseIterable, Sendable {
    /// `y = W ⋆ x` (no bias).
    case forward
    /// `∂x` from `∂y` and `W`.
    case inputGradient
    /// `∂W` from `∂y` and `x`.
    case weightGradient

    /// Multiply-adds of this product, the same for all three: `N·O·Ho·Wo·(C/groups)·kH·kW`.
    public static func multiplyAdds(input: [Int], weight: [Int], stride: (Int, Int) = (1, 1),
                                    padding: (Int, Int) = (0, 0)) throws -> Int {
        try Convolution2DGeometry(operation: "conv2d", input: input, weight: weight, bias: nil, stride: stride,
                                  padding: padding, dilation: (1, 1), groups: 1).multiplyAddCount
    }

    /// Runs this product once for `x` `[N, C, H, W]`, `w` `[O, C, kH, kW]` and upstream gradient
    /// `gy` (the output's shape), with `algorithm`, overwriting `result` (whose shape must be the
    /// output's, `x`'s or `w`'s).
    /// - Throws: ``NablaError`` when the shapes do not fit.
    public func run(input x: Tensor<Float>, weight w: Tensor<Float>, upstream gy: Tensor<Float>,
                    stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                    algorithm: ConvolutionAlgorithm, into result: inout Tensor<Float>) throws {
        let g = try Convolution2DGeometry(operation: "conv2d", input: x.shape, weight: w.shape, bias: nil, stride: stride,
                                          padding: padding, dilation: (1, 1), groups: 1)
        let expected: [Int]
        switch self {
        case .forward: expected = [g.batch, g.outChannels, g.outHeight, g.outWidth]
        case .inputGradient: expected = x.shape
        case .weightGradient: expected = w.shape
        }
        guard result.shape == expected, gy.shape == [g.batch, g.outChannels, g.outHeight, g.outWidth] else {
            throw NablaError(.invalidArgument, "conv2d \(rawValue): result \(result.shape) must be \(expected), upstream \(gy.shape) the output's shape")
        }
        x.withUnsafeBufferPointer { px in
            w.withUnsafeBufferPointer { pw in
                gy.withUnsafeBufferPointer { pg in
                    result.withUnsafeMutableBufferPointer { pr in
                        switch self {
                        case .forward:
                            convolution2DForward(input: px.baseAddress!, weight: pw.baseAddress!, bias: nil,
                                                 output: pr.baseAddress!, geometry: g, algorithm: algorithm)
                        case .inputGradient, .weightGradient:
                            convolution2DBackward(input: px.baseAddress!, weight: pw.baseAddress!, upstream: pg.baseAddress!,
                                                  inputGradient: self == .inputGradient ? pr.baseAddress! : nil,
                                                  weightGradient: self == .weightGradient ? pr.baseAddress! : nil,
                                                  biasGradient: nil, geometry: g, algorithm: algorithm)
                        }
                    }
                }
            }
        }
    }
}
