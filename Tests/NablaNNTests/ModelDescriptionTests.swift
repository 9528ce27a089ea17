import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

final class ModelDescriptionTests: XCTestCase {
    let yaml = """
        layers:
          - Flatten: {}
          - linear: {in_features: 12, out_features: 8}
          - ReLU: {}
          - Linear: {in_features: 8, out_features: 3, bias: false}
        """

    func testYAMLBuildsASequentialWithPyTorchKeys() throws {
        let description = try ModelDescription.parse(yaml, name: "m.yaml")
        XCTAssertEqual(description.layers.map(\.type), ["Flatten", "linear", "ReLU", "Linear"])
        XCTAssertEqual(description.layers[3].arguments["bias"], .bool(false))
        var g = RandomGenerator(seed: 1)
        let built = try description.build(inputShape: [3, 4], using: &g)
        XCTAssertEqual(built.model.stateKeys, ["1.weight", "1.bias", "3.weight"])
        XCTAssertEqual(built.outputShape, [3])
        XCTAssertEqual(built.layers.map(\.outputShape), [[12], [8], [8], [3]])
        XCTAssertTrue(built.summary.contains("Linear(in_features=12, out_features=8, bias=True)"))
        XCTAssertTrue(built.summary.contains("total parameters: 128"))
    }

    func testJSONIsEquivalent() throws {
        let json = #"{"layers": [{"Flatten": {}}, {"Linear": {"in_features": 12, "out_features": 8}}, {"ReLU": null},"#
            + #" {"Linear": {"in_features": 8, "out_features": 3, "bias": false}}]}"#
        let a = try ModelDescription.parse(json, name: "m.json", isJSON: true)
        let b = try ModelDescription.parse(yaml, name: "m.yaml")
        XCTAssertEqual(a.layers.map { $0.type.lowercased() }, b.layers.map { $0.type.lowercased() })
        XCTAssertEqual(a.layers[1].arguments, b.layers[1].arguments)
        XCTAssertEqual(a.layers[3].arguments, b.layers[3].arguments)
    }

    func testBadDescriptionsGiveOneLineErrorsNamingTheLayer() {
        let cases: [(String, String)] = [
            ("layers: [", "m.yaml: not valid YAML"),
            ("- 1\n- 2", "m.yaml: expected a map with a 'layers' list"),
            ("layers: []", "m.yaml: 'layers' is empty"),
            ("layers: 3", "'layers' must be a list"),
            ("layers:\n  - {Linear: {}, ReLU: {}}", "layer 0 must be a one-key map"),
            ("layers:\n  - Conv9d: {}", "layer 0 (Conv9d): unknown layer type; known types:"),
            ("layers:\n  - Flatten: {}\n  - Linear: {in_features: 12, out_features: 3, bais: true}", "layer 1 (Linear): unknown argument 'bais'"),
            ("layers:\n  - Linear: {in_features: twelve, out_features: 3}", "argument 'in_features' must be an integer, got \"twelve\""),
            ("layers:\n  - Linear: {out_features: 3}", "missing required argument 'in_features'"),
            ("layers:\n  - Linear: {in_features: 12, out_features: 0}", "argument 'out_features' must be positive, got 0"),
            ("layers:\n  - Flatten: {}\n  - Linear: {in_features: 10, out_features: 3}",
             "layer 1 (Linear): expects inputs whose last axis has 10 features, but receives per-sample shape [12]"),
            ("layers:\n  - ReLU: 5", "layer 0 (ReLU): arguments must be a map"),
            ("layers:\n  - ReLU: {}\nextra: 1", "unknown top-level key 'extra'"),
            ("layers:\n  - Softmax: {dim: 0}", "dim=0 would normalize across the batch"),
            ("layers:\n  - Softmax: {dim: 5}", "dim=5 is out of range"),
        ]
        for (text, expected) in cases {
            var g = RandomGenerator(seed: 0)
            XCTAssertThrowsError(try ModelDescription.parse(text, name: "m.yaml").build(inputShape: [3, 4], using: &g), text) { error in
                let message = (error as? NablaError)?.message ?? "\(error)"
                XCTAssertTrue(message.contains(expected), "\(text) → \(message)")
                XCTAssertTrue(message.hasPrefix("m.yaml"), message)
                XCTAssertFalse(message.contains("\n"), message)
            }
        }
    }

    func testFCNetOptions() throws {
        let d = try XCTUnwrap(BuiltinModels.description("fcnet:20,10", inputShape: [1, 4, 4], outputCount: 5,
                                                        options: .init(normalization: nil, dropout: 0)))
        XCTAssertEqual(d.layers.map(\.type), ["Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear"])
        XCTAssertThrowsError(try BuiltinModels.description("fcnet:20,x", inputShape: [4], outputCount: 2))
        XCTAssertThrowsError(try BuiltinModels.description("fcnet:20", inputShape: [4], outputCount: 2, options: .init(normalization: "groupnorm")))
        XCTAssertNil(try BuiltinModels.description("nonexistent", inputShape: [4], outputCount: 2))
        XCTAssertThrowsError(try BuiltinModels.description("lenet", inputShape: [784], outputCount: 10)) { error in
            XCTAssertTrue("\(error)".contains("needs image inputs [C, H, W]"))
        }
    }
}

/// `resnet20`: He et al. 2016's CIFAR ResNet-20 (§4.2) with 1×1 projection shortcuts entering stages 2 and 3.
final class ResNet20Tests: XCTestCase {
    func testLayersShapesAndParameterCountMatchTheReference() throws {
        let d = try XCTUnwrap(BuiltinModels.description("resnet20", inputShape: [3, 32, 32], outputCount: 10))
        var g = RandomGenerator(seed: 1)
        let built = try d.build(inputShape: [3, 32, 32], using: &g)
        // 3 + 9 residual blocks × 2 convolutions + 2 projections = 21 convolutions (and the Linear: 20 weight layers
        // counted the paper's way, which leaves out the projections).
        XCTAssertEqual(built.layers.map(\.outputShape).filter { $0.count == 3 }.map { $0[0] },
                       [16, 16, 16] + [16, 16, 16, 16, 16, 16] + [32, 32, 32, 32, 32, 32] + [64, 64, 64, 64, 64, 64] + [64])
        XCTAssertEqual(built.layers.dropLast(3).last?.outputShape, [64, 8, 8])
        XCTAssertEqual(built.outputShape, [10])
        let shortcuts = d.layers.filter { $0.type == "Residual" }.map { $0.arguments["shortcut"] != nil }
        XCTAssertEqual(shortcuts, [false, false, false, true, false, false, true, false, false])
        // PyTorch's model in bench/compare.py (torchvision-style BasicBlock, option B): 272,474 parameters.
        XCTAssertTrue(built.summary.contains("total parameters: 272474"), built.summary)
        let y = built.model(Variable(Tensor<Float>(normal: [2, 3, 32, 32], using: &g)))
        XCTAssertEqual(y.shape, [2, 10])
        XCTAssertTrue(y.value.scalars.allSatisfy(\.isFinite))
        XCTAssertThrowsError(try BuiltinModels.description("resnet20", inputShape: [784], outputCount: 10))
        XCTAssertThrowsError(try BuiltinModels.description("resnet20", inputShape: [3, 2, 2], outputCount: 10))
    }
}
