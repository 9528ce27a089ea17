import CNablaKernels
import NablaTensor

/// Which kernels compute a 2-D convolution and its two gradients (`--conv-algorithm`).
///
/// Every algorithm computes the same mathematical function (``conv2d(_:weight:bias:stride:padding:dilation:groups:)``);
/// they differ in the order of the floating-point sums and so in the last bits. Each is
/// deterministic: for a given build, CPU and thread count, the same inputs give the same bits.
///
/// The choice is task-local (like ``GradientMode``): ``withConvolutionAlgorithm(_:_:)`` sets it for
/// the duration of a closure in the current task or thread. A convolution reads it when its forward
/// pass runs, and its backward pass uses the same algorithm.
public enum ConvolutionAlgorithm: String, CaseIterable, Sendable, CustomStringConvertible {
    /// ``direct`` where it applies and this build has vector fused multiply-add, else ``gemm`` — except the
    /// three products of 3×3 layers with at least 16 channels in and out, which run on ``winograd4x4``
    /// or, with at least 32, ``winograd`` (the larger tile whose tile rows fill the vectors), and the
    /// forward pass and input gradient of other wide layers whose output rows do not fill whole vectors,
    /// which are lowered to ``gemm``; fixed rules of the shapes. The default.
    case auto
    /// Lowering to a column matrix (im2col, or the row-shifted lowering) and a BLAS matrix product —
    /// Nabla's engine before the direct kernels, and the path every geometry can take.
    case gemm
    /// Direct convolution with Nabla's own SIMD micro-kernels (`DirectConvolution.swift`): no column
    /// matrix, the kernel reads shifted rows of a zero-padded copy of the input. Applies to one group,
    /// unit strides and paddings of at most `dilation·(kernel − 1)`; other geometries use ``gemm``.
    /// Unlike ``auto`` it runs even in a build without vector FMA (correct, but slow there).
    case direct
    /// Winograd's F(2×2, 3×3) (`WinogradConvolution.swift`, Lavin & Gray 2016) for the forward pass, the
    /// input gradient and the weight gradient (`WinogradWeightGradient.swift`) of 3×3 layers with unit
    /// strides and dilations, one group and paddings of at most 2: 2.25× fewer multiply-adds than the
    /// direct sum, in a different rounding. Every other geometry runs as under ``direct``.
    case winograd
    /// Winograd's F(4×4, 3×3) (`WinogradF4Transforms.swift`) for the three products of the layers
    /// ``winograd`` takes: 4× fewer multiply-adds than the direct sum, with larger transforms and a
    /// rounding error several times F(2×2)'s (``WinogradConvolution``). Every other geometry runs as
    /// under ``direct``.
    case winograd4x4

    /// The algorithm of convolutions started in the current task or thread (default ``auto``).
    @TaskLocal public static var current: ConvolutionAlgorithm = .auto

    public var description: String { rawValue }

    /// Parses a user's `--conv-algorithm` value.
    /// - Throws: ``NablaError`` naming the value and the choices.
    public init(parsing text: String) throws {
        guard let value = ConvolutionAlgorithm(rawValue: text.lowercased()) else {
            throw NablaError(.invalidArgument, "conv algorithm '\(text)': expected one of "
                             + ConvolutionAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = value
    }

    /// Whether this build can run the direct kernels: its Swift code targets a CPU with vector FMA
    /// (AVX2, AVX-512 or NEON; see ``DirectConvolutionSupport``).
    public static var directKernelsAvailable: Bool { DirectConvolutionSupport.vectorBits > 0 }
}

extension ConvolutionAlgorithm {
    /// The kernels this choice runs for a `Float` 2-D convolution of `input` `[N, C, H, W]` and `weight`
    /// `[O, C, kH, kW]` (one group, no dilation) in `product`: `.direct`, `.winograd`, `.winograd4x4` or `.gemm`
    /// (for benchmarks' labels).
    /// - Throws: ``NablaError`` when the shapes do not fit.
    package func kernels(input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int),
                         product: ConvolutionProduct = .forward) throws -> ConvolutionAlgorithm {
        let g = try Convolution2DGeometry(operation: "conv2d", input: input, weight: weight, bias: nil, stride: stride,
                                          padding: padding, dilation: (1, 1), groups: 1)
        switch g.path(self, for: Float.self, product: product) {
        case .direct: return .direct
        case .winograd: return .winograd
        case .winograd4x4: return .winograd4x4
        case .gemm: return .gemm
        }
    }
}

/// Runs `body` with convolutions in the current task or thread using `algorithm`; the previous choice
/// is restored when `body` returns or throws.
@discardableResult
public func withConvolutionAlgorithm<R>(_ algorithm: ConvolutionAlgorithm, _ body: () throws -> R) rethrows -> R {
    try ConvolutionAlgorithm.$current.withValue(algorithm, operation: body)
}

/// The SIMD width this build's Swift code targets, read at compile time through `CNablaKernels`
/// (`make release` compiles for the host CPU, so this is the machine's own width there).
public enum DirectConvolutionSupport {
    /// 512 (AVX-512), 256 (AVX2 + FMA), 128 (arm64 NEON), or 0 (no vector FMA in the target: the direct
    /// kernels are not used).
    public static let vectorBits = Int(nabla_simd_vector_bits())
    /// Vector registers of the target: 32 (AVX-512, NEON) or 16 (AVX2); sets the kernels' register tiles.
    nonisolated(unsafe) static var registerCount = Int(nabla_simd_register_count())
}

/// The kernels a convolution of a given geometry runs on.
enum ConvolutionPath: Equatable {
    case gemm, direct, winograd, winograd4x4

