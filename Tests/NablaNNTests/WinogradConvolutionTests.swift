import XCTest
@testable import NablaTensor
@testable import NablaNN
import NablaTestSupport

/// Winograd F(2×2, 3×3) and F(4×4, 3×3) (WinogradConvolution.swift, WinogradF4Transforms.swift): the
/// output and the input gradient against the BLAS path in Double on every vector width, register
/// file, threading and chunking; their Float rounding against the direct sum's; bits that do not
/// depend on cores or chunks; and which products of which geometries take them.
final class WinogradConvolutionTests: XCTestCase {
    static let defaultChunkBytes = WinogradConvolution.chunkBytes

    override func tearDown() {
        DirectConvolutionTests.resetKernelChoices()
        WinogradConvolution.chunkBytes = Self.defaultChunkBytes
        super.tearDown()
    }

    /// (input channels, output channels, H, W, kernel, padding, dilation, batch): odd output heights and
    /// widths (a partial last tile), every padding 0…2 (and mixed), output channels that leave a
    /// partial register tile, planes narrower and wider than a vector of tiles, and tile rows of exactly
    /// a half or a quarter of a vector (two or four per vector) at each width and tile size, with and
    /// without a partial last tile row.
    static let shapes: [DirectConvolutionTests.Shape] = [
        (3, 5, 5, 4, (3, 3), (1, 1), (1, 1), 2),
        (8, 9, 7, 9, (3, 3), (1, 1), (1, 1), 3),
        (2, 3, 6, 3, (3, 3), (0, 2), (1, 1), 1),
        (4, 17, 4, 38, (3, 3), (2, 0), (1, 1), 2),
        (16, 8, 8, 8, (3, 3), (0, 0), (1, 1), 3),
        (5, 4, 3, 3, (3, 3), (2, 2), (1, 1), 4),
        (6, 7, 8, 8, (3, 3), (1, 1), (1, 1), 3),
        (3, 5, 7, 7, (3, 3), (1, 1), (1, 1), 2),
        (4, 6, 15, 16, (3, 3), (1, 1), (1, 1), 2),
        (2, 3, 8, 4, (3, 3), (1, 1), (1, 1), 3),
        (2, 2, 8, 2, (3, 3), (1, 1), (1, 1), 3),
        (2, 3, 14, 30, (3, 3), (1, 1), (1, 1), 2),
        (2, 3, 16, 8, (3, 3), (1, 1), (1, 1), 2),
        (3, 2, 13, 3, (3, 3), (1, 1), (1, 1), 1),
        // 12 output channels: 6 vectors of 2 lanes, the weight gradient's four-vector group and a pair.
        (4, 12, 6, 7, (3, 3), (1, 1), (1, 1), 2),
        // Padding 2 in a row of a whole 16-value block and two left over (the F(4×4) grid's copy).
        (3, 4, 5, 18, (3, 3), (1, 2), (1, 1), 2),
    ]

    /// The two algorithms, F(2×2, 3×3) and F(4×4, 3×3), with their tile sizes.
    static let algorithms: [(ConvolutionAlgorithm, tileSize: Int)] = [(.winograd, 2), (.winograd4x4, 4)]

    /// The shapes above pack 1, 2 and 4 tile rows per vector at 16, 8, 4 and 2 lanes, for both tile sizes.
    func testShapesCoverEveryPacking() {
        for (_, tileSize) in Self.algorithms {
            for lanes in [16, 8, 4, 2] {
                let packings = Set(Self.shapes.map { shape in
                    WinogradShape(channels: shape.cin, outChannels: shape.cout, height: shape.h, width: shape.w,
                                  paddingHeight: shape.padding.0, paddingWidth: shape.padding.1, tileSize: tileSize)
                        .tileRowsPerVector(lanes: lanes)
                })
                XCTAssertEqual(packings, lanes == 2 ? [1, 2] : [1, 2, 4], "F(\(tileSize)×\(tileSize)) \(lanes) lanes")
            }
        }
    }

