import XCTest
@testable import NablaTensor
@testable import NablaNN
import NablaTestSupport

/// The direct convolution kernels (DirectConvolution.swift) on every code path: each vector width
/// (16, 8, 4 Float lanes; 8, 4, 2 Double lanes) and register-tile family (32 and 16 registers), row
/// and flat mode, partial channel tiles, the outer-product and the general weight gradient, one core
/// and the batch split over several — against PyTorch's fixtures and against the BLAS path.
final class DirectConvolutionTests: XCTestCase {
    static let widths = [512, 256, 128]
    static let registerFiles = [32, 16]
    static let defaultRegisters = DirectConvolutionSupport.registerCount

    override func tearDown() {
        Self.resetKernelChoices()
        super.tearDown()
    }

    /// Puts back every switch the direct-convolution tests turn: vector width, register file, kernel
    /// choices (outer-product and masked weight gradients, column-split, batch-vector and row-reusing
    /// correlations, channel-vector forward pass) and the threading threshold.
    static func resetKernelChoices() {
        DirectConvolution.vectorBitsOverride = nil
        DirectConvolutionSupport.registerCount = defaultRegisters
        DirectConvolution.outerKernels = true
        DirectConvolution.columnSplitOverride = nil
        DirectConvolution.channelVectorOverride = nil
        DirectConvolution.columnMaskOverride = nil
        DirectConvolution.batchVectorOverride = nil
        DirectConvolution.rowReuseOverride = nil
        WinogradConvolution.automatic = true
        ConvolutionTuning.parallelThreshold = 1 << 18
        ConvolutionParallelism.override = nil
    }

    /// Runs `body` under every combination of vector width, register file and threading.
    static func forEveryKernelFamily(_ body: (String) throws -> Void) rethrows {
        for bits in widths {
            for registers in registerFiles {
                for threshold in [Int.max, 0] {
                    DirectConvolution.vectorBitsOverride = bits
                    DirectConvolutionSupport.registerCount = registers
                    ConvolutionTuning.parallelThreshold = threshold
                    try body("\(bits)-bit vectors, \(registers) registers, \(threshold == 0 ? "split" : "one core")")
                }
            }
        }
    }

    func testMatchesPyTorchOnEveryKernelFamily() throws {
        let names = ConvolutionTests.convolutionFixtures
        var direct: [String] = []
        for name in names {
            let file = try Fixtures.load("convolution", name)
            let meta = file.metadata
            let input = file.tensor("input", as: Double.self).shape, weight = file.tensor("weight", as: Double.self).shape
            let geometry = meta["op"] == "conv1d"
                ? try Convolution2DGeometry(operation: "conv1d", input: [input[0], input[1], 1, input[2]],
                                            weight: [weight[0], weight[1], 1, weight[2]], bias: nil,
                                            stride: (1, Int(meta["stride"]!)!), padding: (0, Int(meta["padding"]!)!),
                                            dilation: (1, Int(meta["dilation"]!)!), groups: Int(meta["groups"]!)!)
                : try Convolution2DGeometry(operation: "conv2d", input: input, weight: weight, bias: nil,
                                            stride: fixturePair(meta["stride"]), padding: fixturePair(meta["padding"]),
                                            dilation: fixturePair(meta["dilation"]), groups: Int(meta["groups"]!)!)
            if geometry.supportsDirectConvolution { direct.append(name) }
        }
        XCTAssertGreaterThanOrEqual(direct.count, 5, "fixtures the direct kernels take: \(direct)")
        try withConvolutionAlgorithm(.direct) {
            try Self.forEveryKernelFamily { family in
                for name in direct {
                    try checkConvolutionFixture(name, as: Double.self, relative: 1e-10, absolute: 1e-12, family)
                    try checkConvolutionFixture(name, as: Float.self, relative: 1e-5, absolute: 1e-5, family)
                }
            }
        }
    }

