import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// Forward values and gradients of the foundation ops against PyTorch (Scripts/fixtures/gen_foundation.py),
/// in Double (tight) and in Float (SPEC's 1e-5 relative bar).
final class FoundationFixtureTests: XCTestCase {
    /// Runs `op` on the fixture's `x` (and named parameters), back-propagates the stored upstream
    /// gradient (or 1 for scalar losses), and compares output and gradients.
    func check<Scalar: TensorScalar>(
        _ name: String, as type: Scalar.Type, parameters: [String] = [], relative: Double, absolute: Double,
        file: StaticString = #filePath, line: UInt = #line,
        _ op: (Variable<Scalar>, [Variable<Scalar>], SafeTensorsFile) -> Variable<Scalar>
    ) throws {
        let f = try Fixtures.load("foundation", name)
        let x = Variable(f.tensor("x", as: Scalar.self), requiresGradient: true)
        let params = parameters.map { Variable(f.tensor($0, as: Scalar.self), requiresGradient: true) }
        let y = op(x, params, f)
        assertClose(y.value, f.tensor("y", as: Scalar.self).reshaped(to: y.shape), relative: relative, absolute: absolute,
                    "\(name) forward", file: file, line: line)
        if f.tensors["g"] != nil { y.backward(seed: f.tensor("g")) } else { y.backward() }
        assertClose(x.grad!, f.tensor("grad_x"), relative: relative, absolute: absolute, "\(name) grad_x", file: file, line: line)
        for (key, p) in zip(parameters, params) {
            assertClose(p.grad!, f.tensor("grad_\(key)"), relative: relative, absolute: absolute,
                        "\(name) grad_\(key)", file: file, line: line)
        }
    }

    func checkBoth(_ name: String, parameters: [String] = [], file: StaticString = #filePath, line: UInt = #line,
                   double: (Variable<Double>, [Variable<Double>], SafeTensorsFile) -> Variable<Double>,
                   float: (Variable<Float>, [Variable<Float>], SafeTensorsFile) -> Variable<Float>) throws {
        try check(name, as: Double.self, parameters: parameters, relative: 1e-10, absolute: 1e-12, file: file, line: line, double)
        try check(name, as: Float.self, parameters: parameters, relative: 1e-5, absolute: 1e-6, file: file, line: line, float)
    }

    func testLinear() throws {
        try checkBoth("linear", parameters: ["weight", "bias"],
                      double: { x, p, _ in linear(x, weight: p[0], bias: p[1]) }, float: { x, p, _ in linear(x, weight: p[0], bias: p[1]) })
        try checkBoth("linear_3d_nobias", parameters: ["weight"],
                      double: { x, p, _ in linear(x, weight: p[0], bias: nil) }, float: { x, p, _ in linear(x, weight: p[0], bias: nil) })
    }

    func testActivations() throws {
        try checkBoth("relu", double: { x, _, _ in x.relu() }, float: { x, _, _ in x.relu() })
        try checkBoth("leaky_relu", double: { x, _, _ in x.leakyRelu(negativeSlope: 0.2) },
                      float: { x, _, _ in x.leakyRelu(negativeSlope: 0.2) })
        try checkBoth("sigmoid", double: { x, _, _ in x.sigmoid() }, float: { x, _, _ in x.sigmoid() })
        try checkBoth("tanh", double: { x, _, _ in x.tanh() }, float: { x, _, _ in x.tanh() })
        try checkBoth("gelu", double: { x, _, _ in x.gelu() }, float: { x, _, _ in x.gelu() })
        try checkBoth("softmax", double: { x, _, _ in x.softmax() }, float: { x, _, _ in x.softmax() })
        try checkBoth("softmax_dim0", double: { x, _, _ in x.softmax(alongAxis: 0) }, float: { x, _, _ in x.softmax(alongAxis: 0) })
        try checkBoth("log_softmax", double: { x, _, _ in x.logSoftmax() }, float: { x, _, _ in x.logSoftmax() })
    }

    func testClassificationLosses() throws {
        try checkBoth("cross_entropy", double: { x, _, f in crossEntropy(logits: x, labels: f.ints("labels")) },
                      float: { x, _, f in crossEntropy(logits: x, labels: f.ints("labels")) })
        try checkBoth("cross_entropy_smoothing",
                      double: { x, _, f in crossEntropy(logits: x, labels: f.ints("labels"), labelSmoothing: 0.1) },
                      float: { x, _, f in crossEntropy(logits: x, labels: f.ints("labels"), labelSmoothing: 0.1) })
        // PyTorch's MultiMarginLoss is the cs231n hinge divided by the class count.
        try checkBoth("multi_margin",
                      double: { x, _, f in multiclassHingeLoss(scores: x, labels: f.ints("labels")) / Double(x.shape[1]) },
                      float: { x, _, f in multiclassHingeLoss(scores: x, labels: f.ints("labels")) / Float(x.shape[1]) })
    }

    func testRegressionLosses() throws {
        try checkBoth("mse", double: { x, _, f in meanSquaredError(x, f.tensor("target")) },
                      float: { x, _, f in meanSquaredError(x, f.tensor("target")) })
        try checkBoth("l1", double: { x, _, f in l1Loss(x, f.tensor("target")) }, float: { x, _, f in l1Loss(x, f.tensor("target")) })
        try checkBoth("smooth_l1", double: { x, _, f in smoothL1Loss(x, f.tensor("target"), beta: 0.5) },
                      float: { x, _, f in smoothL1Loss(x, f.tensor("target"), beta: 0.5) })
        try checkBoth("huber", double: { x, _, f in huberLoss(x, f.tensor("target"), delta: 0.7) },
                      float: { x, _, f in huberLoss(x, f.tensor("target"), delta: 0.7) })
        try checkBoth("bce_with_logits", double: { x, _, f in binaryCrossEntropy(logits: x, targets: f.tensor("target")) },
                      float: { x, _, f in binaryCrossEntropy(logits: x, targets: f.tensor("target")) })
    }

    /// A PyTorch `nn.Sequential` state dict loads by key into the same Nabla model, and one training
    /// step's loss and parameter gradients agree.
    func testSequentialMLPMatchesPyTorch() throws {
        let f = try Fixtures.load("foundation", "mlp")
        let model = Sequential<Double>([Flatten(), Linear(12, 8), ReLU(), Linear(8, 8), Tanh(), Linear(8, 3)])
        var dict: [String: Tensor<Double>] = [:]
        for (key, entry) in f.tensors where key.hasPrefix("param.") { dict[String(key.dropFirst(6))] = entry.tensor() }
        XCTAssertEqual(Set(dict.keys), Set(model.stateKeys))
        try model.loadStateDict(dict)
        let loss = crossEntropy(logits: model(Variable(f.tensor("x"))), labels: f.ints("labels"))
        XCTAssertEqual(loss.value.scalar, f.tensor("loss", as: Double.self).scalar, accuracy: 1e-12)
        loss.backward()
        for (name, p) in model.namedParameters() {
            assertClose(p.grad!, f.tensor("grad.\(name)"), relative: 1e-10, absolute: 1e-12, name)
        }
    }
}
