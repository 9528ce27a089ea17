import XCTest
@testable import NablaTensor
@testable import NablaNN
import NablaTestSupport

/// The batch-vector input gradient (BatchVectorInputGradient.swift): the BLAS path's gradient on every
/// kernel family and geometry class (padding, dilation with input pixels no tap reaches, channels and
/// batches that fill partial tiles and blocks, several blocks, one core and several), its valid-tap
/// ranges against their definition, its bits independent of the thread count, and the rule.
final class BatchVectorInputGradientTests: XCTestCase {
    override func tearDown() {
        DirectConvolutionTests.resetKernelChoices()
        super.tearDown()
    }

    /// The direct kernels' shapes with batches of 5, 9 and 33 samples (partial blocks; 33 is several blocks
    /// at the narrower widths), a batch of 130 (several blocks, the last partial, at every width),
    /// LeNet's 6→16 layer, and dilated kernels that skip input pixels.
    static let shapes: [DirectConvolutionTests.Shape] = DirectConvolutionTests.shapes.map {
        var shape = $0
        shape.batch = [9, 33, 5][$0.cin % 3]
        return shape
    } + [
        (6, 16, 14, 14, (5, 5), (0, 0), (1, 1), 3),
        (3, 2, 6, 7, (3, 3), (1, 1), (1, 1), 130),
        (2, 3, 3, 5, (2, 2), (0, 0), (2, 2), 5),
        (7, 5, 7, 9, (3, 2), (1, 0), (3, 4), 20),
    ]

    func testAgreesWithTheBLASPathOnEveryKernelFamily() {
        var generator = RandomGenerator(seed: 41)
        var runs = 0
        for shape in Self.shapes {
            let run = DirectConvolutionTests.convolution(shape, using: &generator, seed: 7)
            let reference = run(.gemm)
            DirectConvolution.batchVectorOverride = true
            DirectConvolutionTests.forEveryKernelFamily { family in
                DirectConvolutionTests.assertDirectAgrees(run, with: reference, "\(shape) \(family)")
                runs += 1
            }
        }
        XCTAssertEqual(runs, Self.shapes.count * 12)
    }

    /// `I(h)`: exactly the `i < k` with `0 ≤ h + p − i·d < output`, over paddings, dilations and inputs.
    func testValidTapsAreTheTapsThatReadTheUpstreamGradient() {
        for kernel in 1...5 {
            for dilation in 1...3 {
                for padding in 0...(dilation * (kernel - 1)) {
                    for input in 1...9 {
                        let output = Convolution2DGeometry.outputExtent(input: input, kernel: kernel, stride: 1,
                                                                        padding: padding, dilation: dilation)
                        guard output >= 1 else { continue }
                        for h in 0..<input {
                            let expected = (0..<kernel).filter { (0..<output).contains(h + padding - $0 * dilation) }
                            let taps = DirectConvolution.validTaps(h, output: output, kernel: kernel, padding: padding, dilation: dilation)
                            XCTAssertEqual(Array(taps), expected, "h \(h), k \(kernel), d \(dilation), p \(padding), input \(input)")
                        }
                    }
                }
            }
        }
    }

    func testBitsDoNotDependOnTheThreadCount() {
        DirectConvolution.batchVectorOverride = true
        var generator = RandomGenerator(seed: 8)
        let x = Tensor<Float>(normal: [75, 6, 14, 14], using: &generator), w = Tensor<Float>(normal: [16, 6, 5, 5], using: &generator)
        let seed = Tensor<Float>(normal: [75, 16, 10, 10], using: &generator)
        func run(threshold: Int, workers: Int) -> [Float] {
            ConvolutionTuning.parallelThreshold = threshold
            ConvolutionParallelism.workerCount = workers   // cleared by tearDown
            return withConvolutionAlgorithm(.direct) {
                let xv = Variable(x, requiresGradient: true)
                conv2d(xv, weight: Variable(w)).backward(seed: seed)
                return xv.grad!.scalars
            }
        }
        let single = run(threshold: Int.max, workers: 1)
        XCTAssertEqual(single, run(threshold: 0, workers: 2))
        XCTAssertEqual(single, run(threshold: 0, workers: 3))
        XCTAssertFalse(single.contains { !$0.isFinite })
    }

