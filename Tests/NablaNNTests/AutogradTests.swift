import XCTest
import Foundation
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

final class AutogradTests: XCTestCase {
    func testTensorUsedTwiceReceivesBothContributions() {
        let x = Variable(Tensor<Double>([3]), requiresGradient: true)
        let y = x * x + x * 2   // dy/dx = 2x + 2 = 8
        y.sum().backward()
        XCTAssertEqual(x.grad?.scalars, [8])
    }

    func testDiamondGraph() {
        let x = Variable(Tensor<Double>([0.5, -1]), requiresGradient: true)
        let a = x.exp()
        let y = (a * a + a).sum()   // d/dx = (2e^{2x} + e^x)
        y.backward()
        for (i, v) in [0.5, -1.0].enumerated() {
            XCTAssertEqual(x.grad!.scalars[i], 2 * Foundation.exp(2 * v) + Foundation.exp(v), accuracy: 1e-12)
        }
    }

    func testGradientsAccumulateAcrossBackwardCallsUntilZeroed() {
        let w = Variable(Tensor<Double>([2]), requiresGradient: true)
        (w * 3).sum().backward()
        (w * 3).sum().backward()
        XCTAssertEqual(w.grad?.scalars, [6])
        w.zeroGrad()
        XCTAssertNil(w.grad)
    }

    func testNoGradientModeRecordsNothing() {
        let w = Variable(Tensor<Float>([1, 2]), requiresGradient: true)
        let y = withoutGradient { w * 2 }
        XCTAssertFalse(y.requiresGradient)
        XCTAssertTrue(y.isLeaf)
        XCTAssertTrue(GradientMode.isEnabled)
    }

    func testConstantsDoNotRequireGradients() {
        let c = Variable(Tensor<Float>([1]))
        XCTAssertFalse((c * c).requiresGradient)
    }

    /// After backward the graph is released: intermediate nodes are freed (no retain cycles).
    func testGraphIsFreedAfterBackward() {
        weak var intermediate: Variable<Double>?
        let x = Variable(Tensor<Double>(normal: [4, 4], using: &GlobalGenerator.shared), requiresGradient: true)
        do {
            let h = x.matmul(x).tanh()
            intermediate = h
            let loss = h.sum()
            loss.backward()
            XCTAssertNotNil(intermediate)
        }
        XCTAssertNil(intermediate, "an intermediate node is still alive after backward: reference cycle?")
        XCTAssertNotNil(x.grad)
    }

    /// A graph that is built but never differentiated is freed too.
    func testUnusedGraphIsFreed() {
        weak var intermediate: Variable<Double>?
        let x = Variable(Tensor<Double>([1, 2]), requiresGradient: true)
        do {
            let h = x.sigmoid()
            intermediate = h
            _ = (h * h).sum()
        }
        XCTAssertNil(intermediate)
    }

    func testDeepGraphDoesNotOverflowTheStack() {
        let x = Variable(Tensor<Double>([1]), requiresGradient: true)
        var y = x
        for _ in 0..<50_000 { y = y + 1 }
        y.sum().backward()
        XCTAssertEqual(x.grad?.scalars, [1])
    }

    func testBackwardSeedMustMatchForVectorOutputs() {
        let x = Variable(Tensor<Double>([1, 2, 3]), requiresGradient: true)
        (x * 2).backward(seed: Tensor([1, 0, 1]))
        XCTAssertEqual(x.grad?.scalars, [2, 0, 2])
    }
}

extension AutogradTests {
    /// Gradient mode is task-local (thread-local outside tasks), as PyTorch's is thread-local: a
    /// thread inside `withoutGradient` does not switch off recording on another thread.
    func testGradientModeIsLocalToItsThread() {
        let inside = DispatchSemaphore(value: 0), checked = DispatchSemaphore(value: 0)
        let thread = Thread {
            withoutGradient {
                inside.signal()
                checked.wait()
            }
        }
        thread.start()
        inside.wait()
        let x = Variable(Tensor<Double>([2]), requiresGradient: true)
        let y = x * x
        XCTAssertTrue(GradientMode.isEnabled, "another thread's withoutGradient leaked into this one")
        XCTAssertTrue(y.requiresGradient)
        checked.signal()
        withoutGradient {
            XCTAssertFalse(GradientMode.isEnabled)
            XCTAssertFalse((x * x).requiresGradient)
        }
        XCTAssertTrue(GradientMode.isEnabled, "the mode is restored after withoutGradient")
    }

    /// The mode is restored when the body throws.
    func testGradientModeIsRestoredAfterAThrow() {
        struct Failure: Error {}
        XCTAssertThrowsError(try withoutGradient { throw Failure() })
        XCTAssertTrue(GradientMode.isEnabled)
    }
}
