import XCTest
@testable import NablaTensor
@testable import NablaNN
import NablaTestSupport

/// The forward pass vectorized over output channels (ChannelVectorConvolution.swift): the values of the
/// pixel-vector kernels on every vector width and geometry class it takes (padding, dilation, odd
/// output heights, rows shorter than the tile, several channel blocks, with and without bias, one
/// core and several), and the rule that chooses it.
final class ChannelVectorConvolutionTests: XCTestCase {
    override func tearDown() {
        DirectConvolutionTests.resetKernelChoices()
        super.tearDown()
    }

    /// (cin, cout, h, w, kernel, padding, dilation, batch); `cout` a multiple of every lane count tested.
    static let shapes: [(cin: Int, cout: Int, h: Int, w: Int, kernel: (Int, Int), padding: (Int, Int), dilation: (Int, Int), batch: Int)] = [
        (6, 16, 14, 14, (5, 5), (0, 0), (1, 1), 3),    // LeNet's second layer
        (3, 32, 9, 12, (3, 3), (1, 1), (1, 1), 2),     // odd output height, two 16-lane blocks, a full 12-wide row
        (2, 16, 7, 5, (3, 2), (2, 1), (1, 2), 2),      // padding wider than the kernel reach, dilation, 6-pixel rows
        (4, 16, 3, 3, (1, 1), (0, 0), (1, 1), 1),      // 1×1 kernel, one-row tail
    ]

    func forward<S: TensorScalar>(_ x: Tensor<S>, _ w: Tensor<S>, _ b: Tensor<S>?, _ shape: (cin: Int, cout: Int, h: Int, w: Int, kernel: (Int, Int), padding: (Int, Int), dilation: (Int, Int), batch: Int),
                                  _ algorithm: ConvolutionAlgorithm, channels: Bool) -> [S] {
        DirectConvolution.channelVectorOverride = channels
        return withConvolutionAlgorithm(algorithm) {
            conv2d(Variable(x), weight: Variable(w), bias: b.map { Variable($0) }, padding: shape.padding,
                   dilation: shape.dilation).value.scalars
        }
    }

    func check<S: TensorScalar>(_: S.Type, tolerance: Double) {
        var generator = RandomGenerator(seed: 12)
        for shape in Self.shapes {
            let x = Tensor<S>(normal: [shape.batch, shape.cin, shape.h, shape.w], using: &generator)
            let w = Tensor<S>(normal: [shape.cout, shape.cin, shape.kernel.0, shape.kernel.1], using: &generator)
            for b in [nil, Tensor<S>(normal: [shape.cout], using: &generator)] {
                let reference = forward(x, w, b, shape, .gemm, channels: false)
                DirectConvolutionTests.forEveryKernelFamily { family in
                    let label = "\(S.self) \(shape) \(family), bias \(b != nil)"
                    let channelVectors = forward(x, w, b, shape, .direct, channels: true)
                    XCTAssertEqual(channelVectors, forward(x, w, b, shape, .direct, channels: false),
                                   "\(label): the pixel kernels' sums")
                    assertClose(Tensor(shape: [channelVectors.count], scalars: channelVectors),
                                Tensor(shape: [reference.count], scalars: reference),
                                relative: tolerance, absolute: tolerance, "\(label): against BLAS")
                }
            }
        }
    }

    func testSameValuesAsThePixelKernels() {
        check(Float.self, tolerance: 1e-4)
        check(Double.self, tolerance: 1e-11)
    }

    /// The tile: 2 × 12 × 1 on 32 registers; on 16, one row of 5 or 6 columns (whichever pads the row
    /// least) × 2 channel vectors.
    func testTileShape() {
        XCTAssertTrue(DirectConvolution.channelTile(outWidth: 10, registers: 32) == (2, 12, 1))
        let columns = (1...12).map { DirectConvolution.channelTile(outWidth: $0, registers: 16).columns }
        XCTAssertEqual(columns, [5, 5, 5, 5, 5, 6, 5, 5, 5, 5, 6, 6])
        XCTAssertTrue(DirectConvolution.channelTile(outWidth: 10, registers: 16) == (1, 5, 2))
    }

    /// Taken where it computes at most 90% of the pixel kernels' lanes, for whole blocks of output
    /// channels and rows of at most 12 pixels.
    func testRule() {
        func geometry(_ cin: Int, _ cout: Int, _ size: Int, kernel: Int, padding: Int) -> Convolution2DGeometry {
            Convolution2DGeometry(batch: 1, inChannels: cin, inHeight: size, inWidth: size, outChannels: cout,
                                  kernelHeight: kernel, kernelWidth: kernel, strideHeight: 1, strideWidth: 1,
                                  paddingHeight: padding, paddingWidth: padding, dilationHeight: 1, dilationWidth: 1, groups: 1)
        }
        let lenet2 = geometry(6, 16, 14, kernel: 5, padding: 0)
        XCTAssertTrue(DirectConvolution.vectorizesChannels(lenet2, lanes: 16, registers: 32),
                      "10 rows × 12 columns × 16 channels against 16 rows × 9 vectors × 16 lanes")
        XCTAssertTrue(DirectConvolution.vectorizesChannels(lenet2, lanes: 8, registers: 16),
                      "AVX2: 10 rows × 10 columns × 16 channels against 16 rows × 18 vectors × 8 lanes")
        XCTAssertFalse(DirectConvolution.vectorizesChannels(lenet2, lanes: 16, registers: 16),
                       "16 channels in a tile of two 16-lane vectors: half of it padding")
        XCTAssertFalse(DirectConvolution.vectorizesChannels(geometry(1, 6, 28, kernel: 5, padding: 2), lanes: 16, registers: 32),
                       "6 of 16 lanes")
        XCTAssertFalse(DirectConvolution.vectorizesChannels(geometry(32, 32, 32, kernel: 3, padding: 1), lanes: 16, registers: 32),
                       "32-pixel rows")
        XCTAssertFalse(DirectConvolution.vectorizesChannels(geometry(64, 64, 8, kernel: 3, padding: 1), lanes: 16, registers: 32),
                       "8-pixel rows: 2/3 of the tile, as many lanes as the pixel kernels compute")
        DirectConvolution.channelVectorOverride = false
        XCTAssertFalse(DirectConvolution.vectorizesChannels(lenet2, lanes: 16, registers: 32))
        DirectConvolution.channelVectorOverride = true
        XCTAssertTrue(DirectConvolution.vectorizesChannels(geometry(64, 64, 8, kernel: 3, padding: 1), lanes: 16, registers: 16))
        XCTAssertFalse(DirectConvolution.vectorizesChannels(geometry(1, 6, 28, kernel: 5, padding: 2), lanes: 16),
                       "forced on, still only whole channel blocks")
    }
}