    /// (input channels, output channels, H, W, kernel (kH, kW), padding, dilation, batch): row mode and
    /// flat mode at every width, packed row tails (``PackedRowTails``) at every width (the last two
    /// shapes on 8 lanes: a last tail vector with fewer rows, dilation), channel counts that leave partial
    /// tiles, 3×3 and 5×5 weight gradients on the outer-product kernel and smaller depths, 1×1 and 2×3
    /// kernels and dilation on the general one; the last shape puts a dilated 3×3 weight gradient on the
    /// 16-register outer kernel's groups of four channel vectors and its leftover vectors.
    static let shapes: [Shape] = [
        (8, 5, 4, 8, (3, 3), (1, 1), (1, 1), 3),
        (3, 9, 3, 7, (3, 3), (1, 1), (1, 1), 2),
        (4, 3, 6, 7, (5, 5), (2, 2), (1, 1), 1),
        (6, 4, 9, 9, (5, 5), (0, 0), (1, 1), 1),
        (2, 3, 6, 8, (3, 3), (2, 1), (2, 2), 1),
        (16, 8, 3, 4, (1, 1), (0, 0), (1, 1), 2),
        (2, 4, 4, 6, (2, 3), (0, 1), (1, 1), 3),
        (9, 17, 3, 16, (3, 3), (1, 0), (1, 1), 1),
        (1, 6, 5, 12, (5, 5), (2, 2), (1, 1), 2),
        (3, 5, 7, 10, (3, 3), (2, 2), (2, 2), 2),
        (8, 18, 5, 6, (3, 3), (2, 2), (2, 2), 2),
    ]

    /// A unit-stride test convolution: (input channels, output channels, H, W, kernel, padding, dilation, batch).
    typealias Shape = (cin: Int, cout: Int, h: Int, w: Int, kernel: (Int, Int), padding: (Int, Int), dilation: (Int, Int), batch: Int)

    static func geometry(_ shape: Shape) -> Convolution2DGeometry {
        Convolution2DGeometry(batch: shape.batch, inChannels: shape.cin, inHeight: shape.h, inWidth: shape.w,
                              outChannels: shape.cout, kernelHeight: shape.kernel.0, kernelWidth: shape.kernel.1,
                              strideHeight: 1, strideWidth: 1, paddingHeight: shape.padding.0, paddingWidth: shape.padding.1,
                              dilationHeight: shape.dilation.0, dilationWidth: shape.dilation.1, groups: 1)
    }

    /// Random Double input, weight and bias of `shape` from `generator`, and a function that runs the
    /// convolution with an algorithm and returns `[y, ∂x, ∂W, ∂b]` for an upstream gradient drawn from
    /// `seed` (the same for every run).
    static func convolution(_ shape: Shape, using generator: inout RandomGenerator,
                            seed: UInt64) -> (ConvolutionAlgorithm) -> [Tensor<Double>] {
        let x = Tensor<Double>(normal: [shape.batch, shape.cin, shape.h, shape.w], using: &generator)
        let w = Tensor<Double>(normal: [shape.cout, shape.cin, shape.kernel.0, shape.kernel.1], using: &generator)
        let b = Tensor<Double>(normal: [shape.cout], using: &generator)
        return { algorithm in
            withConvolutionAlgorithm(algorithm) {
                let xv = Variable(x, requiresGradient: true), wv = Variable(w, requiresGradient: true)
                let bv = Variable(b, requiresGradient: true)
                let y = conv2d(xv, weight: wv, bias: bv, padding: shape.padding, dilation: shape.dilation)
                var seedGenerator = RandomGenerator(seed: seed)
                y.backward(seed: Tensor<Double>(normal: y.shape, using: &seedGenerator))
                return [y.value, xv.grad!, wv.grad!, bv.grad!]
            }
        }
    }

    /// `[y, ∂x, ∂W, ∂b]` of the direct path against `reference`, to 1e-11.
    static func assertDirectAgrees(_ run: (ConvolutionAlgorithm) -> [Tensor<Double>], with reference: [Tensor<Double>],
                                   _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        for (part, (direct, expected)) in zip(["output", "∂x", "∂W", "∂b"], zip(run(.direct), reference)) {
            assertClose(direct, expected, relative: 1e-11, absolute: 1e-11, "\(label) \(part)", file: file, line: line)
        }
    }

