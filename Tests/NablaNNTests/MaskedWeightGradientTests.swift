import XCTest
@testable import NablaTensor
@testable import NablaNN
import NablaTestSupport

/// The masked weight gradient (MaskedWeightGradient.swift): against the BLAS path on every vector
/// width and register file, forced on and off on the same shapes; its column masks against their
/// definition; non-finite inputs in the columns a mask hides; and which layers take it.
final class MaskedWeightGradientTests: XCTestCase {
    override func tearDown() {
        DirectConvolutionTests.resetKernelChoices()
        super.tearDown()
    }

    /// (input channels, output channels, H, W, kernel, padding, dilation, batch), each with `W ≤ Wo` and
    /// rows that are not whole vectors at some width: LeNet's 5×5 "same" layer (99 pixels: a partial last
    /// vector), a plane narrower than its output (`W < Wo`: zero columns in every row), a dilated kernel,
    /// channel counts that leave partial tiles, depths that leave padding taps, a 1×1 kernel, and planes
    /// narrower than one vector.
    static let shapes: [DirectConvolutionTests.Shape] = [
        (1, 6, 9, 11, (5, 5), (2, 2), (1, 1), 3),
        (2, 7, 5, 5, (3, 3), (2, 2), (1, 1), 2),
        (3, 5, 6, 9, (3, 3), (2, 2), (2, 2), 2),
        (2, 3, 4, 6, (2, 3), (0, 1), (1, 1), 3),
        (5, 2, 3, 7, (1, 1), (0, 0), (1, 1), 2),
        (1, 8, 2, 3, (3, 3), (1, 1), (1, 1), 5),
    ]

