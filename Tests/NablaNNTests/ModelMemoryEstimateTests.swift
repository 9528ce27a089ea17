import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// The memory estimate from a model description: it agrees with the built model on every layer's
/// output shape and parameter count, reports invalid descriptions exactly as the build does, and
/// never traps or allocates on hostile sizes.
final class ModelMemoryEstimateTests: XCTestCase {
    /// Every built-in model and a file with every layer family, nested residual blocks included.
    func testTheEstimateAgreesWithTheBuiltModel() throws {
        let everything = try ModelDescription.parse("""
            layers:
              - Conv2d: {in_channels: 3, out_channels: 8, kernel_size: 3, padding: 1, bias: false}
              - BatchNorm2d: {num_features: 8}
              - ReLU: {}
              - Residual:
                  layers:
                    - Conv2d: {in_channels: 8, out_channels: 8, kernel_size: 3, padding: 1}
                    - GroupNorm: {num_groups: 2, num_channels: 8}
                    - Residual: {layers: [{Conv2d: {in_channels: 8, out_channels: 8, kernel_size: 1}}], drop_path: 0.1}
                  shortcut: [{Conv2d: {in_channels: 8, out_channels: 8, kernel_size: 1}}]
                  drop_path: 0.2
              - InstanceNorm2d: {num_features: 8, affine: true}
              - MaxPool2d: {kernel_size: 2}
              - Dropout2d: {p: 0.1}
              - AvgPool2d: {kernel_size: 2, stride: 1}
              - LayerNorm: {normalized_shape: [7, 7]}
              - AdaptiveAvgPool2d: {output_size: [2, 2]}
              - Flatten: {}
              - Linear: {in_features: 32, out_features: 16}
              - BatchNorm1d: {num_features: 16, affine: false}
              - LeakyReLU: {negative_slope: 0.2}
              - Dropout: {p: 0.5}
              - Linear: {in_features: 16, out_features: 5, bias: false}
              - LogSoftmax: {dim: 1}
            """, name: "everything.yaml")
        var descriptions: [(ModelDescription, [Int])] = [(everything, [3, 16, 16])]
        for (name, shape) in [("mlp", [1, 28, 28]), ("lenet", [1, 28, 28]), ("lenet-bn", [1, 28, 28]), ("convnet", [3, 32, 32]),
                              ("resnet", [3, 32, 32]), ("fcnet:64,32", [20]), ("line-mlp", [1])] {
            let options = BuiltinModelOptions(normalization: "batchnorm", dropout: 0.3)
            descriptions.append((try BuiltinModels.resolve(name, inputShape: shape, outputCount: shape == [1] ? 1 : 10, options: options), shape))
        }
        for (description, shape) in descriptions {
            let estimate = try description.memoryEstimate(inputShape: shape)
            var generator = RandomGenerator(seed: 0)
            let built = try description.build(inputShape: shape, using: &generator)
            let topLevel = estimate.layers.filter { !$0.path.contains(".") }
            XCTAssertEqual(topLevel.map(\.estimate.outputShape), built.layers.map(\.outputShape), description.name)
            XCTAssertEqual(estimate.parameterCount, built.model.parameterCount, description.name)
            XCTAssertEqual(estimate.bufferCount, built.model.namedBuffers().reduce(0) { $0 + $1.buffer.value.count }, description.name)
            let training = estimate.training(batchSize: 32, optimizerSlots: 2, threads: 2)
            XCTAssertGreaterThan(training.bytes, 4 * built.model.parameterCount * 4, "weights, gradients and two slots at least")
            XCTAssertLessThan(estimate.inference(batchSize: 32, threads: 2).bytes, training.bytes)
        }
        let nested = try everything.memoryEstimate(inputShape: [3, 16, 16]).layers.map(\.path)
        XCTAssertTrue(nested.contains("3.branch.2.branch.0"), "\(nested)")
        XCTAssertTrue(nested.contains("3.shortcut.0"), "\(nested)")
    }

