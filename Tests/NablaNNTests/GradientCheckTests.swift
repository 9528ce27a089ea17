import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// Every case of the library-wide gradient check passes the SPEC threshold, and the checker itself
/// can fail: a deliberately wrong pullback is caught.
final class GradientCheckTests: XCTestCase {
    func testEveryCaseInTheSuitePasses() {
        for testCase in GradientCheckSuite.all {
            let result = testCase.run()
            XCTAssertLessThan(result.maxRelativeError, GradientCheckSuite.threshold,
                              "\(testCase.name) \(testCase.shapes): relative error \(result.maxRelativeError)")
        }
    }

    func testCheckerDetectsAWrongGradient() {
        // d/dx x² is 2x; this pullback claims 3x.
        let result = checkGradients(at: [Tensor([0.5, -1.5, 2.0])]) { xs in
            let x = xs[0]
            return Variable(x.value.squared(), inputs: [x]) { g in x.accumulate(g * x.value * 3) }
        }
        XCTAssertGreaterThan(result.maxRelativeError, 0.1)
    }

    func testSuiteCoversTheFoundationOps() {
        let names = Set(GradientCheckSuite.all.map(\.name))
        for required in ["linear", "relu", "sigmoid", "tanh", "gelu", "softmax", "logSoftmax", "crossEntropy",
                         "meanSquaredError", "l1Loss", "binaryCrossEntropy", "multiclassHingeLoss", "Linear(5, 3)"] {
            XCTAssertTrue(names.contains(required), "gradient check suite lacks \(required)")
        }
    }
}
