import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// Max, average and adaptive average pooling against PyTorch golden values
/// (`Scripts/fixtures/gen_convolution.py`), including padding, ceil mode (and its rule that drops a
/// last window starting in the right padding), `count_include_pad = false`, dilation, ties and
/// non-divisible adaptive windows; plus the layers' repr and validation.
final class PoolingTests: XCTestCase {
    static let poolingFixtures = Fixtures.names("convolution").filter {
        $0.hasPrefix("maxpool") || $0.hasPrefix("avgpool") || $0.hasPrefix("adaptive")
    }

    func testFixturesArePresent() {
        XCTAssertGreaterThanOrEqual(Self.poolingFixtures.count, 17, "fixtures: \(Self.poolingFixtures)")
    }

    func testMatchesPyTorchInDouble() throws {
        for name in Self.poolingFixtures { try checkAgainstFixture(name, as: Double.self, relative: 1e-12, absolute: 1e-12) }
    }

    func testMatchesPyTorchInFloat() throws {
        for name in Self.poolingFixtures { try checkAgainstFixture(name, as: Float.self, relative: 1e-5, absolute: 1e-6) }
    }

    func testLayersMatchTheFunctionalOps() throws {
        let file = try Fixtures.load("convolution", "maxpool_nonsquare")
        let layer = MaxPool2d<Double>(kernelSize: (3, 2), stride: (2, 1), padding: (1, 0), ceilMode: true)
        assertClose(layer(file.tensor("input", as: Double.self)), file.tensor("output"), relative: 1e-12, absolute: 1e-300)

        let average = try Fixtures.load("convolution", "avgpool_k3_s2_p1_exclude_ceil")
        let avgLayer = AvgPool2d<Float>(kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false)
        assertClose(avgLayer(average.tensor("input", as: Float.self)), average.tensor("output"), relative: 1e-5, absolute: 1e-6)

        let adaptive = try Fixtures.load("convolution", "adaptive_7to3")
        let adaptiveLayer = AdaptiveAvgPool2d<Double>(outputSize: (3, 4))
        assertClose(adaptiveLayer(adaptive.tensor("input", as: Double.self)), adaptive.tensor("output"),
                    relative: 1e-12, absolute: 1e-12)
        XCTAssertTrue(layer.namedParameters().isEmpty)
    }

    func testGlobalPoolingIsThePlaneMean() {
        var generator = RandomGenerator(seed: 8)
        let x = Tensor<Double>(normal: [2, 3, 5, 7], using: &generator)
        let pooled = AdaptiveAvgPool2d<Double>(outputSize: 1)(x)
        XCTAssertEqual(pooled.shape, [2, 3, 1, 1])
        assertClose(pooled, x.mean(alongAxes: [2, 3], keepingDimensions: true), relative: 1e-12, absolute: 1e-12)
    }

    func testUnbatchedInputAndStrideDefault() throws {
        let file = try Fixtures.load("convolution", "maxpool_k2")
        let x = file.tensor("input", as: Double.self)
        let y = maxPool2d(Variable(x[0..<1].reshaped(to: [3, 8, 8])), kernelSize: (2, 2))
        assertClose(y.value, file.tensor("output", as: Double.self)[0..<1].reshaped(to: [3, 4, 4]), relative: 0, absolute: 1e-300)
        XCTAssertEqual(MaxPool2d<Float>(kernelSize: 3).stride, 3)
        XCTAssertEqual(AvgPool2d<Float>(kernelSize: [2, 3]).stride, IntPair(2, 3))
    }

    func testOutputExtentFollowsPyTorch() {
        // (input, kernel, stride, padding, dilation, ceil) -> PyTorch's output size.
        let cases: [(Int, Int, Int, Int, Int, Bool, Int)] = [
            (8, 2, 2, 0, 1, false, 4), (7, 3, 2, 1, 1, false, 4), (6, 3, 2, 1, 1, true, 4), (6, 3, 2, 1, 1, false, 3),
            (5, 2, 2, 0, 1, true, 3), (5, 2, 2, 1, 1, true, 3), (7, 2, 2, 1, 1, true, 4), (7, 3, 1, 1, 2, false, 5),
            (2, 3, 1, 0, 1, false, 0), (10, 3, 3, 0, 1, true, 4), (10, 3, 3, 0, 1, false, 3),
        ]
        for (input, kernel, stride, padding, dilation, ceil, expected) in cases {
            let extent = Pooling2DGeometry.outputExtent(input: input, kernel: kernel, stride: stride, padding: padding,
                                                        dilation: dilation, ceilMode: ceil)
            XCTAssertEqual(extent, expected, "input \(input) kernel \(kernel) stride \(stride) padding \(padding) "
                           + "dilation \(dilation) ceil \(ceil)")
        }
    }