    /// The ξ blocks of the transformed patches and products start an odd number of cache lines apart
    /// (whole lines, never fewer elements than asked), for 4- and 8-byte scalars.
    func testPointBlocksStartAnOddNumberOfCacheLinesApart() {
        for count in [1, 15, 16, 17, 31, 32, 33, 1024, 1040, 4096, 36 * 24] {
            let floats = oddCacheLines(count, of: Float.self), doubles = oddCacheLines(count, of: Double.self)
            XCTAssertGreaterThanOrEqual(floats, count); XCTAssertGreaterThanOrEqual(doubles, count)
            XCTAssertEqual(floats % 16, 0); XCTAssertEqual(doubles % 8, 0)
            XCTAssertEqual(floats / 16 % 2, 1, "\(count) floats"); XCTAssertEqual(doubles / 8 % 2, 1, "\(count) doubles")
            XCTAssertLessThan(floats - count, 32); XCTAssertLessThan(doubles - count, 16)
        }
        // AVX2, convnet 32→32: 32 channels × a pitch of 32 floats is 4 KiB; one line more.
        XCTAssertEqual(oddCacheLines(32 * 32, of: Float.self), 32 * 32 + 16)
    }

    /// In Double, to 1e-12 (every shape here also passes at 1e-13, both tile sizes): the transforms' extra rounding is a
    /// few units in the last place of sums of at most 36·18 products.
    func testAgreesWithTheBLASPathOnEveryKernelFamilyAndChunking() {
        var generator = RandomGenerator(seed: 41)
        for shape in Self.shapes {
            let run = DirectConvolutionTests.convolution(shape, using: &generator, seed: 9)
            let reference = run(.gemm)
            // One tile row per chunk, and everything in one chunk.
            for chunkBytes in [1, 1 << 30] {
                WinogradConvolution.chunkBytes = chunkBytes
                DirectConvolutionTests.forEveryKernelFamily { family in
                    for (algorithm, _) in Self.algorithms {
                        for (part, (actual, expected)) in zip(["output", "∂x", "∂W", "∂b"], zip(run(algorithm), reference)) {
                            assertClose(actual, expected, relative: 1e-12, absolute: 1e-12,
                                        "\(algorithm) \(shape) \(family) chunk \(chunkBytes) \(part)")
                        }
                    }
                }
            }
        }
    }

    /// In Float the transforms round differently from the direct sum. On a 64 → 64 layer the largest error
    /// against the exact (Double) result, as a share of the result's RMS, was 1.3e-6 for the output and
    /// 1.6e-6 for ∂x — below the direct sum's 4.5e-6 and 3.5e-6 (its sums are 576 products long, the
    /// Winograd products' 64). F(4×4)'s transforms round more: 2.3e-5 and 2.7e-5.
    func testFloatRoundingStaysNearTheDirectSum() {
        var generator = RandomGenerator(seed: 7)
        let x = Tensor<Double>(normal: [2, 64, 12, 12], using: &generator).map { Double(Float($0)) }
        let w = Tensor<Double>(normal: [64, 64, 3, 3], using: &generator).map { Double(Float($0 / 24)) }
        let seed = Tensor<Double>(normal: [2, 64, 12, 12], using: &generator).map { Double(Float($0)) }
        func run<Scalar: TensorScalar>(_: Scalar.Type, _ algorithm: ConvolutionAlgorithm) -> [[Double]] {
            withConvolutionAlgorithm(algorithm) {
                let xv = Variable(Tensor<Scalar>(x), requiresGradient: true)
                let wv = Variable(Tensor<Scalar>(w), requiresGradient: true)
                let y = conv2d(xv, weight: wv, padding: (1, 1))
                y.backward(seed: Tensor<Scalar>(seed))
                return [Tensor<Double>(y.value).scalars, Tensor<Double>(xv.grad!).scalars, Tensor<Double>(wv.grad!).scalars]
            }
        }
        let exact = run(Double.self, .gemm), direct = run(Float.self, .direct)
        let f2 = run(Float.self, .winograd), f4 = run(Float.self, .winograd4x4)
        for (part, index) in [("output", 0), ("∂x", 1), ("∂W", 2)] {
            let scale = (exact[index].map { $0 * $0 }.reduce(0, +) / Double(exact[index].count)).squareRoot()
            func error(_ values: [Double]) -> Double { zip(values, exact[index]).map { abs($0 - $1) }.max()! / scale }
            let directError = error(direct[index]), f2Error = error(f2[index]), f4Error = error(f4[index])
            print("winograd \(part): max error of the rms output F(2×2) \(f2Error), F(4×4) \(f4Error) (direct \(directError))")
            XCTAssertLessThan(f2Error, 1e-5, part)
            XCTAssertLessThan(f2Error, 2 * directError, part)
            XCTAssertGreaterThan(f2Error, 0, "\(part): Float rounds somewhere")
            // Measured 2.3e-5 (output) and 2.7e-5 (∂x): about 4× headroom, as F(2×2)'s bound has 6×.
            XCTAssertLessThan(f4Error, 1e-4, part)
            XCTAssertGreaterThan(f4Error, f2Error, "\(part): F(4×4)'s transforms round more")
        }
    }

