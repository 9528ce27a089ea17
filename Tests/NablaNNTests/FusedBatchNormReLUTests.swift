import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// `Sequential` runs a `BatchNorm` followed by a `ReLU` as one fused node; it must give exactly the
/// values, gradients and running statistics of the two layers run one after the other.
final class FusedBatchNormReLUTests: XCTestCase {
    /// Runs `norm` then `relu` either through `Sequential` (fused) or by hand, and returns the output,
    /// the input gradient, γ's and β's gradients and the running statistics.
    func run(_ makeNorm: () -> BatchNorm<Float>, input: Tensor<Float>, upstream: Tensor<Float>, training: Bool,
             fused: Bool) -> [[Float]] {
        let norm = makeNorm()
        var generator = RandomGenerator(seed: 9)
        norm.weight!.value = Tensor(uniform: norm.weight!.shape, lower: 0.5, upper: 1.5, using: &generator)
        norm.bias!.value = Tensor(uniform: norm.bias!.shape, lower: -0.5, upper: 0.5, using: &generator)
        if !training {
            norm.runningMean!.value = Tensor(uniform: norm.runningMean!.value.shape, lower: -0.3, upper: 0.3, using: &generator)
            norm.runningVariance!.value = Tensor(uniform: norm.runningVariance!.value.shape, lower: 0.5, upper: 2, using: &generator)
        }
        let relu = ReLU<Float>()
        let model = Sequential<Float>(norm, relu)
        if training { model.train() } else { model.eval() }
        let x = Variable(input, requiresGradient: true)
        let y = fused ? model(x) : relu(norm(x))
        y.backward(seed: upstream)
        return [y.value.scalars, x.grad!.scalars, norm.weight!.grad!.scalars, norm.bias!.grad!.scalars,
                norm.runningMean!.value.scalars, norm.runningVariance!.value.scalars]
    }

    func testFusedMatchesTheTwoLayersBitForBit() {
        var generator = RandomGenerator(seed: 4)
        let cases: [(String, () -> BatchNorm<Float>, [Int])] = [
            ("BatchNorm2d", { BatchNorm2d<Float>(3) }, [4, 3, 5, 6]),
            ("BatchNorm1d (N, C)", { BatchNorm1d<Float>(7) }, [16, 7]),
            ("BatchNorm1d (N, C, L)", { BatchNorm1d<Float>(2) }, [3, 2, 9]),
        ]
        for (name, makeNorm, shape) in cases {
            let input = Tensor<Float>(normal: shape, using: &generator)
            let upstream = Tensor<Float>(normal: shape, using: &generator)
            for training in [true, false] {
                let fused = run(makeNorm, input: input, upstream: upstream, training: training, fused: true)
                let separate = run(makeNorm, input: input, upstream: upstream, training: training, fused: false)
                XCTAssertEqual(fused, separate, "\(name), training: \(training)")
                // The ReLU really applied: some outputs clamped to zero, and no gradient there.
                XCTAssertTrue(fused[0].contains(0) && fused[0].allSatisfy { $0 >= 0 }, name)
            }
        }
    }

    func testABatchNormNotDirectlyFollowedByAReLURunsAsWritten() {
        // BatchNorm → Dropout(p = 0) → ReLU is not a fusable pair, and a trailing BatchNorm has no ReLU:
        // Sequential must give exactly the layers applied one by one (training mode, batch statistics).
        var generator = RandomGenerator(seed: 5)
        let model = Sequential<Float>(BatchNorm1d<Float>(4), Dropout<Float>(0), ReLU<Float>(), BatchNorm1d<Float>(4))
        let x = Tensor<Float>(normal: [8, 4], using: &generator)
        let y = model(Variable(x))
        let layers = model.layers
        let expected = layers[3](layers[2](layers[1](layers[0](Variable(x)))))
        XCTAssertEqual(y.value.scalars, expected.value.scalars)
        XCTAssertTrue(y.value.scalars.contains { $0 < 0 }, "the last BatchNorm's output is not clamped")
    }
}
