import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// A stand-in normalization layer with an affine weight and bias (the real ones live elsewhere).
private final class FakeNorm: Module<Double>, NormalizationLayer {
    init(_ features: Int) {
        super.init()
        registerParameter("weight", Variable(Tensor(ones: [features]), requiresGradient: true))
        registerParameter("bias", Variable(Tensor(zeros: [features]), requiresGradient: true))
    }
    override func forward(_ input: Variable<Double>) -> Variable<Double> { input }
}

/// Parameter penalties: values, gradients, the one-node structure, parameter selection, the
/// coupled-weight-decay equivalence, and spec parsing.
final class PenaltyTests: XCTestCase {
    let w1 = Tensor<Double>(shape: [2, 3], scalars: [0.5, -1, 0, 2, -0.25, 3])
    let w2 = Tensor<Double>([-2, 0.75])

    func testValuesAndGradientsMatchTheClosedForms() {
        let lambda = 0.1, beta = 0.4
        let all = w1.scalars + w2.scalars
        let squares = all.reduce(0) { $0 + $1 * $1 }, absolutes = all.reduce(0) { $0 + abs($1) }
        func sign(_ x: Double) -> Double { x > 0 ? 1 : (x < 0 ? -1 : 0) }
        let cases: [(String, ([Variable<Double>]) -> Variable<Double>, Double, (Double) -> Double)] = [
            ("l2", { l2Penalty($0, lambda: lambda) }, lambda / 2 * squares, { lambda * $0 }),
            ("l1", { l1Penalty($0, lambda: lambda) }, lambda * absolutes, { lambda * sign($0) }),
            ("elastic", { elasticNetPenalty($0, lambda: lambda, beta: beta) }, lambda * (beta * squares + absolutes),
             { lambda * (2 * beta * $0 + sign($0)) }),
        ]
        for (name, penalty, value, derivative) in cases {
            let params = [Variable(w1, requiresGradient: true), Variable(w2, requiresGradient: true)]
            let r = penalty(params)
            XCTAssertEqual(r.value.scalar, value, accuracy: 1e-14, name)
            XCTAssertEqual(r.inputs.count, 2, "\(name) is one node over all parameters")
            (r * 3).backward()
            assertClose(params[0].grad!, w1.map { 3 * derivative($0) }, relative: 1e-14, absolute: 1e-15, name)
            assertClose(params[1].grad!, w2.map { 3 * derivative($0) }, relative: 1e-14, absolute: 1e-15, name)
        }
        XCTAssertEqual(l1Penalty([Variable(Tensor<Double>([0]), requiresGradient: true)], lambda: 1).value.scalar, 0)
    }

    func testL1SubgradientIsZeroAtZero() {
        let w = Variable(Tensor<Double>([0, 0, 1e-300, -1e-300]), requiresGradient: true)
        l1Penalty([w], lambda: 2).backward()
        XCTAssertEqual(w.grad!.scalars, [0, 0, 2, -2])
    }

    func testEmptyParameterListGivesZero() {
        XCTAssertEqual(l2Penalty([Variable<Float>](), lambda: 1).value.scalar, 0)
        XCTAssertEqual(ParameterPenalty.none([Variable<Float>(Tensor([1]), requiresGradient: true)]).value.scalar, 0)
    }

    func testDecayableParametersExcludeBiasesAndNormalization() {
        var generator = RandomGenerator(seed: 1)
        let model = Sequential<Double>([Linear(3, 4, using: &generator), FakeNorm(4), ReLU(),
                                        Linear(4, 2, bias: false, using: &generator)])
        XCTAssertEqual(model.namedDecayableParameters().map(\.name), ["0.weight", "3.weight"])
        XCTAssertEqual(model.nonDecayableParameters().count, 3, "0.bias, 1.weight, 1.bias")
        XCTAssertEqual(model.parameters(.weightsOnly).count, 2)
        XCTAssertEqual(model.parameters(.all).count, 5)
        XCTAssertTrue(model.decayableParameters()[0] === (model.layers[0] as! Linear<Double>).weight)
    }