    /// The weight gradient's input channels are padded to a multiple of every product tile's channel
    /// count that its output-channel vectors use: 3 (groups of four vectors), 6 (a pair), 9 (one).
    func testWeightGradientPadsChannelsForEveryProductTile() {
        for vectors in 1...13 {
            let multiple = WinogradWeightGradient.channelMultiple(vectors: vectors)
            if vectors >= 4 { XCTAssertEqual(multiple % 3, 0, "\(vectors) vectors") }
            if vectors % 4 >= 2 { XCTAssertEqual(multiple % 6, 0, "\(vectors) vectors") }
            if vectors % 2 == 1 { XCTAssertEqual(multiple % 9, 0, "\(vectors) vectors") }
        }
        XCTAssertEqual([1, 2, 3, 4, 5, 6, 8].map { WinogradWeightGradient.channelMultiple(vectors: $0) }, [9, 6, 18, 3, 9, 6, 3])
    }

    /// The weight gradient's partial sums follow the workers and chunks (a fixed function of the shape):
    /// other splits agree to rounding, and a repeated run gives the same bits.
    func testWeightGradientIsDeterministicAndAgreesAcrossSplits() {
        var generator = RandomGenerator(seed: 6)
        let x = Tensor<Float>(normal: [5, 18, 9, 20], using: &generator)
        let w = Tensor<Float>(normal: [20, 18, 3, 3], using: &generator)
        let seed = Tensor<Float>(normal: [5, 20, 9, 20], using: &generator)
        func run(_ algorithm: ConvolutionAlgorithm, threshold: Int, chunkBytes: Int) -> [Float] {
            ConvolutionTuning.parallelThreshold = threshold
            WinogradConvolution.chunkBytes = chunkBytes
            return withConvolutionAlgorithm(algorithm) {
                let wv = Variable(w, requiresGradient: true)
                conv2d(Variable(x), weight: wv, padding: (1, 1)).backward(seed: seed)
                return wv.grad!.scalars
            }
        }
        for (choice, _) in Self.algorithms {
            let reference = run(choice, threshold: Int.max, chunkBytes: 1 << 30)
            XCTAssertEqual(run(choice, threshold: Int.max, chunkBytes: 1 << 30), reference, "\(choice) repeated")
            for (threshold, chunkBytes) in [(0, 1 << 30), (0, 1), (Int.max, 1), (0, 20_000)] {
                let other = run(choice, threshold: threshold, chunkBytes: chunkBytes)
                XCTAssertEqual(run(choice, threshold: threshold, chunkBytes: chunkBytes), other, "\(choice) repeated")
                let scale = reference.map { abs($0) }.max()!
                for (a, b) in zip(other, reference) {
                    XCTAssertEqual(a, b, accuracy: 1e-5 * scale, "\(choice) ∂W, threshold \(threshold), chunk \(chunkBytes)")
                }
            }
        }
    }

