import XCTest
@testable import NablaTensor
@testable import NablaNN
import NablaTestSupport

/// The single-output-plane correlation (RowReuseCorrelation.swift): the input gradient of one-channel
/// layers and the forward pass of one-output-channel layers agree with the BLAS path and with the
/// general direct tiles on every kernel family (kernel heights 3 and 5, width dilation, planes narrower
/// and wider than a vector, row blocks that end past the plane, several samples per grid row with a
/// last group that leaves slots unused), give the same bits on one core and several, propagate
/// infinities as the BLAS path does, and are chosen by their rule.
final class RowReuseCorrelationTests: XCTestCase {
    override func tearDown() {
        DirectConvolutionTests.resetKernelChoices()
        super.tearDown()
    }

    /// One-channel inputs (their ∂x runs here) and one-channel outputs (their forward pass does).
    static let shapes: [DirectConvolutionTests.Shape] = [
        (1, 6, 28, 28, (5, 5), (2, 2), (1, 1), 9),     // LeNet's first layer: groups of 7 samples and of 2, blocks 10+10+8 / 8+8+8+4
        (1, 3, 10, 12, (3, 3), (1, 1), (1, 1), 11),    // several samples per grid row at every width, blocks 10 / 8+4
        (1, 4, 17, 13, (3, 3), (1, 1), (1, 1), 2),     // 17 rows: the last block (8, or 4) ends past the plane
        (1, 3, 9, 40, (5, 3), (0, 1), (1, 2), 2),      // wider than two 16-lane vectors, dilated columns
        (1, 2, 5, 5, (3, 5), (1, 2), (1, 1), 2),       // narrower than every vector
        (3, 1, 12, 30, (5, 3), (2, 1), (1, 1), 2),     // one output channel: the forward pass
        (2, 1, 20, 14, (3, 3), (0, 0), (1, 3), 1),     // no padding, dilated columns (8 wide: whole vectors, not packed tails)
    ]

    /// `[y, ∂x, ∂W, ∂b]` of `shape` with the row-reusing tiles forced `on` or off.
    static func run(_ shape: DirectConvolutionTests.Shape, on: Bool, algorithm: ConvolutionAlgorithm,
                    x: Tensor<Double>, w: Tensor<Double>, b: Tensor<Double>, seed: Tensor<Double>) -> [Tensor<Double>] {
        DirectConvolution.rowReuseOverride = on
        return withConvolutionAlgorithm(algorithm) {
            let xv = Variable(x, requiresGradient: true), wv = Variable(w, requiresGradient: true)
            let bv = Variable(b, requiresGradient: true)
            let y = conv2d(xv, weight: wv, bias: bv, padding: shape.padding, dilation: shape.dilation)
            y.backward(seed: seed)
            return [y.value, xv.grad!, wv.grad!, bv.grad!]
        }
    }

    func testAgreesWithTheBLASPathAndTheGeneralTiles() {
        var generator = RandomGenerator(seed: 77)
        for shape in Self.shapes {
            let x = Tensor<Double>(normal: [shape.batch, shape.cin, shape.h, shape.w], using: &generator)
            let w = Tensor<Double>(normal: [shape.cout, shape.cin, shape.kernel.0, shape.kernel.1], using: &generator)
            let b = Tensor<Double>(normal: [shape.cout], using: &generator)
            let g = DirectConvolutionTests.geometry(shape)
            let seed = Tensor<Double>(normal: [shape.batch, shape.cout, g.outHeight, g.outWidth], using: &generator)
            let reference = Self.run(shape, on: false, algorithm: .gemm, x: x, w: w, b: b, seed: seed)
            DirectConvolutionTests.forEveryKernelFamily { family in
                let lanes = DirectConvolution.vectorBitsOverride! / 64
                let layout = shape.cin == 1 ? DirectConvolutionLayout(inputGradient: g, lanes: lanes)
                                            : DirectConvolutionLayout(forward: g, lanes: lanes)
                DirectConvolution.rowReuseOverride = nil
                XCTAssertTrue(DirectConvolution.reusesRows(layout, outChannels: 1), "\(shape): the rule takes it unforced")
                let rows = Self.run(shape, on: true, algorithm: .direct, x: x, w: w, b: b, seed: seed)
                let general = Self.run(shape, on: false, algorithm: .direct, x: x, w: w, b: b, seed: seed)
                for (part, index) in [("output", 0), ("∂x", 1), ("∂W", 2), ("∂b", 3)] {
                    assertClose(rows[index], reference[index], relative: 1e-11, absolute: 1e-11, "\(shape) \(family) \(part): against BLAS")
                    assertClose(rows[index], general[index], relative: 1e-11, absolute: 1e-11, "\(shape) \(family) \(part): against the general tiles")
                }
            }
        }
    }

