import XCTest
@testable import NablaNN
import NablaTensor
import NablaTestSupport

/// `backward(gradientReady:)`: a leaf is reported once, when its gradient is final — what
/// data-parallel training relies on to start reducing a bucket of gradients while backward goes on.
final class GradientReadyTests: XCTestCase {
    /// Every parameter of every built-in model (fused BN+ReLU, residual branches, DropPath, dropout,
    /// convolutions) is reported exactly once, and the gradient seen at that moment is bit for bit
    /// the gradient after backward, and the plain backward's.
    func testEveryBuiltinModelReportsFinalGradients() throws {
        let cases: [(name: String, input: [Int])] = [
            ("mlp", [1, 8, 8]), ("lenet-bn", [1, 28, 28]), ("convnet", [3, 8, 8]), ("resnet", [3, 8, 8]),
            ("fcnet:6,5", [7]), ("line-mlp", [1]),
        ]
        for (name, inputShape) in cases {
            let description = try XCTUnwrap(BuiltinModels.description(name, inputShape: inputShape, outputCount: 3,
                                                                       options: .init(normalization: "batchnorm", dropout: 0.2)))
            var generator = RandomGenerator(seed: 3)
            let model = try description.build(inputShape: inputShape, using: &generator).model
            let inputs = Tensor<Float>(normal: [4] + inputShape, using: &generator)
            let labels = [0, 2, 1, 2]
            let plain = gradients(of: model, inputs, labels, seed: 9, hook: nil)
            var reported: [ObjectIdentifier] = []
            var seen: [ObjectIdentifier: Tensor<Float>] = [:]
            let hooked = gradients(of: model, inputs, labels, seed: 9) { leaf in
                reported.append(ObjectIdentifier(leaf))
                seen[ObjectIdentifier(leaf)] = leaf.grad
            }
            let parameters = model.parameters
            XCTAssertEqual(reported.count, Set(reported).count, "\(name): a leaf was reported twice")
            XCTAssertEqual(Set(reported), Set(parameters.map(ObjectIdentifier.init)), "\(name): not every parameter reported")
            for (index, parameter) in parameters.enumerated() {
                XCTAssertEqual(seen[ObjectIdentifier(parameter)]?.scalars, hooked[index]?.scalars, "\(name): parameter \(index) changed after it was reported")
                XCTAssertEqual(hooked[index]?.scalars, plain[index]?.scalars, "\(name): parameter \(index) differs from the plain backward")
            }
        }
    }

    /// In a chain of layers the last layer's parameters become ready first (reverse layer order).
    func testReadinessFollowsReverseLayerOrder() {
        var generator = RandomGenerator(seed: 1)
        let model = Sequential<Float>([Linear(4, 5, using: &generator), ReLU(), Linear(5, 6, using: &generator),
                                       ReLU(), Linear(6, 2, using: &generator)])
        var order: [Int] = []
        let ids = model.parameters.map(ObjectIdentifier.init)
        let loss = crossEntropy(logits: model(Variable(Tensor<Float>(normal: [3, 4], using: &generator))), labels: [0, 1, 1])
        loss.backward { leaf in order.append(ids.firstIndex(of: ObjectIdentifier(leaf))!) }
        // Parameters are [w0, b0, w1, b1, w2, b2]; each layer's pair is ready together.
        XCTAssertEqual(order.map { $0 / 2 }, [2, 2, 1, 1, 0, 0])
    }

    /// A leaf used twice is reported once, after both contributions; an unused leaf never.
    func testSharedAndUnusedLeaves() {
        let a = Variable(Tensor<Double>([2]), requiresGradient: true)
        let b = Variable(Tensor<Double>([3]), requiresGradient: true)
        let unused = Variable(Tensor<Double>([5]), requiresGradient: true)
        var reports: [(ObjectIdentifier, Double)] = []
        let y = (a * a * b + a).sum()
        y.backward { reports.append((ObjectIdentifier($0), $0.grad!.scalars[0])) }
        XCTAssertEqual(reports.count, 2)
        XCTAssertEqual(reports.first { $0.0 == ObjectIdentifier(a) }?.1, 2 * 2 * 3 + 1)
        XCTAssertEqual(reports.first { $0.0 == ObjectIdentifier(b) }?.1, 4)
        XCTAssertNil(unused.grad)
        XCTAssertFalse(reports.contains { $0.0 == ObjectIdentifier(unused) })
    }

    /// A scalar leaf as the root reports itself.
    func testLeafRoot() {
        let a = Variable(Tensor<Double>([2]), requiresGradient: true)
        var count = 0
        a.backward { _ in count += 1 }
        XCTAssertEqual(count, 1)
        XCTAssertEqual(a.grad?.scalars, [1])
    }

    private func gradients(of model: Module<Float>, _ inputs: Tensor<Float>, _ labels: [Int], seed: UInt64,
                           hook: ((Variable<Float>) -> Void)?) -> [Tensor<Float>?] {
        for parameter in model.parameters { parameter.zeroGrad() }
        for (_, module) in model.namedModules() {
            if let stochastic = module as? StochasticModule { stochastic.generator = RandomGenerator(seed: seed) }
        }
        model.train()
        let loss = crossEntropy(logits: model(Variable(inputs)), labels: labels)
        if let hook { loss.backward(gradientReady: hook) } else { loss.backward() }
        return model.parameters.map(\.grad)
    }
}
