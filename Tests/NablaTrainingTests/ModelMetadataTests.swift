import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// What a weights file carries besides the weights, and the label checks that follow PyTorch:
/// more outputs than the data's classes is valid, a label beyond the outputs is not.
final class ModelMetadataTests: XCTestCase {
    func testMetadataRoundTripsExactlyThroughTheSafetensorsHeader() throws {
        var metadata = ModelMetadata()
        metadata.version = NablaVersion.current
        metadata.model = try BuiltinModels.description("fcnet:8", inputShape: [3], outputCount: 4, options: .init(dropout: 0.25))
        metadata.modelName = "fcnet:8"
        metadata.dropoutMode = .vanilla
        metadata.inputShape = [3]
        // Floats whose shortest decimal forms are long: the JSON must give back the same bits.
        metadata.normalization = ChannelNormalization(mean: [0.1, -1e-7, 0.2860406], std: [0.35302424, 0, 1.0 / 3.0])
        metadata.classNames = ["T-shirt/top", "a \"quoted\" name", "é", "x,y"]
        metadata.loss = "cross-entropy"
        let file = SafeTensorsFile(tensors: ["w": SafeTensor(Tensor<Float>([1, 2]))], metadata: metadata.safetensorsMetadata)
        let parsed = try SafeTensorsFile.parse(file.serialized(), name: "w.safetensors")
        XCTAssertEqual(try ModelMetadata(safetensorsMetadata: parsed.metadata, source: "w.safetensors"), metadata)
        XCTAssertTrue(parsed.metadata.keys.allSatisfy { $0.hasPrefix("nabla.") })
        XCTAssertTrue(try ModelMetadata(safetensorsMetadata: ["format": "pt"], source: "torch.safetensors").isEmpty)
    }

    func testMalformedEntriesNameTheKey() {
        let cases: [([String: String], String)] = [
            (["nabla.input_shape": "[1, -2]"], "'nabla.input_shape' is [1, -2]"),
            (["nabla.input_shape": "28x28"], "'nabla.input_shape' is not valid (28x28)"),
            (["nabla.normalization": "{\"mean\":[1],\"std\":[1,2]}"], "'nabla.normalization' needs as many"),
            (["nabla.normalization": "{\"mean\":[1],\"std\":[-1]}"], "'nabla.normalization' needs as many"),
            (["nabla.class_names": "[1, 2]"], "'nabla.class_names' is not valid"),
            (["nabla.dropout_mode": "sideways"], "'nabla.dropout_mode' is 'sideways'"),
            (["nabla.model": "layers: 3"], "'nabla.model' is not a valid model description"),
        ]
        for (entries, fragment) in cases {
            assertNablaError(try ModelMetadata(safetensorsMetadata: entries, source: "m.safetensors"), "m.safetensors: metadata ", fragment,
                             kind: .invalidFile)
        }
    }

    /// A plan's session describes its model, and the trainer writes that into its weights files.
    func testTrainedWeightsCarryTheirPreprocessing() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-metadata-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var plan = TrainingPlan(model: .init(name: "fcnet:8"), data: .init(spec: "synthetic:blobs?n=40&classes=3"))
        plan.data.normalize = true
        plan.epochs = 1
        plan.output.quiet = true
        plan.output.checkpointDirectory = directory.path
        let session = try plan.prepare()
        _ = try session.trainer.fit()
        let (_, saved) = try ModelMetadata.read(from: directory.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(saved, session.metadata)
        XCTAssertEqual(saved.inputShape, [2])
        XCTAssertEqual(saved.normalization?.mean, session.data.normalization?.mean)
        XCTAssertEqual(saved.model?.layers, session.modelDescription.layers)
        XCTAssertEqual(saved.model?.inputShape, [2])
        XCTAssertEqual(saved.loss, "cross-entropy")
    }

    /// PyTorch's `cross_entropy` takes any label below the output count: a model with more outputs
    /// than the data's classes trains; a label at or beyond the outputs is one line naming it.
    func testLabelsNeedOnlyBeBelowTheOutputCount() throws {
        let labels = Targets.classes([0, 2, 1, 2], classCount: 3)
        for loss in [LossFunction.crossEntropy(labelSmoothing: 0), .hinge(margin: 1), .binaryCrossEntropy] {
            XCTAssertNoThrow(try loss.validate(targets: labels, outputShape: [3]))
            XCTAssertNoThrow(try loss.validate(targets: labels, outputShape: [10]))
            assertNablaError(try loss.validate(targets: labels, outputShape: [2], name: "tiny/train"),
                             "tiny/train has label 2 (sample 1) but the model has 2 outputs: the last layer needs at least 3")
            assertNablaError(try loss.validate(targets: labels, outputShape: [3, 2]), "one score per class")
        }
        // Binary cross-entropy's one-hot targets are as wide as the model's outputs.
        let output = Variable(Tensor<Float>(shape: [2, 5], scalars: (0..<10).map { Float($0) / 10 }))
        let loss = LossFunction.binaryCrossEntropy(output, .classes([1, 0], classCount: 2))
        var onehot = Tensor<Float>(zeros: [2, 5])
        onehot.scalars[1] = 1
        onehot.scalars[5] = 1
        XCTAssertEqual(loss.value.scalar, NablaNN.binaryCrossEntropy(logits: output, targets: onehot).value.scalar)
    }

    /// A model file with more outputs than a small data file has classes trains, and so does a
    /// built-in model fine-tuned from weights with more classes.
    func testPlansTrainModelsWithMoreOutputsThanClasses() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-outputs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("ten.yaml")
        try "layers:\n  - Linear: {in_features: 2, out_features: 10}\n".write(to: file, atomically: true, encoding: .utf8)
        var plan = TrainingPlan(model: .init(name: file.path), data: .init(spec: "synthetic:spirals?n=20&classes=3"))
        plan.epochs = 1
        plan.output.quiet = true
        XCTAssertEqual(try plan.prepare().built.outputShape, [10])

        let pretrained = directory.appendingPathComponent("pretrained.safetensors")
        var wide = TrainingPlan(model: .init(name: "fcnet:8"), data: .init(spec: "synthetic:spirals?n=20&classes=5"))
        wide.epochs = 1
        wide.output.quiet = true
        try wide.prepare().model.save(to: pretrained)
        var fineTune = TrainingPlan(model: .init(name: "fcnet:8"), data: .init(spec: "synthetic:spirals?n=20&classes=3"))
        fineTune.model.initialWeights = pretrained.path
        fineTune.output.quiet = true
        XCTAssertEqual(try fineTune.prepare().built.outputShape, [5], "a fine-tuned built-in keeps its initial weights' classes")
    }
}