    func testBitsDoNotDependOnTheThreadCount() {
        var generator = RandomGenerator(seed: 5)
        for shape in Self.shapes {
            let x = Tensor<Double>(normal: [9, shape.cin, shape.h, shape.w], using: &generator)
            let w = Tensor<Double>(normal: [shape.cout, shape.cin, shape.kernel.0, shape.kernel.1], using: &generator)
            let b = Tensor<Double>(normal: [shape.cout], using: &generator)
            let g = DirectConvolutionTests.geometry(shape)
            let seed = Tensor<Double>(normal: [9, shape.cout, g.outHeight, g.outWidth], using: &generator)
            var results: [[Tensor<Double>]] = []
            for threshold in [Int.max, 0] {
                ConvolutionTuning.parallelThreshold = threshold
                ConvolutionParallelism.override = threshold == 0 ? 2 : nil
                results.append(Self.run(shape, on: true, algorithm: .direct, x: x, w: w, b: b, seed: seed))
            }
            // The product this file is about: ∂x of a one-channel input, or y of a one-channel output.
            let part = shape.cin == 1 ? 1 : 0
            XCTAssertEqual(results[0][part].scalars, results[1][part].scalars, "\(shape): one core and two")
        }
    }

    /// An infinite upstream gradient: the padded zeros multiply only weights, so the ∞ and NaN pixels of
    /// ∂x are where the BLAS path puts them.
    func testInfinitiesLandWhereTheBLASPathPutsThem() {
        var generator = RandomGenerator(seed: 12)
        let shape: DirectConvolutionTests.Shape = (1, 2, 10, 12, (5, 5), (2, 2), (1, 1), 2)
        let x = Tensor<Double>(normal: [2, 1, 10, 12], using: &generator)
        let w = Tensor<Double>(normal: [2, 1, 5, 5], using: &generator)
        let b = Tensor<Double>(zeros: [2])
        var seed = Tensor<Double>(normal: [2, 2, 10, 12], using: &generator)
        seed[0, 0, 0, 11] = .infinity          // a corner: its taps meet the padding
        seed[1, 1, 6, 3] = -.infinity
        seed[1, 0, 6, 4] = .infinity            // +∞ and −∞ meet in some pixels: NaN
        let reference = Self.run(shape, on: false, algorithm: .gemm, x: x, w: w, b: b, seed: seed)[1]
        for bits in DirectConvolutionTests.widths {
            DirectConvolution.vectorBitsOverride = bits
            let rows = Self.run(shape, on: true, algorithm: .direct, x: x, w: w, b: b, seed: seed)[1]
            XCTAssertEqual(rows.scalars.map(\.isNaN), reference.scalars.map(\.isNaN), "\(bits)-bit: NaN pixels")
            XCTAssertEqual(rows.scalars.map { $0.isInfinite ? $0.sign : nil }, reference.scalars.map { $0.isInfinite ? $0.sign : nil },
                           "\(bits)-bit: infinite pixels")
            XCTAssertGreaterThan(rows.scalars.filter(\.isNaN).count, 0, "the shape meets +∞ and −∞")
        }
    }