    /// The same bits for one core or several, and for any chunk size, in the output and the input
    /// gradient.
    func testBitsDoNotDependOnCoresOrChunks() {
        var generator = RandomGenerator(seed: 5)
        let x = Tensor<Float>(normal: [5, 6, 9, 20], using: &generator)
        let w = Tensor<Float>(normal: [10, 6, 3, 3], using: &generator)
        let seed = Tensor<Float>(normal: [5, 10, 9, 20], using: &generator)
        func run(_ algorithm: ConvolutionAlgorithm, threshold: Int, chunkBytes: Int) -> [Tensor<Float>] {
            ConvolutionTuning.parallelThreshold = threshold
            WinogradConvolution.chunkBytes = chunkBytes
            return withConvolutionAlgorithm(algorithm) {
                let xv = Variable(x, requiresGradient: true)
                let y = conv2d(xv, weight: Variable(w), padding: (1, 1))
                y.backward(seed: seed)
                return [y.value, xv.grad!]
            }
        }
        for (choice, _) in Self.algorithms {
            let reference = run(choice, threshold: Int.max, chunkBytes: 1 << 30)
            for (threshold, chunkBytes) in [(0, 1 << 30), (0, 1), (Int.max, 1), (0, 20_000)] {
                let other = run(choice, threshold: threshold, chunkBytes: chunkBytes)
                XCTAssertEqual(other[0].scalars, reference[0].scalars, "\(choice) output, threshold \(threshold), chunk \(chunkBytes)")
                XCTAssertEqual(other[1].scalars, reference[1].scalars, "\(choice) ∂x, threshold \(threshold), chunk \(chunkBytes)")
            }
        }
    }

    func testTakesTheThreeProductsOfThreeByThreeUnitStrideLayers() throws {
        func geometry(_ weight: [Int], stride: Int = 1, padding: Int = 1, dilation: Int = 1, groups: Int = 1) throws -> Convolution2DGeometry {
            try Convolution2DGeometry(operation: "conv2d", input: [2, 4, 8, 8], weight: weight, bias: nil, stride: (stride, stride),
                                      padding: (padding, padding), dilation: (dilation, dilation), groups: groups)
        }
        let layer = try geometry([8, 4, 3, 3])
        XCTAssertEqual(layer.path(.winograd, for: Float.self, product: .forward), .winograd)
        XCTAssertEqual(layer.path(.winograd, for: Double.self, product: .inputGradient), .winograd)
        XCTAssertEqual(layer.path(.winograd, for: Float.self, product: .weightGradient), .winograd)
        XCTAssertEqual(try geometry([8, 4, 3, 3], padding: 0).path(.winograd, for: Float.self), .winograd)
        XCTAssertEqual(try geometry([8, 4, 5, 5], padding: 2).path(.winograd, for: Float.self), .direct)
        XCTAssertEqual(try geometry([8, 4, 3, 3], dilation: 2).path(.winograd, for: Float.self), .direct)
        XCTAssertEqual(try geometry([8, 4, 3, 3], stride: 2).path(.winograd, for: Float.self), .gemm)
        XCTAssertEqual(try geometry([8, 2, 3, 3], groups: 2).path(.winograd, for: Float.self), .gemm)
        XCTAssertEqual(try ConvolutionAlgorithm(parsing: "Winograd"), .winograd)
        XCTAssertEqual(try ConvolutionAlgorithm(parsing: "winograd4x4"), .winograd4x4)
        XCTAssertEqual(layer.path(.winograd4x4, for: Float.self, product: .forward), .winograd4x4)
        XCTAssertEqual(layer.path(.winograd4x4, for: Double.self, product: .inputGradient), .winograd4x4)
        XCTAssertEqual(layer.path(.winograd4x4, for: Float.self, product: .weightGradient), .winograd4x4)
        XCTAssertEqual(try geometry([8, 4, 5, 5], padding: 2).path(.winograd4x4, for: Float.self), .direct)
        // That layer (4 input channels) is too thin for `auto`: only the explicit choice takes Winograd.
        XCTAssertEqual(layer.path(.auto, for: Float.self), ConvolutionAlgorithm.directKernelsAvailable ? .direct : .gemm)
        XCTAssertEqual(try ConvolutionAlgorithm.winograd.kernels(input: [2, 4, 8, 8], weight: [8, 4, 3, 3], stride: (1, 1),
                                                                  padding: (1, 1), product: .weightGradient), .winograd)
    }