    func testAgreesWithTheBLASPathOnEveryKernelFamily() {
        var generator = RandomGenerator(seed: 21)
        for shape in Self.shapes {
            let run = Self.convolution(shape, using: &generator, seed: 5)
            let reference = run(.gemm)
            // The general weight-gradient kernel also on the shapes the outer-product one takes.
            let outerShape = DirectConvolution.hasOuterKernel(DirectConvolutionLayout(forward: Self.geometry(shape), lanes: 4))
            for outer in outerShape ? [true, false] : [true] {
                DirectConvolution.outerKernels = outer
                Self.forEveryKernelFamily { family in
                    Self.assertDirectAgrees(run, with: reference, "\(shape) \(family) outer \(outer)")
                }
            }
        }
    }

    /// The forward pass and the input gradient sum every output over its taps in one fixed order, so
    /// their bits do not depend on the number of cores; the weight gradient's do (per-worker partial
    /// sums), but not from run to run.
    func testBitsDependOnlyOnTheThreadCount() {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor<Float>(normal: [4, 8, 6, 16], using: &generator)
        let w = Tensor<Float>(normal: [12, 8, 3, 3], using: &generator)
        let seed = Tensor<Float>(normal: [4, 12, 6, 16], using: &generator)
        func run(threshold: Int) -> [Tensor<Float>] {
            ConvolutionTuning.parallelThreshold = threshold
            return withConvolutionAlgorithm(.direct) {
                let xv = Variable(x, requiresGradient: true), wv = Variable(w, requiresGradient: true)
                let y = conv2d(xv, weight: wv, padding: (1, 1))
                y.backward(seed: seed)
                return [y.value, xv.grad!, wv.grad!]
            }
        }
        let single = run(threshold: Int.max), split = run(threshold: 0), again = run(threshold: 0)
        XCTAssertEqual(single[0].scalars, split[0].scalars, "output")
        XCTAssertEqual(single[1].scalars, split[1].scalars, "∂x")
        assertClose(single[2], split[2], relative: 1e-5, absolute: 1e-5, "∂W")
        for (a, b) in zip(split, again) { XCTAssertEqual(a.scalars, b.scalars) }
    }