    /// The grid's slots and blocks for LeNet's 28-wide, 28-high input-gradient plane.
    func testGridStacksSamplesToWasteTheFewestLanes() throws {
        let g = try Convolution2DGeometry(operation: "conv2d", input: [128, 1, 28, 28], weight: [6, 1, 5, 5], bias: nil,
                                          stride: (1, 1), padding: (2, 2), dilation: (1, 1), groups: 1)
        let layout16 = DirectConvolutionLayout(inputGradient: g, lanes: 16)
        let grid = RowReuseGrid(layout16, batch: 128, registers: 16)
        // 7 samples: 6·30 + 28 = 208 output columns, 13 vectors (a sample alone: 2 vectors for 28 columns).
        XCTAssertEqual([grid.samples, grid.sampleStride, grid.width, grid.vectorsPerRow], [7, 30, 212, 13])
        XCTAssertEqual(grid.blocks.map(\.top), [0, 8, 16, 24])
        XCTAssertEqual(grid.blocks.map(\.rows), [8, 8, 8, 4])
        let wide = RowReuseGrid(layout16, batch: 128, registers: 32)
        XCTAssertEqual(wide.blocks.map(\.top), [0, 10, 20], "32 registers: 10-row tiles")
        XCTAssertEqual(wide.blocks.map(\.rows), [10, 10, 8])
        XCTAssertEqual([wide.samples, wide.vectorsPerRow], [7, 13])
        // 8 lanes (AVX2): 3 samples, 2·30 + 28 = 88 columns in 11 vectors — 4 samples would take 15 vectors
        // for 118 (4 of 88 lanes wasted against 8 of 120).
        let grid8 = RowReuseGrid(DirectConvolutionLayout(inputGradient: g, lanes: 8), batch: 128, registers: 16)
        XCTAssertEqual([grid8.samples, grid8.sampleStride, grid8.width, grid8.vectorsPerRow], [3, 30, 92, 11])
        // 8 lanes on 16 registers: 10-row blocks where the C tile runs, else blocks of 8.
        XCTAssertEqual(grid8.blocks.map(\.rows), RowReuseKernel.nativeTenRows ? [10, 10, 8] : [8, 8, 8, 4])
        let native = RowReuseKernel.nativeTenRows
        defer { RowReuseKernel.nativeTenRows = native }
        RowReuseKernel.nativeTenRows = false
        XCTAssertEqual(RowReuseGrid(DirectConvolutionLayout(inputGradient: g, lanes: 8), batch: 128, registers: 16).blocks.map(\.rows),
                       [8, 8, 8, 4], "without the C tile")
        XCTAssertEqual(RowReuseGrid(layout16, batch: 3).samples, 1, "three samples waste as many lanes as one")
        XCTAssertEqual(RowReuseGrid(layout16, batch: 1).samples, 1)
        let rows9 = RowReuseGrid(DirectConvolutionLayout(inputGradient: try Convolution2DGeometry(
            operation: "conv2d", input: [2, 1, 9, 9], weight: [2, 1, 3, 3], bias: nil, stride: (1, 1), padding: (1, 1),
            dilation: (1, 1), groups: 1), lanes: 4), batch: 2, registers: 16)
        XCTAssertEqual(rows9.blocks.map(\.rows), [8, 4], "9 rows: a block of 8, then 4 for the last")
        // Pairs in the 4-row block: kernel height 5 on 16 registers only.
        XCTAssertEqual([grid.pairsLastBlock, grid8.pairsLastBlock, wide.pairsLastBlock, rows9.pairsLastBlock],
                       [true, true, false, false])
    }

    /// Blocks cover the plane with the tallest tile the register file holds, and never leave more
    /// rows past the plane than a block of 4 would.
    func testBlocksTakeTheTallestTileThatWastesLeast() {
        func blocks(_ height: Int, _ tenRows: Bool) -> [Int] {
            let blocks = RowReuseGrid.blocks(outHeight: height, tenRows: tenRows)
            XCTAssertEqual(blocks.map(\.top), Array(blocks.map(\.rows).reduce(into: [0]) { $0.append($0.last! + $1) }.dropLast()),
                           "\(height) rows: each block starts where the last ended")
            return blocks.map(\.rows)
        }
        XCTAssertEqual(blocks(28, true), [10, 10, 8])
        XCTAssertEqual(blocks(28, false), [8, 8, 8, 4])
        XCTAssertEqual(blocks(12, true), [8, 4], "12 rows: 8 + 4, not 10 + 4")
        XCTAssertEqual(blocks(11, true), [8, 4])
        XCTAssertEqual(blocks(9, true), [10])
        XCTAssertEqual(blocks(3, true), [4])
        for tenRows in [true, false] {
            for height in 1...64 {
                let rows = blocks(height, tenRows)
                XCTAssertTrue(rows.allSatisfy { [4, 8, 10].contains($0) }, "\(height) rows, ten \(tenRows): \(rows)")
                XCTAssertLessThan(rows.reduce(0, +) - height, 4, "\(height) rows, ten \(tenRows): \(rows)")
                if !tenRows { XCTAssertFalse(rows.contains(10), "no 10-row tile") }
            }
        }
    }

