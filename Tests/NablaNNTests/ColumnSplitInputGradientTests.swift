import XCTest
@testable import NablaTensor
@testable import NablaNN
import NablaTestSupport

/// The column-split input gradient (ColumnSplitInputGradient.swift): the same gradient as the plain
/// direct correlation and the BLAS path on every kernel family and geometry class (padding, dilation,
/// kernels wider and narrower than tall, partial tiles, one core and several), its fold on a hand
/// example, its bits independent of the thread count, and the rule that chooses it.
final class ColumnSplitInputGradientTests: XCTestCase {
    override func tearDown() {
        DirectConvolutionTests.resetKernelChoices()
        super.tearDown()
    }

    /// The direct kernels' shapes, LeNet's two layers (small batch), and a wide dilated kernel with
    /// more width padding than the split's rows need.
    static let shapes = DirectConvolutionTests.shapes + [
        (6, 16, 14, 14, (5, 5), (0, 0), (1, 1), 2),
        (1, 6, 28, 28, (5, 5), (2, 2), (1, 1), 2),
        (3, 2, 5, 11, (2, 4), (1, 5), (1, 2), 2),
    ]

    func testAgreesWithThePlainCorrelationAndTheBLASPath() {
        var generator = RandomGenerator(seed: 31)
        for shape in Self.shapes {
            let x = Tensor<Double>(normal: [shape.batch, shape.cin, shape.h, shape.w], using: &generator)
            let w = Tensor<Double>(normal: [shape.cout, shape.cin, shape.kernel.0, shape.kernel.1], using: &generator)
            func inputGradient(_ algorithm: ConvolutionAlgorithm, split: Bool) -> Tensor<Double> {
                DirectConvolution.columnSplitOverride = split
                return withConvolutionAlgorithm(algorithm) {
                    let xv = Variable(x, requiresGradient: true)
                    let y = conv2d(xv, weight: Variable(w), padding: shape.padding, dilation: shape.dilation)
                    var seedGenerator = RandomGenerator(seed: 9)
                    y.backward(seed: Tensor<Double>(normal: y.shape, using: &seedGenerator))
                    return xv.grad!
                }
            }
            let reference = inputGradient(.gemm, split: false)
            DirectConvolutionTests.forEveryKernelFamily { family in
                let label = "\(shape) \(family)"
                let split = inputGradient(.direct, split: true), plain = inputGradient(.direct, split: false)
                assertClose(split, reference, relative: 1e-11, absolute: 1e-11, "\(label): split against BLAS")
                assertClose(split, plain, relative: 1e-11, absolute: 1e-11, "\(label): split against plain")
            }
        }
    }

    /// `∂x[c][h][w] = Σ_j T[c·kW + j][h][w + pW − j·dW]`, computed by hand for one channel, `kW = 3`,
    /// `pW = 1`: column `w` takes `T₀[w + 1]`, `T₁[w]` and `T₂[w − 1]` where they exist.
    func testFoldAddsTheShiftedColumns() {
        let geometry = Convolution2DGeometry(batch: 1, inChannels: 1, inHeight: 2, inWidth: 4, outChannels: 1,
                                             kernelHeight: 1, kernelWidth: 3, strideHeight: 1, strideWidth: 1,
                                             paddingHeight: 0, paddingWidth: 1, dilationHeight: 1, dilationWidth: 1, groups: 1)
        XCTAssertEqual([geometry.outHeight, geometry.outWidth], [2, 4])
        // T[j][h][ow] = 100·j + 10·h + ow.
        var t: [Float] = []
        for j in 0..<3 { for h in 0..<2 { for ow in 0..<4 { t.append(Float(100 * j + 10 * h + ow)) } } }
        var dx = [Float](repeating: .nan, count: 8)
        t.withUnsafeBufferPointer { source in
            dx.withUnsafeMutableBufferPointer { SIMD4<Float>.foldColumns(source.baseAddress!, into: $0.baseAddress!, geometry: geometry) }
        }
        var expected: [Float] = []
        for h in 0..<2 {
            for w in 0..<4 {
                var sum: Float = 0
                for j in 0..<3 {
                    let column = w + 1 - j
                    if column >= 0 && column < 4 { sum += Float(100 * j + 10 * h + column) }
                }
                expected.append(sum)
            }
        }
        XCTAssertEqual(dx, expected)
        XCTAssertEqual(expected[0], 1 + 100, "column 0: T₀[1] + T₁[0]")
    }