    /// ∂W (and ∂x, y, ∂b, which the switch must not touch) equal the BLAS path's on every shape, with
    /// the masked kernel forced on and off, in Double to 1e-11.
    func testAgreesWithTheBLASPathOnEveryKernelFamily() {
        var generator = RandomGenerator(seed: 41)
        var maskedRuns = 0
        for shape in Self.shapes {
            let run = DirectConvolutionTests.convolution(shape, using: &generator, seed: 9)
            let reference = run(.gemm)
            for masked in [true, false] {
                DirectConvolution.columnMaskOverride = masked
                DirectConvolutionTests.forEveryKernelFamily { family in
                    let lanes = DirectConvolution.vectorBitsOverride! / 64
                    let layout = DirectConvolutionLayout(forward: DirectConvolutionTests.geometry(shape), lanes: lanes)
                    if masked && DirectConvolution.fitsColumnMasks(layout) { maskedRuns += 1 }
                    DirectConvolutionTests.assertDirectAgrees(run, with: reference, "\(shape) \(family) masked \(masked)")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(maskedRuns, 40, "runs on the masked kernel")
    }

    /// Every mask word against its definition: lane `l` of pattern row `v` reads column
    /// `(v·L + l) mod Wo + j·dW − pW`, valid in `[0, W)`; the tail row also needs a pixel of the plane.
    func testMasksMarkTheUnpaddedColumns() {
        for (shape, lanes) in [(Self.shapes[0], 16), (Self.shapes[1], 8), (Self.shapes[2], 4), (Self.shapes[5], 16)] {
            let layout = DirectConvolutionLayout(forward: DirectConvolutionTests.geometry(shape), lanes: lanes)
            let masked = MaskedGradientLayout(layout)
            XCTAssertTrue(DirectConvolution.fitsColumnMasks(layout), "\(shape)")
            let row = masked.maskColumns * lanes
            var masks = [Int32](repeating: 7, count: (masked.period + 1) * row)
            masks.withUnsafeMutableBufferPointer {
                masked.writeMasks($0.baseAddress!)
                masked.writeMasks($0.baseAddress! + masked.period * row, tail: true)
            }
            for v in 0...masked.period {
                let first = v < masked.period ? v * lanes : masked.fullVectors * lanes
                for j in 0...layout.kernelWidth {
                    for l in 0..<lanes {
                        let column = (first + l) % layout.outWidth + j * layout.dilationWidth - layout.paddingWidth
                        let inPlane = v < masked.period || first + l < layout.outPlane
                        let valid = j < layout.kernelWidth && column >= 0 && column < layout.width && inPlane
                        XCTAssertEqual(masks[v * row + j * lanes + l], valid ? -1 : 0, "\(shape) row \(v) j \(j) lane \(l)")
                    }
                }
            }
            // The pattern repeats after `period` vectors: (period·L) is a multiple of Wo.
            XCTAssertEqual(masked.period * lanes % layout.outWidth, 0)
        }
    }

    /// An infinite input value in the first or the last column, which wrapped taps of the neighbouring
    /// rows read: the masked gradient has the BLAS path's infinities and NaNs in the same places and its
    /// numbers elsewhere (the masks select zeros; a 0/1 mask multiplied in would turn ∞ into NaN in taps
    /// that never reach that column).
    func testNonFiniteInputsPropagateAsThroughThePadding() {
        var generator = RandomGenerator(seed: 5)
        let w = Tensor<Float>(normal: [6, 1, 5, 5], using: &generator), gy = Tensor<Float>(normal: [2, 6, 9, 11], using: &generator)
        for (index, value) in [(3 * 11, Float.infinity), (99 + 6 * 11 + 10, -Float.infinity)] {
            var x = Tensor<Float>(normal: [2, 1, 9, 11], using: &generator)
            x.withUnsafeMutableBufferPointer { $0[index] = value }
            func gradient(_ algorithm: ConvolutionAlgorithm) -> Tensor<Float> {
                withConvolutionAlgorithm(algorithm) {
                    let xv = Variable(x, requiresGradient: true), wv = Variable(w, requiresGradient: true)
                    conv2d(xv, weight: wv, padding: (2, 2)).backward(seed: gy)
                    return wv.grad!
                }
            }
            let expected = gradient(.gemm)
            XCTAssertEqual(expected.scalars.filter(\.isFinite).count, 6 * 10, "two kernel columns never reach column \(index % 11)")
            for bits in DirectConvolutionTests.widths {
                DirectConvolution.vectorBitsOverride = bits
                DirectConvolution.columnMaskOverride = true
                let actual = gradient(.direct)
                for (k, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() {
                    if e.isFinite {
                        XCTAssertEqual(a, e, accuracy: 1e-4 * Swift.max(1, abs(e)), "\(bits)-bit tap \(k)")
                    } else {
                        XCTAssertTrue(a.isNaN == e.isNaN && (a.isNaN || a == e), "\(bits)-bit tap \(k): \(a), expected \(e)")
                    }
                }
            }
        }
    }

    /// The 16-register tile by the load-port model: 6×2 for LeNet's six channels and for deep layers,
    /// 2×4 where six rows would be mostly padding; 6×4 on 32 registers.
    func testTileByLoadPortModel() {
        XCTAssertTrue(DirectConvolution.maskedTile(channels: 6, depth: 25, registers: 16) == (6, 2), "78 cycles against 105")
        XCTAssertTrue(DirectConvolution.maskedTile(channels: 16, depth: 144, registers: 16) == (6, 2))
        XCTAssertTrue(DirectConvolution.maskedTile(channels: 2, depth: 25, registers: 16) == (2, 4), "one 2×4 row block")
        XCTAssertTrue(DirectConvolution.maskedTile(channels: 3, depth: 12, registers: 16) == (2, 4), "30 cycles against 36")
        XCTAssertTrue(DirectConvolution.maskedTile(channels: 2, depth: 25, registers: 32) == (6, 4))
    }

    /// LeNet's input layer takes the masked kernel; row-mode layers, layers without the padding
    /// (`W > Wo`) and the outer-product kernel's layers do not.
    func testWhichLayersTakeTheMaskedKernel() {
        func layout(_ cin: Int, _ cout: Int, _ size: Int, _ kernel: Int, padding: Int, lanes: Int = 16) -> DirectConvolutionLayout {
            DirectConvolutionLayout(forward: Convolution2DGeometry(
                batch: 128, inChannels: cin, inHeight: size, inWidth: size, outChannels: cout, kernelHeight: kernel,
                kernelWidth: kernel, strideHeight: 1, strideWidth: 1, paddingHeight: padding, paddingWidth: padding,
                dilationHeight: 1, dilationWidth: 1, groups: 1), lanes: lanes)
        }
        XCTAssertTrue(DirectConvolution.masksColumns(layout(1, 6, 28, 5, padding: 2)), "LeNet 1→6")
        XCTAssertTrue(DirectConvolution.masksColumns(layout(1, 6, 28, 5, padding: 2, lanes: 8)), "LeNet 1→6, 8 lanes")
        XCTAssertFalse(DirectConvolution.masksColumns(layout(1, 6, 28, 5, padding: 2, lanes: 4)), "28 = 7 vectors of 4: row mode")
        XCTAssertFalse(DirectConvolution.masksColumns(layout(3, 32, 32, 3, padding: 1)), "convnet 3→32: row mode")
        XCTAssertFalse(DirectConvolution.masksColumns(layout(6, 16, 14, 5, padding: 0)), "LeNet 6→16: W > Wo")
        XCTAssertFalse(DirectConvolution.masksColumns(layout(64, 64, 8, 3, padding: 1)), "resnet20 8×8: outer-product kernel")
        DirectConvolution.columnMaskOverride = true
        XCTAssertTrue(DirectConvolution.masksColumns(layout(64, 64, 8, 3, padding: 1)), "forced")
        XCTAssertFalse(DirectConvolution.masksColumns(layout(6, 16, 14, 5, padding: 0)), "forced, but W > Wo")
    }
}