    func testRuleTakesOneOutputPlaneOfKernelHeightThreeOrFive() throws {
        func layout(_ input: [Int], _ weight: [Int], padding: Int, dilation: Int = 1, lanes: Int) throws -> DirectConvolutionLayout {
            let g = try Convolution2DGeometry(operation: "conv2d", input: input, weight: weight, bias: nil, stride: (1, 1),
                                              padding: (padding, padding), dilation: (dilation, dilation), groups: 1)
            return DirectConvolutionLayout(inputGradient: g, lanes: lanes)
        }
        for lanes in [16, 8, 4] {
            XCTAssertTrue(DirectConvolution.reusesRows(try layout([128, 1, 28, 28], [6, 1, 5, 5], padding: 2, lanes: lanes), outChannels: 1),
                          "LeNet's 1→6 input gradient, \(lanes) lanes")
            for registers in [32, 16] {
                // The comparison is with the general tiles' one-plane rows (3 of a 3×8 or 3×4 tile).
                XCTAssertTrue(DirectConvolution.reusesRows(try layout([128, 1, 28, 28], [6, 1, 5, 5], padding: 2, lanes: lanes),
                                                           outChannels: 1, registers: registers),
                              "LeNet's 1→6 input gradient, \(lanes) lanes, \(registers) registers")
            }
            XCTAssertTrue(DirectConvolution.reusesRows(try layout([8, 1, 32, 32], [16, 1, 3, 3], padding: 1, lanes: lanes), outChannels: 1))
            XCTAssertFalse(DirectConvolution.reusesRows(try layout([64, 3, 32, 32], [32, 3, 3, 3], padding: 1, lanes: lanes), outChannels: 3),
                           "three output planes")
            XCTAssertFalse(DirectConvolution.reusesRows(try layout([8, 1, 32, 32], [16, 1, 3, 3], padding: 2, dilation: 2, lanes: lanes),
                                                        outChannels: 1), "dilated rows")
            DirectConvolution.rowReuseOverride = true
            XCTAssertFalse(DirectConvolution.reusesRows(try layout([8, 1, 32, 32], [16, 1, 4, 4], padding: 1, lanes: lanes), outChannels: 1),
                           "no tile for kernel height 4, forced or not")
            DirectConvolution.rowReuseOverride = nil
        }
    }

    /// The two-vector 4-row tile writes, bit for bit, what the one-vector tile writes at each of its two
    /// columns (the same sums in the same order), on every vector type it is built for, with an
    /// output pitch that is not the input's; and nothing outside its 4 × 2 vectors.
    func testPairedFourRowTileIsTwoOneVectorTiles() {
        func check<V: SIMD>(_: V.Type, channels: Int, kernelWidth: Int, dilation: Int) where V.Scalar: BinaryFloatingPoint {
            var generator = RandomGenerator(seed: UInt64(channels * 10 + kernelWidth))
            let l = V.scalarCount, pitch = 3 * l + (kernelWidth - 1) * dilation + 3, plane = 9 * pitch + 5
            let input = (0..<(channels * plane + 4 * l)).map { _ in V.Scalar(generator.nextNormal()) }
            let weights = (0..<(channels * kernelWidth * 5)).map { _ in V.Scalar(generator.nextNormal()) }
            let outputPitch = 2 * l + 3
            var paired = [V.Scalar](repeating: .nan, count: 4 * outputPitch), single = paired
            input.withUnsafeBufferPointer { x in
                weights.withUnsafeBufferPointer { w in
                    paired.withUnsafeMutableBufferPointer { o in
                        RowReuseKernel.rows4Height5Columns2(channels: channels, kernelWidth: kernelWidth, dilationWidth: dilation,
                                                            weights: w.baseAddress!, input: x.baseAddress! + 1, planeStride: plane,
                                                            rowPitch: pitch, output: o.baseAddress!, outputPitch: outputPitch,
                                                            initial: 0.25, V.self)
                    }
                    single.withUnsafeMutableBufferPointer { o in
                        for column in [l, 0] {
                            RowReuseKernel.rows4Height5(channels: channels, kernelWidth: kernelWidth, dilationWidth: dilation,
                                                        weights: w.baseAddress!, input: x.baseAddress! + 1 + column,
                                                        planeStride: plane, rowPitch: pitch, output: o.baseAddress! + column,
                                                        outputPitch: outputPitch, initial: 0.25, V.self)
                        }
                    }
                }
            }
            let context = "\(V.self), \(channels) channels, kernel width \(kernelWidth), dilation \(dilation)"
            for index in paired.indices {
                if index % outputPitch < 2 * l {
                    XCTAssertEqual(paired[index], single[index], "\(context): element \(index)")
                    XCTAssertFalse(paired[index].isNaN, "\(context): element \(index) not written")
                } else {
                    XCTAssertTrue(paired[index].isNaN, "\(context): wrote element \(index), past the row's two vectors")
                }
            }
        }
        for (channels, kernelWidth, dilation) in [(6, 5, 1), (1, 3, 2), (2, 1, 1)] {
            check(SIMD2<Double>.self, channels: channels, kernelWidth: kernelWidth, dilation: dilation)
            check(SIMD4<Double>.self, channels: channels, kernelWidth: kernelWidth, dilation: dilation)
            check(SIMD8<Float>.self, channels: channels, kernelWidth: kernelWidth, dilation: dilation)
            check(SIMD16<Float>.self, channels: channels, kernelWidth: kernelWidth, dilation: dilation)
        }
    }

