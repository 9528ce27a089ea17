import XCTest
@testable import NablaTensor
@testable import NablaNN
import NablaTestSupport

/// `Variable.reusingUpstream`: `backward()` lends each node's gradient to its pullback as the only
/// reference, so a pullback may write its input gradient over it; a gradient someone else still holds
/// (a kept `seed`) is copied on the first write and never changed.
final class UpstreamReuseTests: XCTestCase {
    /// `2·g` written over the upstream `g` and passed to `x`; records whether the write needed a copy.
    private func doubling(_ x: Variable<Float>, copied: @escaping (Bool) -> Void) -> Variable<Float> {
        Variable.reusingUpstream(x.value, inputs: [x]) { upstream in
            let before = upstream.withUnsafeBufferPointer { $0.baseAddress! }
            upstream.withUnsafeMutableBufferPointer { g in
                copied(UnsafePointer(g.baseAddress!) != before)
                for i in g.indices { g[i] *= 2 }
            }
            x.accumulate(upstream)
        }
    }

    func testBackwardLendsAFreshGradientAsTheOnlyReference() {
        let x = Variable(Tensor<Float>(shape: [3], scalars: [1, -2, 3]), requiresGradient: true)
        var copies: [Bool] = []
        let doubled = doubling(x) { copies.append($0) }
        // The sum's pullback makes a fresh gradient of ones; nothing else holds it.
        doubled.sum().backward()
        XCTAssertEqual(copies, [false], "the pullback wrote into the gradient it was lent")
        XCTAssertEqual(x.grad?.scalars, [2, 2, 2])
    }

    func testAKeptSeedIsCopiedNotOverwritten() {
        let x = Variable(Tensor<Float>(shape: [3], scalars: [1, -2, 3]), requiresGradient: true)
        var copies: [Bool] = []
        let seed = Tensor<Float>(shape: [3], scalars: [0.5, -1, 4])
        doubling(x) { copies.append($0) }.backward(seed: seed)
        XCTAssertEqual(copies, [true])
        XCTAssertEqual(seed.scalars, [0.5, -1, 4], "the caller's seed is unchanged")
        XCTAssertEqual(x.grad?.scalars, [1, -2, 8])
    }

    func testTheGradientReadyBackwardLendsItToo() {
        let x = Variable(Tensor<Float>(shape: [2], scalars: [1, 1]), requiresGradient: true)
        var copies: [Bool] = []
        var ready = 0
        doubling(x) { copies.append($0) }.sum().backward { _ in ready += 1 }
        XCTAssertEqual(copies, [false])
        XCTAssertEqual(ready, 1)
        XCTAssertEqual(x.grad?.scalars, [2, 2])
    }

    /// Batch norm fused with a ReLU (training, `[N, C, *]` with `∏* > 1`) writes `∂x` over `∂y`. Its
    /// gradients must be the same bit for bit whether it was lent the only reference or a kept seed
    /// (copied on write), and those of the plain batch norm (which writes a fresh tensor) must not
    /// change either, for runs shorter and longer than a vector and than the 1 KiB prefetch lead.
    func testBatchNormWritingOverItsUpstreamGivesTheSameGradients() {
        var generator = RandomGenerator(seed: 11)
        for shape in [[4, 3, 5, 6], [3, 2, 9], [8, 16, 4, 4], [2, 5, 33, 17], [5, 1, 300]] {
            let input = Tensor<Float>(normal: shape, using: &generator)
            let upstream = Tensor<Float>(normal: shape, using: &generator), original = upstream.scalars
            let gamma = Tensor<Float>(uniform: [shape[1]], lower: 0.5, upper: 1.5, using: &generator)
            let beta = Tensor<Float>(uniform: [shape[1]], lower: -0.5, upper: 0.5, using: &generator)
            for fused in [false, true] {
                func gradients(lendingTheUpstream: Bool) -> [[Float]] {
                    let x = Variable(input, requiresGradient: true)
                    let w = Variable(gamma, requiresGradient: true), b = Variable(beta, requiresGradient: true)
                    let y = batchNorm(x, runningMean: nil, runningVariance: nil, weight: w, bias: b, training: true,
                                      fusingReLU: fused)
                    if lendingTheUpstream {
                        (y * Variable(upstream)).sum().backward()   // ∂y = upstream·1, a fresh tensor
                    } else {
                        y.backward(seed: upstream)
                    }
                    return [x.grad!.scalars, w.grad!.scalars, b.grad!.scalars]
                }
                let lent = gradients(lendingTheUpstream: true), kept = gradients(lendingTheUpstream: false)
                XCTAssertEqual(lent, kept, "shape \(shape), fused ReLU \(fused)")
                XCTAssertTrue(lent[0].contains { $0 != 0 }, "shape \(shape): a gradient flowed")
            }
            XCTAssertEqual(upstream.scalars, original, "shape \(shape): the kept seed is unchanged")
        }
    }
}
