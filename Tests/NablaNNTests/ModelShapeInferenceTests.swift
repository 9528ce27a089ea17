import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// The builder's shape arithmetic (used to chain layers without running them) agrees with what the
/// layers actually produce, and oversized convolutions are refused before any allocation.
final class ModelShapeInferenceTests: XCTestCase {
    func testComputedShapesMatchForwardShapes() throws {
        let layers: [(String, [Int])] = [
            ("Conv2d: {in_channels: 3, out_channels: 4, kernel_size: 3}", [3, 9, 11]),
            ("Conv2d: {in_channels: 3, out_channels: 4, kernel_size: [3, 2], stride: 2, padding: [1, 0], dilation: [1, 2]}", [3, 9, 11]),
            ("Conv2d: {in_channels: 4, out_channels: 6, kernel_size: 3, groups: 2, padding: 2, stride: [2, 3]}", [4, 8, 7]),
            ("Conv1d: {in_channels: 2, out_channels: 3, kernel_size: 3, stride: 2, dilation: 2, padding: 1}", [2, 13]),
            ("MaxPool2d: {kernel_size: 3, stride: 2, ceil_mode: true}", [2, 7, 8]),
            ("MaxPool2d: {kernel_size: 3, stride: 2, padding: 1, ceil_mode: true}", [2, 6, 6]),
            ("MaxPool2d: {kernel_size: [2, 3], dilation: 2}", [2, 9, 10]),
            ("MaxPool2d: {kernel_size: 2}", [2, 7, 9]),
            ("AvgPool2d: {kernel_size: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false}", [2, 7, 5]),
            ("AvgPool2d: {kernel_size: 2, stride: 1}", [2, 5, 4]),
            ("AdaptiveAvgPool2d: {output_size: [2, 3]}", [2, 5, 7]),
        ]
        for (layer, inputShape) in layers {
            var g = RandomGenerator(seed: 1)
            let built = try ModelDescription.parse("layers:\n  - \(layer)\n", name: "m").build(inputShape: inputShape, using: &g)
            let output = built.model(Tensor<Float>(zeros: [2] + inputShape))
            XCTAssertEqual(Array(output.shape.dropFirst()), built.outputShape, layer)
        }
    }

    func testOversizedConvolutionsAreRefused() {
        let cases = [
            ("Conv2d: {in_channels: 3, out_channels: 100000, kernel_size: 1000}", [3, 1000, 1000], "weight"),
            ("Conv2d: {in_channels: 3, out_channels: 4096, kernel_size: 1, padding: 0}", [3, 200, 200], "output shape"),
            ("Conv1d: {in_channels: 1, out_channels: 100000, kernel_size: 2000}", [1, 4000], "weight"),
        ]
        for (layer, shape, what) in cases {
            var g = RandomGenerator(seed: 1)
            XCTAssertThrowsError(try ModelDescription.parse("layers:\n  - \(layer)\n", name: "m").build(inputShape: shape, using: &g)) {
                XCTAssertTrue("\($0)".contains("layer 0") && "\($0)".contains(what) && "\($0)".contains("exceeds the limit"), "\($0)")
            }
        }
    }
}