    func testBitsDoNotDependOnTheThreadCount() {
        DirectConvolution.columnSplitOverride = true
        var generator = RandomGenerator(seed: 4)
        let x = Tensor<Float>(normal: [6, 6, 14, 14], using: &generator), w = Tensor<Float>(normal: [16, 6, 5, 5], using: &generator)
        let seed = Tensor<Float>(normal: [6, 16, 10, 10], using: &generator)
        func run(threshold: Int) -> [Float] {
            ConvolutionTuning.parallelThreshold = threshold
            return withConvolutionAlgorithm(.direct) {
                let xv = Variable(x, requiresGradient: true)
                conv2d(xv, weight: Variable(w)).backward(seed: seed)
                return xv.grad!.scalars
            }
        }
        let single = run(threshold: Int.max), split = run(threshold: 0)
        XCTAssertEqual(single, split)
        XCTAssertEqual(split, run(threshold: 0))
    }

    /// The rule: the split where it computes at most 80% of the plain correlation's multiply-adds.
    func testTakenWhereItSavesAFifthOfTheWork() {
        func geometry(_ cin: Int, _ cout: Int, _ size: Int, kernel: (Int, Int), padding: (Int, Int)) -> Convolution2DGeometry {
            Convolution2DGeometry(batch: 1, inChannels: cin, inHeight: size, inWidth: size, outChannels: cout,
                                  kernelHeight: kernel.0, kernelWidth: kernel.1, strideHeight: 1, strideWidth: 1,
                                  paddingHeight: padding.0, paddingWidth: padding.1, dilationHeight: 1, dilationWidth: 1, groups: 1)
        }
        DirectConvolutionSupport.registerCount = 32
        let lenet2 = geometry(6, 16, 14, kernel: (5, 5), padding: (0, 0)), lenet1 = geometry(1, 6, 28, kernel: (5, 5), padding: (2, 2))
        XCTAssertTrue(DirectConvolution.splitsColumns(lenet2, lanes: 16), "23,040 against 38,400 multiply-adds")
        XCTAssertFalse(DirectConvolution.splitsColumns(lenet1, lanes: 16), "one input plane: the row-reusing tiles")
        DirectConvolution.rowReuseOverride = false
        XCTAssertTrue(DirectConvolution.splitsColumns(lenet1, lanes: 16), "without them, the split saves work")
        DirectConvolution.rowReuseOverride = nil
        XCTAssertFalse(DirectConvolution.splitsColumns(geometry(32, 32, 32, kernel: (3, 3), padding: (1, 1)), lanes: 16),
                       "same work both ways")
        XCTAssertFalse(DirectConvolution.splitsColumns(geometry(16, 16, 9, kernel: (3, 1), padding: (1, 0)), lanes: 16),
                       "one kernel column: nothing to split")
        DirectConvolutionSupport.registerCount = 16
        XCTAssertTrue(DirectConvolution.splitsColumns(lenet2, lanes: 8))
        DirectConvolution.columnSplitOverride = false
        XCTAssertFalse(DirectConvolution.splitsColumns(lenet2, lanes: 16))
        // The split's rows are exactly as wide as the upstream gradient: no padding columns.
        let layout = DirectConvolution.columnSplitLayout(lenet2, lanes: 16)
        XCTAssertEqual([layout.channels, layout.paddingHeight, layout.paddingWidth, layout.kernelHeight, layout.kernelWidth],
                       [16, 4, 0, 5, 1])
        XCTAssertEqual([layout.outHeight, layout.outWidth, layout.vectorCount], [14, 10, 9])
        XCTAssertTrue(DirectConvolution.forwardTile(channels: 30, vectors: 9, registers: 32) == (8, 3), "32 rows × 9 vectors")
        XCTAssertTrue(DirectConvolution.forwardTile(channels: 6, vectors: 16, registers: 32) == (6, 4))
    }
}
