import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
import NablaTestSupport

/// Max-norm and gradient clipping against PyTorch's `torch.renorm`, `clip_grad_norm_` and
/// `clip_grad_value_`.
final class ConstraintTests: XCTestCase {
    func testMaxNormMatchesTorchRenorm() throws {
        let file = try Fixtures.load("regularization", "max_norm")
        for (key, bound) in [("linear", file.number("linear_max_norm")!), ("conv", file.number("conv_max_norm")!)] {
            let weight = Variable(file.tensor(key, as: Double.self), requiresGradient: true)
            MaxNormConstraint(maxNorm: bound).apply(to: weight)
            assertClose(weight.value, file.tensor(key + "_renormed"), relative: 1e-12, absolute: 1e-14, key)
            for r in 0..<weight.shape[0] {
                XCTAssertLessThanOrEqual(weight.value.row(r).squared().sum().squareRoot(), bound + 1e-12)
            }
        }
        XCTAssertEqual(file.tensor("linear", as: Double.self).row(1), file.tensor("linear_renormed", as: Double.self).row(1),
                       "a row within the bound is untouched")
    }

    func testMaxNormOnAModuleSkipsBiases() {
        var generator = RandomGenerator(seed: 1)
        let layer = Linear<Float>(4, 3, using: &generator)
        layer.weight.value = layer.weight.value * 10
        layer.bias!.value = Tensor([10, -10, 10])
        MaxNormConstraint(maxNorm: 1).apply(to: layer)
        for r in 0..<3 { XCTAssertEqual(Double(layer.weight.value.row(r).squared().sum().squareRoot()), 1, accuracy: 1e-5) }
        XCTAssertEqual(layer.bias!.value, Tensor([10, -10, 10]))
        XCTAssertThrowsError(try MaxNormConstraint.validate(maxNorm: -1)) {
            XCTAssertEqual(($0 as? NablaError)?.message, "MaxNorm: max_norm=-1.0 must be positive")
        }
    }

    func testClipGradientNormMatchesPyTorch() throws {
        let file = try Fixtures.load("regularization", "clipping")
        for name in ["norm2", "norm_inf", "norm1", "norm3", "no_clip"] {
            for scalarIsFloat in [false, true] {
                let params = (0..<3).map { i -> Variable<Double> in
                    let g = file.tensor("grad\(i)", as: Double.self)
                    let p = Variable(Tensor<Double>(zeros: g.shape), requiresGradient: true)
                    p.grad = g
                    return p
                }
                let maxNorm = file.number(name + ".max_norm")!, normType = file.number(name + ".norm_type")!
                let expectedTotal = file.tensor(name + ".total", as: Double.self).scalars[0]
                if scalarIsFloat {
                    let floats = params.map { p -> Variable<Float> in
                        let v = Variable(Tensor<Float>(p.value), requiresGradient: true)
                        v.grad = Tensor<Float>(p.grad!)
                        return v
                    }
                    let total = clipGradientNorm(floats, maxNorm: maxNorm, normType: normType)
                    XCTAssertEqual(total, expectedTotal, accuracy: 1e-5 * expectedTotal, name)
                    for (i, v) in floats.enumerated() {
                        assertClose(v.grad!, Tensor<Float>(file.tensor("\(name).clipped\(i)", as: Double.self)), relative: 1e-5, name)
                    }
                } else {
                    let total = clipGradientNorm(params, maxNorm: maxNorm, normType: normType)
                    XCTAssertEqual(total, expectedTotal, accuracy: 1e-12 * expectedTotal, name)
                    for (i, p) in params.enumerated() {
                        assertClose(p.grad!, file.tensor("\(name).clipped\(i)"), relative: 1e-12, absolute: 1e-15, name)
                    }
                }
            }
        }
    }

    func testClipGradientValuesMatchesPyTorch() throws {
        let file = try Fixtures.load("regularization", "clipping")
        let params = (0..<3).map { i -> Variable<Double> in
            let p = Variable(Tensor<Double>(zeros: file.tensor("grad\(i)", as: Double.self).shape), requiresGradient: true)
            p.grad = file.tensor("grad\(i)")
            return p
        }
        let withoutGradient = Variable(Tensor<Double>(zeros: [2]), requiresGradient: true)
        clipGradientValues(params + [withoutGradient], clipValue: 0.7)
        for (i, p) in params.enumerated() { XCTAssertEqual(p.grad!, file.tensor("value.clipped\(i)")) }
        XCTAssertNil(withoutGradient.grad, "parameters without a gradient are skipped")
    }

    func testNonFiniteGradientsAreLeftForNaNDetection() {
        let p = Variable(Tensor<Double>(zeros: [3]), requiresGradient: true)
        p.grad = Tensor([1, .nan, 2])
        XCTAssertTrue(clipGradientNorm([p], maxNorm: 1).isNaN)
        XCTAssertEqual(p.grad!.scalars[0], 1)
        XCTAssertTrue(gradientNorm([p], normType: .infinity).isNaN)
    }

    func testGradientClippingSpecParsing() throws {
        XCTAssertEqual(try GradientClipping(parsing: "norm:1"), .norm(maxNorm: 1, normType: 2))
        XCTAssertEqual(try GradientClipping(parsing: "norm:0.5:inf"), .norm(maxNorm: 0.5, normType: .infinity))
        XCTAssertEqual(try GradientClipping(parsing: "value:0.1"), .value(0.1))
        for clip in [GradientClipping.norm(maxNorm: 2, normType: 1), .norm(maxNorm: 1, normType: .infinity), .value(3), .none] {
            XCTAssertEqual(try GradientClipping(parsing: clip.description), clip)
        }
        for (spec, message) in [
            ("norm", "gradient clipping 'norm': missing max norm"),
            ("norm:-1", "gradient clipping 'norm:-1': max norm '-1' is not a non-negative number"),
            ("value:inf", "gradient clipping 'value:inf': clip value 'inf' is not a non-negative number"),
            ("norm:1:0", "gradient clipping 'norm:1:0': norm type must be positive"),
            ("scale:2", "gradient clipping 'scale:2': unknown kind 'scale' (expected norm, value or none)"),
            ("value:1:2", "gradient clipping 'value:1:2': too many values"),
        ] {
            XCTAssertThrowsError(try GradientClipping(parsing: spec)) { XCTAssertEqual(($0 as? NablaError)?.message, message) }
        }
        let p = Variable(Tensor<Double>(zeros: [2]), requiresGradient: true)
        p.grad = Tensor([3, 4])
        XCTAssertEqual(GradientClipping.value(1).apply(to: [p]), 5, "reports the norm before clipping")
        XCTAssertEqual(p.grad, Tensor([1, 1]))
    }
}