    func testLayoutPadsAndAddressesAsDefined() {
        let geometry = Convolution2DGeometry(batch: 1, inChannels: 2, inHeight: 3, inWidth: 5, outChannels: 1,
                                             kernelHeight: 3, kernelWidth: 2, strideHeight: 1, strideWidth: 1,
                                             paddingHeight: 1, paddingWidth: 1, dilationHeight: 1, dilationWidth: 1, groups: 1)
        let layout = DirectConvolutionLayout(forward: geometry, lanes: 4)
        XCTAssertTrue(layout.isValid)
        XCTAssertEqual([layout.paddedHeight, layout.paddedWidth, layout.outHeight, layout.outWidth], [5, 7, 3, 6])
        XCTAssertFalse(layout.isRowMode)
        XCTAssertEqual(layout.vectorCount, (2 * 7 + 6 + 3) / 4)
        let source = (0..<30).map(Float.init)
        // A zeroed buffer filled twice: the second sample replaces the first and the borders stay zero.
        var padded = [Float](repeating: 0, count: layout.paddedSampleCount)
        padded.withUnsafeMutableBufferPointer { layout.copyInterior(source.map { -$0 - 1 }, into: $0.baseAddress!) }
        padded.withUnsafeMutableBufferPointer { layout.copyInterior(source, into: $0.baseAddress!) }
        for c in 0..<2 {
            for r in 0..<5 {
                for col in 0..<7 {
                    let inside = (1...3).contains(r) && (1...5).contains(col)
                    let expected: Float = inside ? source[(c * 3 + r - 1) * 5 + col - 1] : 0
                    XCTAssertEqual(padded[c * 35 + r * 7 + col], expected, "channel \(c) row \(r) column \(col)")
                }
            }
        }
        XCTAssertTrue(padded[70...].allSatisfy { $0 == 0 }, "slack")
        var taps = [Int](repeating: -1, count: layout.depth + 2)
        taps.withUnsafeMutableBufferPointer { layout.writeTapOffsets($0.baseAddress!, padding: 2) }
        XCTAssertEqual(taps, [0, 1, 7, 8, 14, 15, 35, 36, 42, 43, 49, 50, 0, 0])
        // Row mode: 8 columns of 4 lanes, two vectors per row.
        let rows = DirectConvolutionLayout(forward: Convolution2DGeometry(
            batch: 1, inChannels: 1, inHeight: 2, inWidth: 8, outChannels: 1, kernelHeight: 3, kernelWidth: 3,
            strideHeight: 1, strideWidth: 1, paddingHeight: 1, paddingWidth: 1, dilationHeight: 1, dilationWidth: 1, groups: 1), lanes: 4)
        XCTAssertTrue(rows.isRowMode)
        XCTAssertEqual((0..<4).map { rows.vectorOffsets($0).input }, [0, 4, 10, 14])
        XCTAssertEqual((0..<4).map { rows.vectorOffsets($0).output }, [0, 4, 8, 12])
        XCTAssertFalse(layout.writesInPlace, "a 7-wide grid: staged")
        // Flat mode on an 8-wide grid of 4-lane vectors: each vector in one grid row, written in place
        // at its output row and column; its lanes past Wo = 6 are not output pixels.
        let pitched = DirectConvolutionLayout(forward: Convolution2DGeometry(
            batch: 1, inChannels: 1, inHeight: 3, inWidth: 6, outChannels: 1, kernelHeight: 3, kernelWidth: 3,
            strideHeight: 1, strideWidth: 1, paddingHeight: 1, paddingWidth: 1, dilationHeight: 1, dilationWidth: 1, groups: 1), lanes: 4)
        XCTAssertTrue(!pitched.isRowMode && pitched.writesInPlace)
        XCTAssertEqual((0..<4).map { pitched.vectorOffsets($0).input }, [0, 4, 8, 12])
        XCTAssertEqual((0..<4).map { pitched.vectorOffsets($0).output }, [0, 4, 6, 10])
        XCTAssertEqual((0..<4).map { pitched.vectorOffsets($0).valid }, [4, 2, 4, 2])
        // Kernel rows that reach the unpadded input: row 0 skips the top zero row, the last row the bottom one.
        XCTAssertEqual(layout.kernelRows(reaching: (0, 0)), 1..<3)
        XCTAssertEqual(layout.kernelRows(reaching: (2, 2)), 0..<2)
        XCTAssertEqual(layout.kernelRows(reaching: (0, 2)), 0..<3)
        XCTAssertEqual(rowsOf(layout, 0, 1), [0, 1], "lanes 0..<8 of pitch 7: rows 0 and 1")
        XCTAssertEqual(rowsOf(layout, 0, 4), [0, 2])
        // The input gradient's layout: the upstream gradient padded by d·(k − 1) − p, an H × W output.
        let backward = DirectConvolutionLayout(inputGradient: geometry, lanes: 4)
        XCTAssertEqual([backward.channels, backward.paddingHeight, backward.paddingWidth, backward.outHeight, backward.outWidth],
                       [1, 1, 0, 3, 5])
    }

    private func rowsOf(_ layout: DirectConvolutionLayout, _ first: Int, _ last: Int) -> [Int] {
        let rows = layout.outputRows(ofVectors: first, last)
        return [rows.first, rows.last]
    }