    /// Infinities in the upstream gradient reach exactly the input pixels whose taps read them: a
    /// sample's ∞ gives ±∞ or NaN in that sample's taps' pixels and nowhere else (no zero of a padding
    /// lane or of another sample multiplies it).
    func testInfinitiesStayInTheirSampleAndTaps() {
        var generator = RandomGenerator(seed: 12)
        let x = Tensor<Double>(normal: [20, 6, 14, 14], using: &generator), w = Tensor<Double>(normal: [16, 6, 5, 5], using: &generator)
        var seed = Tensor<Double>(normal: [20, 16, 10, 10], using: &generator)
        seed[3, 2, 0, 9] = .infinity
        func inputGradient(_ algorithm: ConvolutionAlgorithm) -> Tensor<Double> {
            withConvolutionAlgorithm(algorithm) {
                let xv = Variable(x, requiresGradient: true)
                conv2d(xv, weight: Variable(w)).backward(seed: seed)
                return xv.grad!
            }
        }
        let reference = inputGradient(.gemm)
        DirectConvolution.batchVectorOverride = true
        DirectConvolutionTests.forEveryKernelFamily { family in
            let direct = inputGradient(.direct)
            var infinite = 0
            for (index, (a, b)) in zip(direct.scalars, reference.scalars).enumerated() {
                if b.isFinite {
                    XCTAssertEqual(a, b, accuracy: 1e-11 * Swift.max(1, abs(b)), "\(family) element \(index)")
                } else {
                    infinite += 1
                    XCTAssertTrue(a.isNaN ? b.isNaN : a == b, "\(family) element \(index): \(a) against \(b)")
                }
            }
            XCTAssertEqual(infinite, 6 * 5 * 5, "\(family): sample 3's pixels rows 0–4, columns 9–13, every channel")
        }
    }

    /// The rule: LeNet's 6→16 layer at training batches; not at batches that leave most of a block
    /// empty, not on the 3×3 "same" layers, not where a block would not fit the L2 budget.
    func testTakenWhereItSavesAQuarterOfTheLanes() {
        func geometry(_ cin: Int, _ cout: Int, _ size: Int, kernel: Int, padding: Int, batch: Int) -> Convolution2DGeometry {
            Convolution2DGeometry(batch: batch, inChannels: cin, inHeight: size, inWidth: size, outChannels: cout,
                                  kernelHeight: kernel, kernelWidth: kernel, strideHeight: 1, strideWidth: 1,
                                  paddingHeight: padding, paddingWidth: padding, dilationHeight: 1, dilationWidth: 1, groups: 1)
        }
        let float = MemoryLayout<Float>.size
        let lenet2 = geometry(6, 16, 14, kernel: 5, padding: 0, batch: 128)
        XCTAssertEqual(DirectConvolution.validTapCount(lenet2), 50 * 50, "each axis: 1+2+3+4+5·6+4+3+2+1 taps")
        XCTAssertEqual(DirectConvolution.pixelInputGradientLanes(lenet2, lanes: 16, registers: 32), 23_040 * 16, "the column split")
        XCTAssertTrue(DirectConvolution.vectorizesBatch(lenet2, lanes: 16, scalarSize: float, registers: 32),
                      "240,000 against 368,640 lanes per sample")
        XCTAssertTrue(DirectConvolution.vectorizesBatch(lenet2, lanes: 8, scalarSize: float, registers: 16))
        var small = lenet2
        small.batch = 8
        XCTAssertFalse(DirectConvolution.vectorizesBatch(small, lanes: 16, scalarSize: float, registers: 32), "8 of 64 samples")
        XCTAssertFalse(DirectConvolution.vectorizesBatch(geometry(32, 32, 16, kernel: 3, padding: 1, batch: 128),
                                                         lanes: 16, scalarSize: float, registers: 32), "same layer")
        // The same lanes as the accepted case, but 16-byte scalars make a block 1.6 MB.
        XCTAssertFalse(DirectConvolution.vectorizesBatch(lenet2, lanes: 16, scalarSize: 16, registers: 32), "1.6 MB per block")
        DirectConvolution.batchVectorOverride = false
        XCTAssertFalse(DirectConvolution.vectorizesBatch(lenet2, lanes: 16, scalarSize: float, registers: 32))
    }
}
