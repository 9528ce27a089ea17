import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

final class TrainingPiecesTests: XCTestCase {
    func testTopKCountsTiesTowardLowerIndices() {
        let scores = Tensor<Float>(shape: [3, 6], scalars: [
            0, 9, 1, 2, 3, 4,     // label 1 is top-1
            5, 5, 0, 0, 0, 0,     // label 1 ties with class 0 → rank 1
            6, 5, 4, 3, 2, 1,     // label 5 is last → rank 5
        ])
        let hits = topKHits(scores, labels: [1, 1, 5], k: 5)
        XCTAssertEqual(hits.top1, 1)
        XCTAssertEqual(hits.topK, 2)
    }

    /// A row with a NaN anywhere is a miss at every k, whichever class holds the NaN and whatever
    /// the label; infinities rank as numbers. (Plain comparisons ranked a NaN target first, and
    /// PyTorch's argmax ranks NaN above everything: an all-NaN output would have scored hits.)
    func testNaNScoresAreNeverHits() {
        let nan = Float.nan, inf = Float.infinity
        let rows: [[Float]] = [[nan, nan, nan], [nan, 0, 1], [0, nan, 1], [1, 0, nan], [1, 2, 3]]
        for (index, row) in rows.enumerated() {
            for label in 0..<3 {
                let hits = topKHits(Tensor(shape: [1, 3], scalars: row), labels: [label], k: 5)
                let expected = index == 4 ? (label == 2 ? 1 : 0) : 0
                XCTAssertEqual(hits.top1, expected, "row \(row), label \(label)")
                XCTAssertEqual(hits.topK, index == 4 ? 1 : 0, "row \(row), label \(label)")
            }
        }
        let infinite = topKHits(Tensor(shape: [2, 3], scalars: [-inf, inf, 0, inf, inf, 0]), labels: [1, 1], k: 1)
        XCTAssertEqual(infinite.top1, 1, "+inf wins; a tie of infinities goes to the lower index")
        var m = MetricAccumulator()
        m.add(loss: .nan, output: Tensor(shape: [4, 2], scalars: Array(repeating: nan, count: 8)), targets: .classes([0, 1, 0, 1], classCount: 2))
        XCTAssertEqual(m.accuracy, 0)
        XCTAssertEqual(m.top5Accuracy, 0)
        XCTAssertTrue(m.loss.isNaN)
    }

    /// Ten-crop accuracy of a model whose outputs are all NaN is 0, not the share of label-0 samples
    /// that PyTorch's argmax (NaN ranks first) would give.
    func testTenCropAccuracyCountsNaNPredictionsAsMisses() throws {
        var generator = RandomGenerator(seed: 1)
        let linear = Linear<Float>(16, 3, using: &generator)
        let model = Sequential<Float>(Flatten<Float>(), linear)
        let test = Dataset(name: "t", inputs: Tensor(zeros: [6, 1, 4, 4]), targets: .classes([0, 0, 0, 1, 2, 0], classCount: 3))
        let tta = try TestTimeAugmentationSpec(parsing: "ten-crop:1")
        linear.bias?.value = Tensor(shape: [3], scalars: [5, 0, 0])
        XCTAssertEqual(tta.accuracy(of: model, on: test), 4.0 / 6, "a finite model is scored")
        linear.bias?.value = Tensor(shape: [3], scalars: [.nan, .nan, .nan])
        XCTAssertEqual(tta.accuracy(of: model, on: test), 0)
    }

    func testMetricAccumulatorWeightsBatchesBySize() {
        var m = MetricAccumulator()
        m.add(loss: 1, output: Tensor(shape: [1, 2], scalars: [1, 0]), targets: .classes([0], classCount: 2))
        m.add(loss: 4, output: Tensor(shape: [3, 2], scalars: [1, 0, 1, 0, 0, 1]), targets: .classes([1, 0, 1], classCount: 2))
        XCTAssertEqual(m.loss, 13.0 / 4)
        XCTAssertEqual(m.accuracy, 3.0 / 4)
        var r = MetricAccumulator()
        r.add(loss: 2, output: Tensor(zeros: [2, 1]), targets: .values(Tensor(zeros: [2, 1])))
        XCTAssertNil(r.accuracy)
    }