    /// LeNet's second layer: its input gradient pads the 10×10 upstream gradient by 4, and its first and
    /// last output rows reach one kernel row each.
    func testKernelRowsSkipThePadding() {
        let geometry = Convolution2DGeometry(batch: 1, inChannels: 6, inHeight: 14, inWidth: 14, outChannels: 16,
                                             kernelHeight: 5, kernelWidth: 5, strideHeight: 1, strideWidth: 1,
                                             paddingHeight: 0, paddingWidth: 0, dilationHeight: 1, dilationWidth: 1, groups: 1)
        let layout = DirectConvolutionLayout(inputGradient: geometry, lanes: 16)
        XCTAssertEqual([layout.paddingHeight, layout.outHeight], [4, 14])
        XCTAssertEqual(layout.kernelRows(reaching: (0, 0)), 4..<5)
        XCTAssertEqual(layout.kernelRows(reaching: (13, 13)), 0..<1)
        XCTAssertEqual(layout.kernelRows(reaching: (5, 8)), 0..<5)
        XCTAssertEqual((0..<14).map { layout.kernelRows(reaching: ($0, $0)).count }.reduce(0, +), 50, "of 70 row taps")
        let forward = DirectConvolutionLayout(forward: geometry, lanes: 16)
        XCTAssertEqual(forward.kernelRows(reaching: (0, 9)), 0..<5, "no padding: every row")
    }

    func testTileRowsFitTheChannelCount() {
        DirectConvolutionSupport.registerCount = 32
        let tiles = [32, 64, 16, 6, 3, 1, 9, 10, 17].map { DirectConvolution.forwardTile(channels: $0).mr }
        XCTAssertEqual(tiles, [8, 8, 8, 6, 3, 3, 3, 6, 6])
        DirectConvolutionSupport.registerCount = 16
        let narrow = [32, 64, 16, 6, 3, 1, 9, 10, 17].map { DirectConvolution.forwardTile(channels: $0) }
        XCTAssertEqual(narrow.map(\.mr), [4, 4, 4, 6, 3, 3, 3, 4, 6], "4×3, 6×2 or 3×4: fewest padded rows, ties to 4×3")
        XCTAssertEqual(narrow.map(\.nv), [3, 3, 3, 2, 4, 4, 4, 3, 2])
        XCTAssertTrue(DirectConvolution.forwardTile(channels: 6, vectors: 7, registers: 16) == (6, 2), "6 × 8 either way: the earlier")
        XCTAssertTrue(DirectConvolution.forwardTile(channels: 3, vectors: 8, registers: 16) == (3, 4), "3 × 8 against 4 × 9")
        XCTAssertTrue(DirectConvolution.forwardTile(channels: 3, vectors: 5, registers: 16) == (4, 3), "4 × 6 against 3 × 8")
    }

    /// The general weight gradient's tile: 3×9 on 32 registers; on 16 the fewer padded channel-tap
    /// pairs of 2×6 and 4×3, ties to 4×3. `shapes` run both on 16 registers against the BLAS path
    /// (4×3: 4 channels × 150 taps, 3 × 18 with a partial block, 8 × 16; 2×6: 5 × 72, 17 × 81).
    func testGradientTileCoversTheFewestPaddedTaps() {
        XCTAssertTrue(DirectConvolution.gradientTile(channels: 32, depth: 27, registers: 32) == (3, 9))
        let cases: [(channels: Int, depth: Int, tile: (Int, Int))] = [
            (32, 27, (4, 3)), (16, 27, (4, 3)), (4, 150, (4, 3)), (3, 18, (4, 3)), (8, 16, (4, 3)),
            (5, 72, (2, 6)), (17, 81, (2, 6)), (2, 27, (2, 6)), (6, 54, (2, 6)),
        ]
        for (channels, depth, tile) in cases {
            XCTAssertTrue(DirectConvolution.gradientTile(channels: channels, depth: depth, registers: 16) == tile,
                          "\(channels) channels × \(depth) taps: \(tile)")
        }
        // The shapes the BLAS-path comparison runs keep both 16-register tiles in use.
        let tiles = Set(Self.shapes.map { shape in
            let tile = DirectConvolution.gradientTile(channels: shape.cout, depth: shape.cin * shape.kernel.0 * shape.kernel.1,
                                                      registers: 16)
            return "\(tile.rows)×\(tile.taps)"
        })
        XCTAssertEqual(tiles, ["4×3", "2×6"])
    }