    /// Winograd's tile size on this path: 2 (F(2×2, 3×3)) or 4 (F(4×4, 3×3)); nil off Winograd.
    var winogradTileSize: Int? {
        switch self {
        case .winograd: 2
        case .winograd4x4: 4
        case .gemm, .direct: nil
        }
    }
}

extension Convolution2DGeometry {
    /// Whether the direct kernels compute this convolution and both gradients: one group, unit
    /// strides, and paddings no larger than the dilated kernel's reach minus one (so that the input
    /// gradient is itself a convolution of the padded upstream gradient).
    var supportsDirectConvolution: Bool {
        groups == 1 && strideHeight == 1 && strideWidth == 1 && outHeight >= 1 && outWidth >= 1
            && paddingHeight <= dilationHeight * (kernelHeight - 1) && paddingWidth <= dilationWidth * (kernelWidth - 1)
    }

    /// The kernels `algorithm` selects for `product` of this geometry and element type.
    ///
    /// ``ConvolutionAlgorithm/auto`` takes the direct kernels where they apply, except for the three
    /// products of wide 3×3 layers (``WinogradConvolution/tileSize(_:product:lanes:)``), which run on
    /// Winograd's F(4×4, 3×3) or F(2×2, 3×3), and the forward pass and input gradient of other wide,
    /// small-plane layers (``lowersBetter(_:lanes:)``), which it lowers to the BLAS product; the weight
    /// gradient of such a layer stays direct. Fixed rules of the shapes, so the choice — and the bits —
    /// do not depend on timing.
    func path<Scalar: TensorScalar>(_ algorithm: ConvolutionAlgorithm, for _: Scalar.Type,
                                    product: ConvolutionProduct = .forward) -> ConvolutionPath {
        switch algorithm {
        case .gemm:
            return .gemm
        case .auto, .direct, .winograd, .winograd4x4:
            let vectorizable = Scalar.self == Float.self || Scalar.self == Double.self
            // A test that sets the vector width runs `auto` as a build with that width would.
            let override = DirectConvolution.vectorBitsOverride
            let fast = algorithm != .auto || override != nil || ConvolutionAlgorithm.directKernelsAvailable
            guard vectorizable && fast && supportsDirectConvolution else { return .gemm }
            if WinogradConvolution.applies(to: self) {
                if algorithm == .winograd { return .winograd }
                if algorithm == .winograd4x4 { return .winograd4x4 }
            }
            if algorithm == .auto {
                let bits = override ?? DirectConvolutionSupport.vectorBits
                let lanes = Swift.max(1, bits / (8 * MemoryLayout<Scalar>.size))
                if WinogradConvolution.automatic, let tileSize = WinogradConvolution.tileSize(self, product: product, lanes: lanes) {
                    return tileSize == 4 ? .winograd4x4 : .winograd
                }
                if product != .weightGradient && lowersBetter(product, lanes: lanes) { return .gemm }
            }
            return .direct
        }
    }

    /// Whether the forward pass or the input gradient (`product`) runs faster lowered to the BLAS
    /// product than on the direct kernels with vectors of `lanes` pixels: when its output rows do not
    /// tile into whole vectors (the direct kernel then computes the padded grid, and on an 8×8 output
    /// with 3×3 "same" padding 20% of its lanes are discarded), its sums are at least 512 deep and it
    /// has at least 64 output channels — the case where the BLAS product runs near its peak. Measured
    /// on resnet20's 64→64 8×8 layers (AMD EPYC Zen 4, 2 threads, `nabla bench --kernels`): forward
    /// 3.41 ms lowered against 4.69 ms direct, input gradient 3.62 against 4.76; the weight gradient is
    /// the other way round (4.50 against 3.34), and every other layer of the reference models is
    /// faster direct.
    func lowersBetter(_ product: ConvolutionProduct, lanes: Int) -> Bool {
        let layout = product == .inputGradient
            ? DirectConvolutionLayout(inputGradient: self, lanes: lanes) : DirectConvolutionLayout(forward: self, lanes: lanes)
        let outputs = product == .inputGradient ? inChannels : outChannels
        return !layout.isRowMode && layout.depth >= 512 && outputs >= 64
    }
}