    /// Training memory grows linearly in the batch size, with the activations as its slope.
    func testTheTrainingEstimateFollowsItsFormula() throws {
        let description = try ModelDescription.parse("""
            layers:
              - Linear: {in_features: 10, out_features: 100}
              - BatchNorm1d: {num_features: 100}
              - ReLU: {}
              - Linear: {in_features: 100, out_features: 3}
            """, name: "small.yaml")
        let estimate = try description.memoryEstimate(inputShape: [10])
        XCTAssertEqual(estimate.layers.map(\.estimate.savedPerSample), [100, 200, 100, 3])
        let parameters = 10 * 100 + 100 + 2 * 100 + 100 * 3 + 3
        XCTAssertEqual(estimate.parameterCount, parameters)
        let one = estimate.training(batchSize: 1, optimizerSlots: 1, threads: 1)
        let elements = parameters * 3 + 201 + 403 + 2 * 100 + 2 * 10
        XCTAssertEqual(one.bytes, 4 * elements)
        XCTAssertEqual(estimate.training(batchSize: 11, optimizerSlots: 1, threads: 1).bytes - one.bytes, 4 * 10 * (403 + 200 + 20))
        XCTAssertTrue(one.dominant?.hasPrefix("largest: layer 0 (Linear) with output [100] per sample") == true, one.dominant ?? "")
    }

    /// Hostile arguments: huge widths are measured without allocating, sums saturate, and invalid
    /// layers give the build's own message.
    func testHostileDescriptionsNeverTrapOrAllocate() throws {
        let wide = try ModelDescription.parse("layers: [{Conv2d: {in_channels: 1, out_channels: 100000, kernel_size: 3, padding: 1}}]", name: "wide.yaml")
        let started = Date()
        let estimate = try wide.memoryEstimate(inputShape: [1, 28, 28])
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(estimate.layers[0].estimate.outputShape, [100_000, 28, 28])
        XCTAssertEqual(estimate.parameterCount, 1_000_000)
        let output = 100_000 * 28 * 28
        // Weights, gradients and two slots; activations; gradients in flight; inputs; two threads' im2col and products.
        let elements = 4 * 1_000_000 + 128 * output + 2 * 128 * output + 2 * 128 * 784 + 2 * (9 * 784 + output)
        XCTAssertEqual(estimate.training(batchSize: 128, optimizerSlots: 2, threads: 2).bytes, 4 * elements)
        XCTAssertEqual(4 * elements / (1 << 30), 112)
        XCTAssertEqual(estimate.training(batchSize: Int.max, optimizerSlots: Int.max, threads: Int.max).bytes, Int.max, "saturates")
        XCTAssertEqual(MemoryArithmetic.product([Int.max, 2]), Int.max)
        XCTAssertEqual(MemoryArithmetic.product([Int.max, 0]), 0)
        XCTAssertEqual(MemoryArithmetic.sum([Int.max, 1, -5]), Int.max)

        let invalid: [(String, String)] = [
            ("layers: [{Linear: {in_features: 5, out_features: 2}}]", "layer 0 (Linear): expects inputs whose last axis has 5 features"),
            ("layers: [{Linear: {in_features: 100000, out_features: 100000}}]", "weight 100000 × 100000 exceeds the limit of 100000000 elements"),
            ("layers: [{Conv2d: {in_channels: 3, out_channels: 2, kernel_size: 3}}]", "expects (N, C, H, W) inputs"),
            ("layers: [{Nope: {}}]", "layer 0 (Nope): unknown layer type"),
            ("layers: [{Linear: {in_features: 8, out_features: 2, extra: 1}}]", "unknown argument"),
            ("layers: [{BatchNorm1d: {num_features: 7}}]", "layer 0 (BatchNorm1d)"),
            ("layers: [{Residual: {layers: [{Linear: {in_features: 8, out_features: 3}}]}}]", "the branch outputs per-sample shape [3] but the shortcut carries [8]"),
        ]
        for (yaml, fragment) in invalid {
            let description = try ModelDescription.parse(yaml, name: "bad.yaml")
            var generator = RandomGenerator(seed: 0)
            let built = assertNablaError(try description.build(inputShape: [8], using: &generator), fragment)
            let estimated = assertNablaError(try description.memoryEstimate(inputShape: [8]), fragment)
            XCTAssertEqual(estimated, built, "the estimate reports what the build reports")
        }
    }
}