    /// 5×5 weight gradients take the outer-product kernel on both register files (five one-row calls
    /// on 16 registers); shallow layers do not.
    func testOuterKernelTakesDeep3x3And5x5Layers() {
        func layout(_ cin: Int, _ kernel: Int) -> DirectConvolutionLayout {
            DirectConvolutionLayout(forward: Self.geometry((cin, 16, 14, 14, (kernel, kernel), (0, 0), (1, 1), 2)), lanes: 8)
        }
        for registers in Self.registerFiles {
            DirectConvolutionSupport.registerCount = registers
            XCTAssertTrue(DirectConvolution.hasOuterKernel(layout(6, 5)), "LeNet 6→16, \(registers) registers")
            XCTAssertTrue(DirectConvolution.hasOuterKernel(layout(8, 3)), "depth 72, \(registers) registers")
            XCTAssertFalse(DirectConvolution.hasOuterKernel(layout(2, 5)), "depth 50, \(registers) registers")
            XCTAssertFalse(DirectConvolution.hasOuterKernel(layout(16, 4)), "4×4 kernel, \(registers) registers")
        }
    }

    func testTransposeChannelsPadsWithZeros() {
        let source = (0..<(3 * 20)).map(Double.init)
        var destination = [Double](repeating: .nan, count: 20 * 4)
        destination.withUnsafeMutableBufferPointer {
            SIMD4<Double>.transposeChannels(source, channels: 3, pixels: 20, into: $0.baseAddress!, stride: 4)
        }
        for p in 0..<20 {
            XCTAssertEqual(Array(destination[(p * 4)..<(p * 4 + 4)]), [source[p], source[20 + p], source[40 + p], 0])
        }
    }

    /// The register-block transposition against its definition, for every vector type, channel counts
    /// around the lane count, pixel counts with and without a partial last block, and strides that
    /// are not whole vectors (the one-by-one path).
    func testTransposeChannelsMatchesTheDefinitionForEveryShape() {
        func check<V: DirectVector>(_: V.Type) where V.Scalar: BinaryFloatingPoint {
            let lanes = V.scalarCount
            for channels in [1, 3, lanes - 1, lanes, lanes + 1, 2 * lanes + 3] where channels >= 1 {
                for pixels in [1, lanes - 1, lanes, 2 * lanes + 5, 64] where pixels >= 1 {
                    let padded = (channels + lanes - 1) / lanes * lanes
                    for stride in [padded, padded + lanes, channels + 1] {
                        let source = (0..<(channels * pixels)).map { V.Scalar($0 + 1) }
                        var destination = [V.Scalar](repeating: .nan, count: pixels * stride + 3)
                        destination.withUnsafeMutableBufferPointer {
                            V.transposeChannels(source, channels: channels, pixels: pixels, into: $0.baseAddress!, stride: stride)
                        }
                        var expected = [V.Scalar](repeating: 0, count: pixels * stride)
                        for p in 0..<pixels { for c in 0..<channels { expected[p * stride + c] = source[c * pixels + p] } }
                        XCTAssertEqual(Array(destination[..<(pixels * stride)]), expected,
                                       "\(V.self) channels \(channels) pixels \(pixels) stride \(stride)")
                        XCTAssertTrue(destination[(pixels * stride)...].allSatisfy { $0.isNaN }, "writes past the end")
                    }
                }
            }
        }
        check(SIMD16<Float>.self)
        check(SIMD8<Float>.self)
        check(SIMD4<Float>.self)
        check(SIMD4<Double>.self)
        check(SIMD2<Double>.self)
    }

