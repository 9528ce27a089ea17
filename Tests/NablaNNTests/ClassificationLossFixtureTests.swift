import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// Cross-entropy with class weights and probability targets, and NLLLoss, against
/// `torch.nn.functional.cross_entropy` / `nll_loss` (Scripts/fixtures/gen_toolbox.py, `loss_*`): the
/// value and the gradient with respect to the logits, in Double (tight) and in Float.
final class ClassificationLossFixtureTests: XCTestCase {
    func check<Scalar: TensorScalar>(
        _ file: SafeTensorsFile, _ name: String, as type: Scalar.Type, relative: Double, absolute: Double,
        line: UInt = #line, _ loss: (Variable<Scalar>, [Scalar]) -> Variable<Scalar>
    ) {
        let logits = Variable(file.tensor("logits", as: Scalar.self), requiresGradient: true)
        let weight = file.tensor("weight", as: Scalar.self).scalars
        let value = loss(logits, weight)
        value.backward()
        assertClose(value.value, file.tensor("loss.\(name)", as: Scalar.self), relative: relative, absolute: absolute,
                    "\(name) loss (\(Scalar.self))", line: line)
        assertClose(logits.grad!, file.tensor("grad.\(name)", as: Scalar.self), relative: relative, absolute: absolute,
                    "\(name) gradient (\(Scalar.self))", line: line)
    }

    func checkBoth(_ file: SafeTensorsFile, _ name: String, line: UInt = #line,
                   double: (Variable<Double>, [Double]) -> Variable<Double>, float: (Variable<Float>, [Float]) -> Variable<Float>) {
        check(file, name, as: Double.self, relative: 1e-12, absolute: 1e-14, line: line, double)
        check(file, name, as: Float.self, relative: 1e-5, absolute: 1e-6, line: line, float)
    }

    func testClassIndexTargetsWithWeightsAndSmoothing() throws {
        let f = try Fixtures.load("toolbox", "loss_hard_ce")
        let labels = f.ints("labels")
        checkBoth(f, "mean", double: { x, _ in crossEntropy(logits: x, labels: labels) },
                  float: { x, _ in crossEntropy(logits: x, labels: labels) })
        checkBoth(f, "weight_mean", double: { x, w in crossEntropy(logits: x, labels: labels, classWeights: w) },
                  float: { x, w in crossEntropy(logits: x, labels: labels, classWeights: w) })
        checkBoth(f, "smoothing_mean", double: { x, _ in crossEntropy(logits: x, labels: labels, labelSmoothing: 0.1) },
                  float: { x, _ in crossEntropy(logits: x, labels: labels, labelSmoothing: 0.1) })
        // The smoothing term is divided by the sum of the target classes' weights too.
        checkBoth(f, "weight_smoothing_mean",
                  double: { x, w in crossEntropy(logits: x, labels: labels, classWeights: w, labelSmoothing: 0.1) },
                  float: { x, w in crossEntropy(logits: x, labels: labels, classWeights: w, labelSmoothing: 0.1) })
    }

    func testNLLLossOfLogSoftmaxIsCrossEntropy() throws {
        let f = try Fixtures.load("toolbox", "loss_hard_ce")
        let labels = f.ints("labels")
        checkBoth(f, "nll_log_softmax_mean", double: { x, _ in nllLoss(logProbabilities: x.logSoftmax(), labels: labels) },
                  float: { x, _ in nllLoss(logProbabilities: x.logSoftmax(), labels: labels) })
        checkBoth(f, "nll_log_softmax_weight_mean",
                  double: { x, w in nllLoss(logProbabilities: x.logSoftmax(), labels: labels, classWeights: w) },
                  float: { x, w in nllLoss(logProbabilities: x.logSoftmax(), labels: labels, classWeights: w) })
        // The weighted mean divides by Σ w[y_i], not by N: doubling every weight changes nothing.
        let x = Variable(f.tensor("logits", as: Double.self))
        let w = f.tensor("weight", as: Double.self).scalars
        XCTAssertEqual(nllLoss(logProbabilities: x, labels: labels, classWeights: w).value.scalar,
                       nllLoss(logProbabilities: x, labels: labels, classWeights: w.map { 2 * $0 }).value.scalar, accuracy: 1e-15)
    }

    func testProbabilityTargets() throws {
        let f = try Fixtures.load("toolbox", "loss_soft_ce")
        let targets = f.tensor("targets", as: Double.self)
        let floatTargets = Tensor<Float>(targets)
        checkBoth(f, "mean", double: { x, _ in crossEntropy(logits: x, probabilities: targets) },
                  float: { x, _ in crossEntropy(logits: x, probabilities: floatTargets) })
        checkBoth(f, "smoothing", double: { x, _ in crossEntropy(logits: x, probabilities: targets, labelSmoothing: 0.1) },
                  float: { x, _ in crossEntropy(logits: x, probabilities: floatTargets, labelSmoothing: 0.1) })
        // Weighted soft targets: the mean still divides by N.
        checkBoth(f, "weight", double: { x, w in crossEntropy(logits: x, probabilities: targets, classWeights: w) },
                  float: { x, w in crossEntropy(logits: x, probabilities: floatTargets, classWeights: w) })
        checkBoth(f, "weight_smoothing",
                  double: { x, w in crossEntropy(logits: x, probabilities: targets, classWeights: w, labelSmoothing: 0.1) },
                  float: { x, w in crossEntropy(logits: x, probabilities: floatTargets, classWeights: w, labelSmoothing: 0.1) })
    }

    /// One-hot probability targets give the class-index loss; the soft loss is linear in the targets,
    /// so a mixed target gives the mix of the two class-index losses (what mixup's loss is).
    func testOneHotAndMixedTargetsAgreeWithClassIndices() {
        var generator = RandomGenerator(seed: 4)
        let logits = Tensor<Double>(normal: [5, 4], using: &generator)
        let a = [0, 3, 1, 1, 2], b = [2, 2, 0, 3, 1]
        func onehot(_ labels: [Int]) -> Tensor<Double> {
            var t = Tensor<Double>(zeros: [labels.count, 4])
            for (i, y) in labels.enumerated() { t.scalars[i * 4 + y] = 1 }
            return t
        }
        for smoothing in [0.0, 0.3] {
            let hard = crossEntropy(logits: Variable(logits), labels: a, labelSmoothing: smoothing).value.scalar
            let soft = crossEntropy(logits: Variable(logits), probabilities: onehot(a), labelSmoothing: smoothing).value.scalar
            XCTAssertEqual(soft, hard, accuracy: 1e-14)
        }
        let lambda = 0.7
        let mixed = crossEntropy(logits: Variable(logits), probabilities: onehot(a) * lambda + onehot(b) * (1 - lambda)).value.scalar
        let expected = lambda * crossEntropy(logits: Variable(logits), labels: a).value.scalar
            + (1 - lambda) * crossEntropy(logits: Variable(logits), labels: b).value.scalar
        XCTAssertEqual(mixed, expected, accuracy: 1e-14)
    }
}
