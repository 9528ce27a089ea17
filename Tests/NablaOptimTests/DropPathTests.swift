import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
import NablaTestSupport

/// Structured dropout (Dropout2d, DropPath) and the Residual container.
final class DropPathTests: XCTestCase {
    func testDropout2dZeroesWholeChannels() {
        var generator = RandomGenerator(seed: 1)
        let p = 0.3
        for shape in [[50, 40, 3, 4], [50, 40, 6]] {
            let x = Variable(Tensor<Float>(uniform: shape, lower: 1, upper: 2, using: &generator), requiresGradient: true)
            let y = dropout2d(x, probability: p, training: true, using: &generator)
            let spatial = shape.dropFirst(2).reduce(1, *)
            var droppedChannels = 0
            for group in 0..<(50 * 40) {
                let slice = Array(y.value.scalars[(group * spatial)..<((group + 1) * spatial)])
                let input = Array(x.value.scalars[(group * spatial)..<((group + 1) * spatial)])
                if slice.allSatisfy({ $0 == 0 }) {
                    droppedChannels += 1
                } else {
                    XCTAssertEqual(slice, input.map { $0 * Float(1 / (1 - p)) }, "a kept channel is scaled as a whole")
                }
            }
            XCTAssertEqual(Double(droppedChannels) / 2000, p, accuracy: 0.04)
            y.sum().backward()
            XCTAssertEqual(x.grad!.scalars.map { $0 == 0 }, y.value.scalars.map { $0 == 0 }, "gradient follows the channel mask")
        }
    }

    func testDropout2dMatchesPyTorchWithAFixedMask() throws {
        let file = try Fixtures.load("regularization", "dropout_masks")
        let x = Variable(file.tensor("images", as: Double.self), requiresGradient: true)
        let y = dropout2d(x, mask: file.tensor("channel_mask"), probability: file.number("p2d")!)
        assertClose(y.value, file.tensor("dropout2d"), relative: 1e-12, absolute: 1e-14)
        y.backward(seed: file.tensor("images_upstream"))
        assertClose(x.grad!, file.tensor("grad_dropout2d"), relative: 1e-12, absolute: 1e-14)
    }

    func testDropPathDropsWholeSamples() {
        var generator = RandomGenerator(seed: 2)
        let p = 0.25
        let x = Variable(Tensor<Double>(uniform: [4000, 3, 2], lower: 1, upper: 2, using: &generator))
        let y = dropPath(x, probability: p, training: true, using: &generator).value
        var dropped = 0
        for n in 0..<4000 {
            let sample = y.row(n), input = x.value.row(n)
            if sample.scalars.allSatisfy({ $0 == 0 }) { dropped += 1 } else { assertClose(sample, input / (1 - p), relative: 1e-15) }
        }
        XCTAssertEqual(Double(dropped) / 4000, p, accuracy: 0.02)
        XCTAssertTrue(dropPath(x, probability: p, training: false, using: &generator) === x)
    }

    func testResidualMatchesPyTorchWithFixedDropPathMask() throws {
        let file = try Fixtures.load("regularization", "residual_drop_path")
        var generator = RandomGenerator(seed: 3)
        let branch = Sequential<Double>([Linear(4, 5, using: &generator), Tanh(), Linear(5, 4, using: &generator)])
        let block = Residual(branch, dropPath: file.number("p")!, using: &generator)
        XCTAssertEqual(block.stateKeys, ["branch.0.weight", "branch.0.bias", "branch.2.weight", "branch.2.bias"])
        try block.loadStateDict(Dictionary(uniqueKeysWithValues: block.stateKeys.map { ($0, file.tensor($0, as: Double.self)) }))

        // Training: the functional form with the fixture's mask is what the block computes.
        let x = Variable(file.tensor("x", as: Double.self), requiresGradient: true)
        let y = x + dropPath(branch(x), mask: file.tensor("mask"), probability: file.number("p")!)
        assertClose(y.value, file.tensor("y"), relative: 1e-12, absolute: 1e-14)
        y.backward(seed: file.tensor("upstream"))
        assertClose(x.grad!, file.tensor("grad_x"), relative: 1e-12, absolute: 1e-14)
        for (name, parameter) in block.namedParameters() {
            assertClose(parameter.grad!, file.tensor("grad." + name), relative: 1e-12, absolute: 1e-14, name)
        }

        // The module in training draws the mask from its DropPath's generator.
        var replay = block.dropPath!.generator
        let mask: Tensor<Double> = dropoutMask(shape: [3], probability: file.number("p")!, using: &replay)
        let expected = (x + dropPath(branch(x), mask: mask, probability: file.number("p")!)).value
        XCTAssertEqual(block(Variable(x.value)).value, expected)

        block.eval()
        XCTAssertFalse(block.dropPath!.isTraining, "eval propagates to the drop-path child")
        assertClose(block(x.value), file.tensor("y_eval"), relative: 1e-12, absolute: 1e-14)
    }

    func testResidualWithoutDropPathAndWithProjection() {
        var generator = RandomGenerator(seed: 4)
        let plain = Residual<Double>(Linear(3, 3, using: &generator), using: &generator)
        XCTAssertNil(plain.dropPath)
        XCTAssertEqual(plain.randomGeneratorStates().count, 0)
        let x = Tensor<Double>(normal: [2, 3], using: &generator)
        XCTAssertEqual(plain(x), x + (plain.branch as! Linear<Double>)(x), "train mode without drop-path: x + f(x)")

        let projected = Residual<Double>(Linear(3, 2, using: &generator), shortcut: Linear(3, 2, bias: false, using: &generator),
                                         dropPath: 0.1, using: &generator)
        XCTAssertEqual(projected.stateKeys, ["branch.weight", "branch.bias", "shortcut.weight"])
        XCTAssertEqual(Set(projected.randomGeneratorStates().keys), ["drop_path"])
        projected.eval()
        XCTAssertEqual(projected(x).shape, [2, 2])
    }

    func testPinnedGeneratorCasesExerciseMixedMasks() {
        // The gradient-check cases pin generators to these seeds; make sure each mask keeps some
        // units and drops others, so the checks are meaningful.
        func mixed(_ shape: [Int], _ p: Double, _ seed: UInt64) -> Bool {
            var generator = RandomGenerator(seed: seed)
            let mask: Tensor<Double> = dropoutMask(shape: shape, probability: p, using: &generator)
            return mask.scalars.contains(0) && mask.scalars.contains(1)
        }
        XCTAssertTrue(mixed([4, 4], 0.3, 11), "Dropout case")
        XCTAssertTrue(mixed([3, 4], 0.5, 12), "Dropout2d case")
        XCTAssertTrue(mixed([6], 0.5, 13), "Residual drop-path case")
        var generator = RandomGenerator(seed: 2024)
        let elementMask: Tensor<Double> = dropoutMask(shape: [4, 6], probability: 0.4, using: &generator)
        XCTAssertTrue(elementMask.scalars.contains(0) && elementMask.scalars.contains(1), "fixed element mask")
    }

    func testSuiteCoversTheRegularizationFamily() {
        let names = Set(GradientCheckSuite.all.map(\.name))
        for required in ["dropout (fixed mask, p 0.4)", "dropout (vanilla, fixed mask)", "dropout2d (fixed mask)",
                         "dropPath (fixed mask)", "l2Penalty", "l1Penalty", "elasticNetPenalty",
                         "Residual(Linear, Tanh, Linear; dropPath 0.5)"] {
            XCTAssertTrue(names.contains(required), "gradient check suite lacks \(required)")
        }
    }
}