    func testWhichGeometriesTakeTheDirectKernels() throws {
        func geometry(_ input: [Int], _ weight: [Int], stride: Int = 1, padding: Int = 1, groups: Int = 1) throws -> Convolution2DGeometry {
            try Convolution2DGeometry(operation: "conv2d", input: input, weight: weight, bias: nil, stride: (stride, stride),
                                      padding: (padding, padding), dilation: (1, 1), groups: groups)
        }
        let convnet = try geometry([64, 32, 32, 32], [32, 32, 3, 3])
        XCTAssertTrue(convnet.supportsDirectConvolution)
        XCTAssertTrue(try geometry([128, 1, 28, 28], [6, 1, 5, 5], padding: 2).supportsDirectConvolution, "LeNet")
        XCTAssertFalse(try geometry([4, 32, 8, 8], [32, 32, 3, 3], stride: 2).supportsDirectConvolution, "stride 2")
        XCTAssertFalse(try geometry([4, 32, 8, 8], [32, 16, 3, 3], groups: 2).supportsDirectConvolution, "groups")
        XCTAssertFalse(try geometry([4, 8, 8, 8], [8, 8, 1, 1], padding: 1).supportsDirectConvolution, "padding past the kernel")
        XCTAssertEqual(convnet.path(.gemm, for: Float.self), .gemm)
        XCTAssertEqual(convnet.path(.direct, for: Float.self), .direct)
        // A wide 3×3 layer's weight gradient: Winograd under `auto` (WinogradConvolutionTests), direct without it.
        XCTAssertEqual(convnet.path(.auto, for: Double.self, product: .weightGradient),
                       ConvolutionAlgorithm.directKernelsAvailable ? .winograd4x4 : .gemm)
        XCTAssertEqual(try geometry([64, 32, 32, 32], [32, 32, 5, 5], padding: 2).path(.auto, for: Double.self, product: .weightGradient),
                       ConvolutionAlgorithm.directKernelsAvailable ? .direct : .gemm)
        XCTAssertEqual(try geometry([4, 32, 8, 8], [32, 32, 3, 3], stride: 2).path(.direct, for: Float.self), .gemm)
        XCTAssertEqual(try ConvolutionAlgorithm(parsing: "GEMM"), .gemm)
        XCTAssertThrowsError(try ConvolutionAlgorithm(parsing: "fft")) {
            XCTAssertEqual(($0 as? NablaError)?.message, "conv algorithm 'fft': expected one of auto, gemm, direct, winograd, winograd4x4")
        }
        XCTAssertEqual(ConvolutionAlgorithm.current, .auto)
        withConvolutionAlgorithm(.gemm) { XCTAssertEqual(ConvolutionAlgorithm.current, .gemm) }
        XCTAssertEqual(ConvolutionAlgorithm.current, .auto)
    }

