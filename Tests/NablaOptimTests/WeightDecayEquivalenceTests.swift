import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
import NablaTestSupport

/// Coupled weight decay is an L2 penalty; decoupled weight decay (AdamW) is not (Loshchilov & Hutter,
/// 2019, "Decoupled Weight Decay Regularization"). Checked with the real optimizers.
final class WeightDecayEquivalenceTests: XCTestCase {
    /// A tiny regression model and data, identical for every run.
    func makeProblem() -> (Sequential<Double>, Tensor<Double>, Tensor<Double>) {
        var g = RandomGenerator(seed: 21)
        let model = Sequential<Double>([Linear(3, 5, using: &g), Tanh(), Linear(5, 1, using: &g)])
        let x = Tensor<Double>(normal: [16, 3], using: &g)
        let y = Tensor<Double>(normal: [16, 1], using: &g)
        return (model, x, y)
    }

    /// Runs 20 steps: loss (+ penalty on every parameter when `penalty > 0`) with `optimizer`.
    func trajectory(_ makeOptimizer: ([Variable<Double>]) throws -> any Optimizer<Double>, penalty: Double) throws -> [Double] {
        let (model, x, y) = makeProblem()
        let optimizer = try makeOptimizer(model.parameters)
        for _ in 0..<20 {
            optimizer.zeroGrad()
            var loss = meanSquaredError(model(Variable(x)), y)
            if penalty > 0 { loss = loss + l2Penalty(model.parameters, lambda: penalty) }
            loss.backward()
            optimizer.step()
        }
        return model.parameters.flatMap(\.value.scalars)
    }

    func testSGDWeightDecayEqualsTheL2Penalty() throws {
        let lambda = 0.05
        let decayed = try trajectory({ try SGD($0, learningRate: 0.1, momentum: 0.9, weightDecay: lambda) }, penalty: 0)
        let penalized = try trajectory({ try SGD($0, learningRate: 0.1, momentum: 0.9) }, penalty: lambda)
        let plain = try trajectory({ try SGD($0, learningRate: 0.1, momentum: 0.9) }, penalty: 0)
        for (a, b) in zip(decayed, penalized) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        XCTAssertGreaterThan(zip(decayed, plain).map { abs($0 - $1) }.max()!, 1e-3, "decay had no effect")
    }

    func testAdamCoupledDecayEqualsTheL2PenaltyButAdamWDoesNot() throws {
        let lambda = 0.05
        let adamDecay = try trajectory({ try Adam($0, learningRate: 0.01, weightDecay: lambda) }, penalty: 0)
        let adamPenalty = try trajectory({ try Adam($0, learningRate: 0.01) }, penalty: lambda)
        for (a, b) in zip(adamDecay, adamPenalty) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        // AdamW decays the weights outside the adaptive step: θ ← θ − lr·λ·θ, then the Adam update of the
        // loss gradient alone. With the same λ it follows a different path than the L2 penalty.
        let adamW = try trajectory({ try AdamW($0, learningRate: 0.01, weightDecay: lambda) }, penalty: 0)
        XCTAssertGreaterThan(zip(adamW, adamPenalty).map { abs($0 - $1) }.max()!, 1e-4)
        // ... and AdamW without decay is exactly Adam.
        let adamWPlain = try trajectory({ try AdamW($0, learningRate: 0.01, weightDecay: 0) }, penalty: 0)
        let adamPlain = try trajectory({ try Adam($0, learningRate: 0.01) }, penalty: 0)
        XCTAssertEqual(adamWPlain, adamPlain)
    }
}
