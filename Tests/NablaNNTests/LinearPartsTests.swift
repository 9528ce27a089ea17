import XCTest
@testable import NablaTensor
@testable import NablaNN

/// `linear` splits its output over threads, each part writing its block of the bias and then adding
/// its product into it, and splits the bias gradient's columns: every split gives the definition.
final class LinearPartsTests: XCTestCase {
    override func tearDown() {
        Parallelism.setThreadCount(Parallelism.availableCoreCount)
        BLASThreading.parallelThreshold = 1 << 19
    }

    func testEverySplitOfTheOutputAndTheBiasGradientGivesTheDefinition() {
        var g = RandomGenerator(seed: 23)
        // Tall (rows split), wide (columns split, tiles of 16 not dividing the width), one row, and a
        // bias gradient large enough to be split over the threads.
        for (rows, inputs, outputs) in [(75, 9, 33), (5, 7, 70), (1, 3, 40), (300, 4, 257)] {
            let x = Tensor<Double>(normal: [rows, inputs], using: &g)
            let w = Tensor<Double>(normal: [outputs, inputs], using: &g)
            let b = Tensor<Double>(normal: [outputs], using: &g)
            let upstream = Tensor<Double>(normal: [rows, outputs], using: &g)
            for withBias in [true, false] {
                for threads in [1, 2, 3, 8] {
                    Parallelism.setThreadCount(threads)
                    BLASThreading.parallelThreshold = 0
                    let xv = Variable(x, requiresGradient: true), wv = Variable(w, requiresGradient: true)
                    let bv = withBias ? Variable(b, requiresGradient: true) : nil
                    let y = linear(xv, weight: wv, bias: bv)
                    (y * Variable(upstream)).sum().backward()
                    let context = "\(rows)×\(inputs)→\(outputs) bias=\(withBias) threads=\(threads)"
                    var worst = 0.0
                    for r in 0..<rows {
                        for j in 0..<outputs {
                            var sum = withBias ? b[j] : 0
                            for i in 0..<inputs { sum += x[r, i] * w[j, i] }
                            worst = max(worst, abs(y.value[r, j] - sum))
                        }
                    }
                    // At most 9 products of unit normals per element: dgemm's order of addition moves
                    // the last bits only.
                    XCTAssertLessThan(worst, 1e-13, "output: \(context)")
                    if let bv {
                        // Each column summed in row order from 0, as the definition here: the same bits.
                        let expected = (0..<outputs).map { j in (0..<rows).reduce(0.0) { $0 + upstream[$1, j] } }
                        XCTAssertEqual(bv.grad!.scalars, expected, "∂b: \(context)")
                    }
                }
            }
        }
    }
}

extension LinearPartsTests {
    /// An empty batch, as PyTorch allows: an empty output, and zero weight and bias gradients.
    func testEmptyBatchGivesEmptyOutputAndZeroGradients() {
        var g = RandomGenerator(seed: 2)
        let w = Variable(Tensor<Double>(normal: [5, 3], using: &g), requiresGradient: true)
        let b = Variable(Tensor<Double>(normal: [5], using: &g), requiresGradient: true)
        let x = Variable(Tensor<Double>(shape: [0, 3], scalars: []), requiresGradient: true)
        let y = linear(x, weight: w, bias: b)
        XCTAssertEqual(y.shape, [0, 5])
        y.sum().backward()
        XCTAssertEqual(w.grad?.scalars, [Double](repeating: 0, count: 15))
        XCTAssertEqual(b.grad?.scalars, [Double](repeating: 0, count: 5))
        XCTAssertEqual(x.grad?.shape, [0, 3])
    }
}