    /// `auto` takes Winograd for the three products of 3×3 layers with ≥ 16 planes in and
    /// out whose tile rows fill the vectors, at every width — F(4×4) where its tiles do, else F(2×2); not
    /// for thin layers (F(2×2) below 32 planes, F(4×4) below 16), 5×5 kernels or half-empty vectors. The
    /// weight gradient follows the forward pass.
    func testAutoTakesItForWideLayersWhoseTilesFillTheVectors() throws {
        func geometry(_ input: [Int], _ weight: [Int], padding: Int = 1) throws -> Convolution2DGeometry {
            try Convolution2DGeometry(operation: "conv2d", input: input, weight: weight, bias: nil, stride: (1, 1),
                                      padding: (padding, padding), dilation: (1, 1), groups: 1)
        }
        for bits in [512, 256] {
            DirectConvolution.vectorBitsOverride = bits
            // convnet's 32→32 32×32, 32→64 and 64→64 16×16; resnet20's 32→32 16×16 and 64→64 8×8.
            // F(4×4) where its tile rows fill the vectors: 8 tiles of a 32-wide plane fill 8 lanes and pack two
            // to 16; 4 of a 16-wide plane pack two to 8 lanes and four to 16. An 8-wide plane's 2 tile rows of
            // 2 tiles fill half of 8 lanes: F(2×2) there.
            for (input, weight, wide) in [([64, 32, 32, 32], [32, 32, 3, 3], true), ([64, 32, 16, 16], [64, 32, 3, 3], true),
                                          ([64, 64, 16, 16], [64, 64, 3, 3], true), ([128, 32, 16, 16], [32, 32, 3, 3], true),
                                          ([128, 64, 8, 8], [64, 64, 3, 3], false)] {
                let g = try geometry(input, weight), expected: ConvolutionPath = wide ? .winograd4x4 : .winograd
                XCTAssertEqual(g.path(.auto, for: Float.self, product: .forward), expected, "\(bits) \(input) \(weight)")
                XCTAssertEqual(g.path(.auto, for: Float.self, product: .inputGradient), expected, "\(bits) \(input) \(weight)")
                XCTAssertEqual(g.path(.auto, for: Float.self, product: .weightGradient), expected, "\(bits) \(input) \(weight)")
            }
            // 16 planes (resnet20's 16→16, a 16→32 layer) on F(4×4) where its tile rows fill the vectors, never
            // on F(2×2): a 16→16 layer on 8×8 planes (2 tile rows of 2 tiles for F(4×4)) stays direct.
            for (input, weight) in [([128, 16, 32, 32], [16, 16, 3, 3]), ([64, 16, 32, 32], [32, 16, 3, 3])] {
                let g = try geometry(input, weight)
                XCTAssertEqual(g.path(.auto, for: Float.self, product: .forward), .winograd4x4, "\(bits) \(input) \(weight)")
                XCTAssertEqual(g.path(.auto, for: Float.self, product: .inputGradient), .winograd4x4, "\(bits) \(input) \(weight)")
                XCTAssertEqual(g.path(.auto, for: Float.self, product: .weightGradient), .winograd4x4, "\(bits) \(input) \(weight)")
            }
            // Thinner layers (the 3-channel input layers, 8 planes), 16 planes where F(4×4) would waste
            // lanes, and 5×5 kernels stay direct.
            for (input, weight, padding) in [([64, 3, 32, 32], [32, 3, 3, 3], 1), ([64, 8, 32, 32], [16, 8, 3, 3], 1),
                                             ([128, 16, 8, 8], [16, 16, 3, 3], 1), ([128, 32, 14, 14], [32, 32, 5, 5], 2)] {
                let g = try geometry(input, weight, padding: padding)
                for product in ConvolutionProduct.allCases {
                    XCTAssertEqual(g.path(.auto, for: Float.self, product: product), .direct, "\(bits) \(input) \(weight) \(product)")
                }
            }
        }
        // 16 lanes: the 5 tile columns of a 10×10 plane fill 5/16 of a vector, the 13 of a 26×26 plane 13/16.
        DirectConvolution.vectorBitsOverride = 512
        XCTAssertNotEqual(try geometry([8, 64, 10, 10], [64, 64, 3, 3]).path(.auto, for: Float.self, product: .forward), .winograd)
        XCTAssertEqual(try geometry([8, 64, 26, 26], [64, 64, 3, 3]).path(.auto, for: Float.self, product: .forward), .winograd)
        WinogradConvolution.automatic = false
        XCTAssertEqual(try geometry([64, 64, 16, 16], [64, 64, 3, 3]).path(.auto, for: Float.self, product: .forward), .direct)
    }
}