    func testLossFunctionParsingAndValidation() throws {
        XCTAssertEqual(try LossFunction(name: "cross-entropy", labelSmoothing: 0.1), .crossEntropy(labelSmoothing: 0.1))
        XCTAssertThrowsError(try LossFunction(name: "nope")) { XCTAssertTrue("\($0)".contains("expected one of cross-entropy, nll, mse")) }
        XCTAssertThrowsError(try LossFunction(name: "mse", labelSmoothing: 0.1))
        let classes = Targets.classes([0, 1], classCount: 3)
        XCTAssertNoThrow(try LossFunction.crossEntropy(labelSmoothing: 0).validate(targets: classes, outputShape: [3]))
        // More outputs than the data's classes is what PyTorch trains (a subset, a fine-tuning set);
        // only a label at or beyond the outputs is an error, naming it.
        XCTAssertNoThrow(try LossFunction.crossEntropy(labelSmoothing: 0).validate(targets: classes, outputShape: [4]))
        XCTAssertThrowsError(try LossFunction.crossEntropy(labelSmoothing: 0).validate(targets: classes, outputShape: [1])) {
            XCTAssertTrue("\($0)".contains("label 1 (sample 1) but the model has 1 outputs: the last layer needs at least 2"), "\($0)")
        }
        XCTAssertThrowsError(try LossFunction.meanSquaredError.validate(targets: classes, outputShape: [3]))
        XCTAssertThrowsError(try LossFunction.hinge(margin: 1).validate(targets: .values(Tensor(zeros: [2, 1])), outputShape: [1]))
        // BCE with class labels trains against one-hot targets.
        let loss = LossFunction.binaryCrossEntropy(Variable(Tensor<Float>(zeros: [2, 3])), classes)
        XCTAssertEqual(loss.value.scalar, Float(Foundation.log(2.0)), accuracy: 1e-6)
    }

    func testCheckpointRoundTrip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var progress = TrainingProgress()
        progress.epoch = 3
        progress.globalStep = 120
        progress.history = [["train_loss": 0.5, "test_accuracy": 0.8]]
        progress.bestMetric = 0.8
        var g = RandomGenerator(seed: 5)
        _ = g.next()
        let checkpoint = Checkpoint(
            model: ["0.weight": Tensor(shape: [2], scalars: [1.5, -2]), "1.num_batches_tracked": Tensor([7])],
            integerModelKeys: ["1.num_batches_tracked"],
            optimizer: ["state.0.momentum_buffer": Tensor([0.25, 1e-300])],
            schedule: ["last_epoch": Tensor(3)],
            generators: ["data": g.words], progress: progress, configuration: #"{"lr":0.1}"#)
        let url = dir.appendingPathComponent("checkpoint.safetensors")
        try checkpoint.write(to: url)
        let back = try Checkpoint.read(from: url)
        XCTAssertEqual(back, checkpoint)
        var restored = RandomGenerator(words: back.generators["data"]!)
        XCTAssertEqual(restored.next(), g.next())
        XCTAssertEqual(SafeTensorsFile(tensors: try SafeTensorsFile.read(from: url).tensors).tensors["model.1.num_batches_tracked"]?.dtype, .i64)
        // A counter past 2²⁴ (beyond Float) goes through the checkpoint exactly.
        var large = checkpoint
        large.modelCounters["1.num_batches_tracked"] = [16_777_217]
        large.model["1.num_batches_tracked"] = Tensor([Float(16_777_217)])  // 16,777,216 as a Float
        try large.write(to: url)
        XCTAssertEqual(try Checkpoint.read(from: url).modelCounters["1.num_batches_tracked"], [16_777_217])
    }

    func testPlainWeightsFileIsNotACheckpoint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("w.safetensors")
        try SafeTensorsFile(tensors: ["w": SafeTensor(Tensor<Float>([1]))]).write(to: url)
        XCTAssertThrowsError(try Checkpoint.read(from: url)) { XCTAssertTrue("\($0)".contains("not a Nabla checkpoint")) }
    }
}