    /// The C 10-row tile (`CNablaKernels/rowreuse_x86.h`, x86-64 with AVX2 and FMA) writes, bit for bit,
    /// what the Swift 10-row tile writes (the same sums in the same order), over channel counts, kernel
    /// widths and dilations, with an output pitch that is not the input's; and nothing outside its 10
    /// vectors.
    func testNativeTenRowTileIsTheSwiftTile() throws {
        guard RowReuseKernel.nativeTenRows else { throw XCTSkip("the C 10-row tile needs x86-64 with AVX2 and FMA") }
        for (channels, kernelWidth, dilation) in [(6, 5, 1), (1, 3, 2), (2, 1, 1), (3, 4, 3)] {
            var generator = RandomGenerator(seed: UInt64(channels * 10 + kernelWidth))
            let pitch = 8 + (kernelWidth - 1) * dilation + 5, plane = 14 * pitch + 3, outputPitch = 11
            let input = (0..<(channels * plane + 8)).map { _ in Float(generator.nextNormal()) }
            let weights = (0..<(channels * kernelWidth * 5)).map { _ in Float(generator.nextNormal()) }
            var native = [Float](repeating: .nan, count: 10 * outputPitch), swift = native
            var ran = false
            input.withUnsafeBufferPointer { x in
                weights.withUnsafeBufferPointer { w in
                    native.withUnsafeMutableBufferPointer { o in
                        ran = RowReuseKernel.nativeRows10Height5(
                            channels: channels, kernelWidth: kernelWidth, dilationWidth: dilation, weights: w.baseAddress!,
                            input: x.baseAddress! + 1, planeStride: plane, rowPitch: pitch, output: o.baseAddress!,
                            outputPitch: outputPitch, initial: 0.25, SIMD8<Float>.self)
                    }
                    swift.withUnsafeMutableBufferPointer { o in
                        RowReuseKernel.rows10Height5(channels: channels, kernelWidth: kernelWidth, dilationWidth: dilation,
                                                     weights: w.baseAddress!, input: x.baseAddress! + 1, planeStride: plane,
                                                     rowPitch: pitch, output: o.baseAddress!, outputPitch: outputPitch,
                                                     initial: 0.25, SIMD8<Float>.self)
                    }
                }
            }
            XCTAssertTrue(ran, "the C tile runs for 8 Floats")
            let context = "\(channels) channels, kernel width \(kernelWidth), dilation \(dilation)"
            for index in native.indices {
                if index % outputPitch < 8 {
                    XCTAssertEqual(native[index].bitPattern, swift[index].bitPattern, "\(context): element \(index)")
                    XCTAssertFalse(native[index].isNaN, "\(context): element \(index) not written")
                } else {
                    XCTAssertTrue(native[index].isNaN, "\(context): wrote element \(index), past the row's vector")
                }
            }
        }
        // Other vector types are not the C tile's (it runs nothing and says so).
        var unused = [Double](repeating: 0, count: 8)
        let ranForDoubles = unused.withUnsafeMutableBufferPointer { o in
            RowReuseKernel.nativeRows10Height5(channels: 0, kernelWidth: 0, dilationWidth: 1, weights: UnsafePointer(o.baseAddress!),
                                               input: UnsafePointer(o.baseAddress!), planeStride: 0, rowPitch: 0,
                                               output: o.baseAddress!, outputPitch: 0, initial: 0, SIMD4<Double>.self)
        }
        XCTAssertFalse(ranForDoubles)
    }
}