    func testDescriptionIsPyTorchsRepr() {
        XCTAssertEqual("\(MaxPool2d<Float>(kernelSize: 2))",
                       "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)")
        XCTAssertEqual("\(MaxPool2d<Float>(kernelSize: (3, 2), stride: (2, 1), padding: (1, 0), ceilMode: true))",
                       "MaxPool2d(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=1, ceil_mode=True)")
        XCTAssertEqual("\(AvgPool2d<Float>(kernelSize: 3, stride: 2, padding: 1, countIncludePad: false))",
                       "AvgPool2d(kernel_size=3, stride=2, padding=1)")
        XCTAssertEqual("\(AdaptiveAvgPool2d<Float>(outputSize: 1))", "AdaptiveAvgPool2d(output_size=1)")
        XCTAssertEqual("\(AdaptiveAvgPool2d<Float>(outputSize: (3, 4)))", "AdaptiveAvgPool2d(output_size=(3, 4))")
    }

    func testValidatorsNameTheLayerAndTheNumbers() {
        func message(_ body: () throws -> Void) -> String? {
            do { try body() } catch let error as NablaError {
                XCTAssertEqual(error.kind, .invalidArgument)
                return error.message
            } catch { XCTFail("unexpected \(error)") }
            return nil
        }
        XCTAssertNil(message { try MaxPool2d<Float>.validate(kernelSize: 3, stride: 2, padding: 1, inputShape: [1, 1, 2, 2]) })
        XCTAssertEqual(message { try MaxPool2d<Float>.validate(kernelSize: 3, padding: 2) },
                       "MaxPool2d(kernel_size=3): padding (2, 2) must be non-negative and at most half of kernel_size (3, 3)")
        XCTAssertEqual(message { try MaxPool2d<Float>.validate(kernelSize: [2, 0]) },
                       "MaxPool2d(kernel_size=(2, 0)): kernel_size (2, 0) must be positive")
        XCTAssertEqual(message { try MaxPool2d<Float>.validate(kernelSize: 2, stride: 0) },
                       "MaxPool2d(kernel_size=2): stride (0, 0) must be positive")
        XCTAssertEqual(message { try MaxPool2d<Float>.validate(kernelSize: 2, dilation: 0) },
                       "MaxPool2d(kernel_size=2): dilation (0, 0) must be positive")
        XCTAssertEqual(message { try MaxPool2d<Float>.validate(kernelSize: 5, inputShape: [1, 3, 4, 8]) },
                       "MaxPool2d(kernel_size=5): kernel 5×5 with dilation (1, 1) is larger than the padded input 4×8 "
                       + "(output would be 0×1)")
        XCTAssertEqual(message { try MaxPool2d<Float>.validate(kernelSize: 2, inputShape: [4, 4]) },
                       "MaxPool2d(kernel_size=2): input must be [N, C, H, W] or [C, H, W], got shape [4, 4]")
        XCTAssertEqual(message { try AvgPool2d<Float>.validate(kernelSize: 2, padding: -1) },
                       "AvgPool2d(kernel_size=2): padding (-1, -1) must be non-negative and at most half of kernel_size (2, 2)")
        XCTAssertEqual(message { try AdaptiveAvgPool2d<Float>.validate(outputSize: [3, 0]) },
                       "AdaptiveAvgPool2d(output_size=(3, 0)): output_size (3, 0) must be positive")
        XCTAssertEqual(message { try AdaptiveAvgPool2d<Float>.validate(outputSize: 2, inputShape: [2, 3, 0, 4]) },
                       "AdaptiveAvgPool2d(output_size=2): input of shape [2, 3, 0, 4] has an empty plane")
    }

    // MARK: Helpers

    private func checkAgainstFixture<Scalar: TensorScalar>(
        _ name: String, as type: Scalar.Type, relative: Double, absolute: Double,
        file testFile: StaticString = #filePath, line: UInt = #line
    ) throws {
        let file = try Fixtures.load("convolution", name)
        let x = Variable(file.tensor("input", as: Scalar.self), requiresGradient: true)
        let meta = file.metadata
        let y: Variable<Scalar>
        switch meta["op"] {
        case "max_pool2d":
            y = maxPool2d(x, kernelSize: fixturePair(meta["kernel"]), stride: optionalPair(meta["stride"]),
                          padding: fixturePair(meta["padding"]), dilation: fixturePair(meta["dilation"]),
                          ceilMode: meta["ceil_mode"] == "1")
        case "avg_pool2d":
            y = avgPool2d(x, kernelSize: fixturePair(meta["kernel"]), stride: optionalPair(meta["stride"]),
                          padding: fixturePair(meta["padding"]), ceilMode: meta["ceil_mode"] == "1",
                          countIncludePad: meta["count_include_pad"] == "1")
        default:
            y = adaptiveAvgPool2d(x, outputSize: fixturePair(meta["output_size"]))
        }
        let label = "\(name) \(Scalar.self)"
        assertClose(y.value, file.tensor("output"), relative: relative, absolute: absolute, "\(label) output",
                    file: testFile, line: line)
        y.backward(seed: file.tensor("grad_output"))
        assertClose(x.grad!, file.tensor("grad_input"), relative: relative, absolute: absolute, "\(label) grad_input",
                    file: testFile, line: line)
    }

    private func optionalPair(_ text: String?) -> (Int, Int)? {
        guard let text, !text.isEmpty else { return nil }
        return fixturePair(text)
    }
}