    /// `auto` lowers the forward pass and the input gradient of wide layers whose output rows do not
    /// tile into whole vectors (resnet20's 64→64 8×8 with 16 lanes), keeps their weight gradient direct,
    /// and leaves every other reference layer direct; the gradients it computes are the gemm path's dx
    /// and the direct path's dW, bit for bit.
    func testAutoLowersWideSmallPlaneLayersPerProduct() throws {
        func geometry(_ input: [Int], _ weight: [Int], padding: Int = 1) throws -> Convolution2DGeometry {
            try Convolution2DGeometry(operation: "conv2d", input: input, weight: weight, bias: nil, stride: (1, 1),
                                      padding: (padding, padding), dilation: (1, 1), groups: 1)
        }
        DirectConvolution.vectorBitsOverride = 512   // also lets `auto` choose direct kernels in a build without vector FMA
        WinogradConvolution.automatic = false        // which would take these 3×3 layers' forward pass and input gradient
        let wide = try geometry([128, 64, 8, 8], [64, 64, 3, 3])
        XCTAssertEqual(wide.path(.auto, for: Float.self, product: .forward), .gemm)
        XCTAssertEqual(wide.path(.auto, for: Float.self, product: .inputGradient), .gemm)
        XCTAssertEqual(wide.path(.auto, for: Float.self, product: .weightGradient), .direct)
        for product in ConvolutionProduct.allCases {
            XCTAssertEqual(wide.path(.direct, for: Float.self, product: product), .direct, "\(product): direct is direct")
        }
        // Narrower layers, whole-vector rows, shallow sums: direct.
        for (input, weight, padding) in [([128, 32, 16, 16], [32, 32, 3, 3], 1), ([128, 16, 32, 32], [16, 16, 3, 3], 1),
                                         ([64, 64, 16, 16], [64, 64, 3, 3], 1), ([128, 6, 14, 14], [16, 6, 5, 5], 0),
                                         ([128, 32, 8, 8], [32, 32, 3, 3], 1)] {
            let g = try geometry(input, weight, padding: padding)
            for product in ConvolutionProduct.allCases {
                XCTAssertEqual(g.path(.auto, for: Float.self, product: product), .direct, "\(input) \(weight) \(product)")
            }
        }
        // 8 lanes (AVX2): 8-wide rows are whole vectors, so the wide layer stays direct.
        DirectConvolution.vectorBitsOverride = 256
        XCTAssertEqual(wide.path(.auto, for: Float.self, product: .forward), .direct)
        DirectConvolution.vectorBitsOverride = 512
        // The mixed backward: dx from the lowering, dW from the direct kernels.
        var generator = RandomGenerator(seed: 12)
        let x = Tensor<Float>(normal: [3, 64, 8, 8], using: &generator), w = Tensor<Float>(normal: [64, 64, 3, 3], using: &generator)
        let gy = Tensor<Float>(normal: [3, 64, 8, 8], using: &generator)
        func gradients(_ algorithm: ConvolutionAlgorithm) -> (Tensor<Float>, Tensor<Float>, Tensor<Float>) {
            withConvolutionAlgorithm(algorithm) {
                let xv = Variable(x, requiresGradient: true), wv = Variable(w, requiresGradient: true)
                let out = conv2d(xv, weight: wv, padding: (1, 1))
                out.backward(seed: gy)
                return (out.value, xv.grad!, wv.grad!)
            }
        }
        let (autoY, autoDx, autoDw) = gradients(.auto), (gemmY, gemmDx, _) = gradients(.gemm), (_, _, directDw) = gradients(.direct)
        XCTAssertEqual(autoY.scalars, gemmY.scalars)
        XCTAssertEqual(autoDx.scalars, gemmDx.scalars)
        XCTAssertEqual(autoDw.scalars, directDw.scalars)
    }

    /// Each product run alone (`nabla bench --kernels`) equals the gradients of the tape node.
    func testProductsRunAloneMatchTheTapeNode() throws {
        var generator = RandomGenerator(seed: 8)
        let x = Tensor<Float>(normal: [2, 4, 6, 8], using: &generator), w = Tensor<Float>(normal: [5, 4, 3, 3], using: &generator)
        let gy = Tensor<Float>(normal: [2, 5, 6, 8], using: &generator)
        for algorithm in [ConvolutionAlgorithm.gemm, .direct] {
            let (y, dx, dw) = withConvolutionAlgorithm(algorithm) { () -> (Tensor<Float>, Tensor<Float>, Tensor<Float>) in
                let xv = Variable(x, requiresGradient: true), wv = Variable(w, requiresGradient: true)
                let out = conv2d(xv, weight: wv, padding: (1, 1))
                out.backward(seed: gy)
                return (out.value, xv.grad!, wv.grad!)
            }
            for (product, expected) in zip(ConvolutionProduct.allCases, [y, dx, dw]) {
                var result = Tensor<Float>(zeros: expected.shape)
                try product.run(input: x, weight: w, upstream: gy, padding: (1, 1), algorithm: algorithm, into: &result)
                XCTAssertEqual(result.scalars, expected.scalars, "\(product) \(algorithm)")
            }
        }
        var wrong = Tensor<Float>(zeros: [1])
        XCTAssertThrowsError(try ConvolutionProduct.forward.run(input: x, weight: w, upstream: gy, padding: (1, 1),
                                                               algorithm: .direct, into: &wrong))
        XCTAssertEqual(try ConvolutionProduct.multiplyAdds(input: x.shape, weight: w.shape, padding: (1, 1)), 2 * 5 * 48 * 36)
    }
}