    /// Gradient descent on `loss + λ/2·‖w‖²` takes exactly the steps `w ← w − lr·(g + λw)` of
    /// SGD with PyTorch's coupled `weight_decay = λ` (biases undecayed in both).
    func testL2PenaltyEqualsCoupledWeightDecay() {
        var generator = RandomGenerator(seed: 2)
        let inputs = Tensor<Double>(normal: [16, 3], using: &generator)
        let targets = Tensor<Double>(normal: [16, 2], using: &generator)
        var initGenerator = RandomGenerator(seed: 3)
        let penalized = Sequential<Double>([Linear(3, 5, using: &initGenerator), Tanh(), Linear(5, 2, using: &initGenerator)])
        initGenerator = RandomGenerator(seed: 3)
        let decayed = Sequential<Double>([Linear(3, 5, using: &initGenerator), Tanh(), Linear(5, 2, using: &initGenerator)])
        let lr = 0.1, lambda = 0.05

        for step in 0..<25 {
            penalized.zeroGrad()
            let loss = meanSquaredError(penalized(Variable(inputs)), targets) + l2Penalty(penalized.decayableParameters(), lambda: lambda)
            loss.backward()
            for p in penalized.parameters { p.value.addScaled(p.grad!, by: -lr) }

            decayed.zeroGrad()
            meanSquaredError(decayed(Variable(inputs)), targets).backward()
            let decayable = Set(decayed.decayableParameters().map(ObjectIdentifier.init))
            for p in decayed.parameters {
                var g = p.grad!
                if decayable.contains(ObjectIdentifier(p)) { g.addScaled(p.value, by: lambda) }
                p.value.addScaled(g, by: -lr)
            }
            for ((name, a), (_, b)) in zip(penalized.namedParameters(), decayed.namedParameters()) {
                assertClose(a.value, b.value, relative: 1e-12, absolute: 1e-14, "step \(step) \(name)")
            }
        }
        // And the weights did shrink relative to an undecayed run.
        initGenerator = RandomGenerator(seed: 3)
        let free = Sequential<Double>([Linear(3, 5, using: &initGenerator), Tanh(), Linear(5, 2, using: &initGenerator)])
        for _ in 0..<25 {
            free.zeroGrad()
            meanSquaredError(free(Variable(inputs)), targets).backward()
            for p in free.parameters { p.value.addScaled(p.grad!, by: -lr) }
        }
        func norm(_ m: Module<Double>) -> Double { m.decayableParameters().reduce(0) { $0 + $1.value.squared().sum() } }
        XCTAssertLessThan(norm(penalized), norm(free))
    }

    func testPenaltySpecParsing() throws {
        XCTAssertEqual(try ParameterPenalty(parsing: "l2:5e-4"), .l2(lambda: 5e-4))
        XCTAssertEqual(try ParameterPenalty(parsing: " L1:0.001 "), .l1(lambda: 0.001))
        XCTAssertEqual(try ParameterPenalty(parsing: "elastic:1e-4"), .elasticNet(lambda: 1e-4, beta: 1))
        XCTAssertEqual(try ParameterPenalty(parsing: "elastic:1e-4:0.5"), .elasticNet(lambda: 1e-4, beta: 0.5))
        XCTAssertEqual(try ParameterPenalty(parsing: "none"), ParameterPenalty.none)
        for penalty in [ParameterPenalty.l2(lambda: 0.5), .elasticNet(lambda: 0.1, beta: 2), .none] {
            XCTAssertEqual(try ParameterPenalty(parsing: penalty.description), penalty, "round trip")
        }
        let errors = [
            ("l3:1", "penalty 'l3:1': unknown name 'l3' (expected l2, l1, elastic or none)"),
            ("l2", "penalty 'l2': missing lambda"),
            ("l2:abc", "penalty 'l2:abc': lambda 'abc' is not a non-negative number"),
            ("l2:-1", "penalty 'l2:-1': lambda '-1' is not a non-negative number"),
            ("l1:1:2", "penalty 'l1:1:2': too many values"),
        ]
        for (spec, message) in errors {
            XCTAssertThrowsError(try ParameterPenalty(parsing: spec)) { XCTAssertEqual(($0 as? NablaError)?.message, message) }
        }
        let w = Variable(Tensor<Float>([1, -2]), requiresGradient: true)
        XCTAssertEqual(ParameterPenalty.elasticNet(lambda: 0.5, beta: 2)([w]).value.scalar, 0.5 * (2 * 5 + 3))
    }
}
