import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// Hostile and corrupted checkpoints: every progress field, counter and state entry is checked
/// before use, and a bad one is one line naming it — never a trap, a hang or a segfault.
final class CheckpointValidationTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-validation-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Spirals (8 batches per epoch) with dropout, batch norm, Adam, a step schedule and early
    /// stopping on a validation set: every kind of state a checkpoint holds.
    func makeTrainer(epochs: Int = 4, steps: Int? = nil, everySteps: Int? = nil, name: String = "run") throws -> Trainer {
        let (train, test) = try DatasetSource.parse("synthetic:spirals").load(seed: 3)
        let parts = train.split(validationFraction: 0.2, seed: 3)
        let description = try XCTUnwrap(BuiltinModels.description("fcnet:16", inputShape: train.sampleShape, outputCount: 3,
                                                                   options: .init(normalization: "batchnorm", dropout: 0.3)))
        var generator = RandomGenerator(seed: 11)
        let model = try description.build(inputShape: train.sampleShape, using: &generator).model
        let optimizer = try Adam(model.parameters, learningRate: 0.01)
        var configuration = TrainerConfiguration()
        configuration.epochs = epochs
        configuration.steps = steps
        configuration.earlyStoppingPatience = 5
        configuration.checkpointDirectory = directory.appendingPathComponent(name)
        configuration.checkpointEverySteps = everySteps
        configuration.quiet = true
        return try Trainer(model: model, optimizer: optimizer, schedule: try StepLR(optimizer, stepSize: 1, gamma: 0.9),
                           trainLoader: DataLoader(dataset: parts.train, batchSize: 24, seed: 5), validation: parts.validation,
                           test: test, configuration: configuration, runIdentity: "spirals")
    }

    /// A valid checkpoint two epochs and three steps in (10 steps per epoch).
    func validCheckpoint() throws -> (Checkpoint, batches: Int) {
        let trainer = try makeTrainer(steps: 2 * 10 + 3)
        XCTAssertEqual(trainer.trainLoader.batchCount, 10)
        _ = try trainer.fit()
        let checkpoint = try Checkpoint.read(from: XCTUnwrap(trainer.checkpointURL))
        XCTAssertEqual(checkpoint.progress.epoch, 2)
        XCTAssertEqual(checkpoint.progress.stepInEpoch, 3)
        XCTAssertEqual(checkpoint.progress.history.count, 3, "two epochs and the open one")
        XCTAssertNotNil(checkpoint.progress.epochMetrics)
        XCTAssertFalse(checkpoint.bestModel.isEmpty, "early stopping's best weights are in the checkpoint")
        return (checkpoint, 10)
    }

    /// Resumes from `checkpoint` written to a file and returns the error message (nil if it resumed).
    func resumeMessage(_ checkpoint: Checkpoint) throws -> String? {
        let url = directory.appendingPathComponent("hostile/checkpoint.safetensors")
        try checkpoint.write(to: url)
        return try resumeMessage(url)
    }

    func resumeMessage(_ url: URL) throws -> String? {
        let trainer = try makeTrainer(name: "other")
        do {
            try trainer.resume(from: url)
            return nil
        } catch let error as NablaError {
            XCTAssertFalse(error.message.contains("\n"))
            XCTAssertTrue(error.message.hasPrefix(url.path + ": "), error.message)
            return error.message
        }
    }

    func testEveryProgressFieldIsRangeAndCrossChecked() throws {
        let (valid, batches) = try validCheckpoint()
        XCTAssertNil(try resumeMessage(valid), "the valid checkpoint resumes")
        let cases: [(String, (inout TrainingProgress) -> Void)] = [
            ("epoch -1 is negative", { $0.epoch = -1 }),
            ("epoch -9223372036854775808 is negative", { $0.epoch = Int.min }),
            ("does not match epoch 9223372036854775807", { $0.epoch = Int.max }),
            ("does not match epoch 3", { $0.epoch = 3 }),
            ("stepInEpoch -3 is outside 0...\(batches)", { $0.stepInEpoch = -3 }),
            ("stepInEpoch 11 is outside 0...\(batches)", { $0.stepInEpoch = 11 }),
            ("stepInEpoch 9223372036854775807 is outside", { $0.stepInEpoch = Int.max }),
            ("globalStep -1 is negative", { $0.globalStep = -1 }),
            ("globalStep -9223372036854775808 is negative", { $0.globalStep = Int.min }),
            ("globalStep 24 does not match epoch 2 × 10 batches + stepInEpoch 3", { $0.globalStep = 24 }),
            ("globalStep 9223372036854775807 does not match", { $0.globalStep = Int.max }),
            ("the run is at epoch 1000001, beyond --epochs 4; resume with at least --epochs 1000001", { $0.epoch = 1_000_000; $0.globalStep = 10_000_003 }),
            ("history has 1 entries for 2 completed epoch(s)", { $0.history.removeLast(2) }),
            ("history has 4 entries", { $0.history.append($0.history[0]) }),
            ("history entry 1 is for epoch 7.0, expected 2", { $0.history[1]["epoch"] = 7 }),
            ("history entry 0 is for epoch nan", { $0.history[0]["epoch"] = .nan }),
            ("history entry 1 has step nan", { $0.history[1]["step"] = .nan }),
            ("history entry 1 has step 1e+300", { $0.history[1]["step"] = 1e300 }),
            ("history entry 1 has step 3.0", { $0.history[1]["step"] = 3 }),
            ("history entry 2 has no train_loss", { $0.history[2]["train_loss"] = nil }),
            ("bestEpoch 0 is outside the 3 epoch(s)", { $0.bestEpoch = 0 }),
            ("bestEpoch 9223372036854775807 is outside", { $0.bestEpoch = Int.max }),
            ("bestEpoch 1 has no bestMetric", { $0.bestEpoch = 1; $0.bestMetric = nil }),
            ("bestEpoch 1 has no bestMetric", { $0.bestEpoch = 1; $0.bestMetric = .nan }),
            ("bestMetric is set without a bestEpoch", { $0.bestEpoch = nil }),
            ("epochsWithoutImprovement -1 is outside 0...3", { $0.epochsWithoutImprovement = -1 }),
            ("epochsWithoutImprovement 99 is outside 0...3", { $0.epochsWithoutImprovement = 99 }),
            ("firstLoss inf is not finite", { $0.firstLoss = .infinity }),
        ]
        for (fragment, mutate) in cases {
            var checkpoint = valid
            mutate(&checkpoint.progress)
            let message = try resumeMessage(checkpoint)
            XCTAssertTrue(message?.contains("checkpoint progress: ") == true && message?.contains(fragment) == true,
                          "expected '\(fragment)', got \(message ?? "no error")")
        }
        // The partial epoch's metrics.
        for (fragment, metrics) in [("epochMetrics.count 9999 is outside 0...72 (the samples of 3 batches)", (9999, 0, 0)),
                                    ("epochMetrics.count -1 is outside", (-1, 0, 0)),
                                    ("epochMetrics counts 50 top-1 and 50 top-5 hits of 40 samples", (40, 50, 50)),
                                    ("epochMetrics counts 5 top-1 and 4 top-5 hits", (40, 5, 4))] {
            var checkpoint = valid
            let json = "{\"loss_sum\": 1.5, \"count\": \(metrics.0), \"correct\": \(metrics.1), \"correct_top5\": \(metrics.2), \"has_classes\": true}"
            checkpoint.progress.epochMetrics = try JSONDecoder().decode(MetricAccumulator.self, from: Data(json.utf8))
            let message = try resumeMessage(checkpoint)
            XCTAssertTrue(message?.contains(fragment) == true, "expected '\(fragment)', got \(message ?? "no error")")
        }
    }

    /// Under `--accumulate N`, `stepInEpoch` counts batches and `globalStep` optimizer steps: one
    /// per group of N batches begun (the last group of an epoch may be short).
    func testGlobalStepCountsAccumulatedSteps() throws {
        let run = RunGeometry(batchesPerEpoch: 8, batchSize: 16, epochs: 5, steps: nil, accumulationSteps: 3)
        XCTAssertEqual((0...8).map(run.steps(afterBatches:)), [0, 1, 1, 1, 2, 2, 2, 3, 3])
        func progress(_ epoch: Int, _ stepInEpoch: Int, _ globalStep: Int) -> TrainingProgress {
            var p = TrainingProgress()
            (p.epoch, p.stepInEpoch, p.globalStep) = (epoch, stepInEpoch, globalStep)
            for e in 0..<epoch {
                let entry: [String: Double] = ["epoch": Double(e + 1), "step": Double(3 * (e + 1)), "train_loss": 1]
                p.history.append(entry)
            }
            return p
        }
        for (epoch, step, global) in [(0, 0, 0), (0, 3, 1), (0, 6, 2), (1, 0, 3), (1, 6, 5), (2, 8, 9)] {
            XCTAssertNoThrow(try progress(epoch, step, global).validate(against: run, source: "c"), "\(epoch) \(step) \(global)")
        }
        for (epoch, step, global) in [(0, 3, 3), (1, 0, 8), (1, 6, 9), (1, 3, 3)] {
            XCTAssertThrowsError(try progress(epoch, step, global).validate(against: run, source: "c")) {
                XCTAssertTrue("\($0)".contains("does not match epoch \(epoch) × 3 steps of 3 batches + stepInEpoch \(step)"), "\($0)")
            }
        }
    }

    func testCountersAndStateEntriesAreChecked() throws {
        let (valid, _) = try validCheckpoint()
        let counter = try XCTUnwrap(valid.integerModelKeys.sorted().first)
        let weight = try XCTUnwrap(valid.model.keys.sorted().first { $0.hasSuffix(".weight") })
        let cases: [(String, (inout Checkpoint) -> Void)] = [
            ("schedule last_epoch 7 does not match the 2 completed epoch(s)", { $0.schedule["last_epoch"] = Tensor(7.0) }),
            ("last_epoch' must be a whole number, got 1e+300", { $0.schedule["last_epoch"] = Tensor(1e300) }),
            ("optimizer state 'state.0.step' is 1000000000000.0, outside 0...23 (the steps taken)", { $0.optimizer["state.0.step"] = Tensor(1e12) }),
            ("optimizer state 'state.0.step' is -1.0", { $0.optimizer["state.0.step"] = Tensor(-1.0) }),
            ("optimizer state 'state.0.step' is nan", { $0.optimizer["state.0.step"] = Tensor(Double.nan) }),
            ("holds parameters [nan]", { $0.optimizer["param_groups.0.params"] = Tensor([Double.nan]) }),
            ("holds parameters [1e+300]", { $0.optimizer["param_groups.0.params"] = Tensor([1e300]) }),
            ("model counter '\(counter)' is -5.0", { $0.model[counter] = Tensor(Float(-5)) }),
            // Saved as a float (a hand-edited file): not a whole number, or not a number at all.
            ("model counter '\(counter)' is 0.5", { $0.integerModelKeys.remove(counter); $0.model[counter] = Tensor(Float(0.5)) }),
            ("model counter '\(counter)' is nan", { $0.integerModelKeys.remove(counter); $0.model[counter] = Tensor(Float.nan) }),
            ("the best weights of epoch", { $0.bestModel = [:] }),
            ("the best weights of epoch", { $0.bestModel[weight] = Tensor(zeros: [1]) }),
            ("checkpoint gradient '\(weight)' of shape [3] does not fit a parameter", { $0.gradients[weight] = Tensor(zeros: [3]) }),
            ("checkpoint gradient 'nope' of shape [1]", { $0.gradients["nope"] = Tensor(zeros: [1]) }),
            ("random generator state is missing module", { $0.generators = [:] }),
            ("which is not a stochastic module", { $0.generators["nope"] = [1, 2, 3, 4] }),
        ]
        for (fragment, mutate) in cases {
            var checkpoint = valid
            mutate(&checkpoint)
            let message = try resumeMessage(checkpoint)
            XCTAssertTrue(message?.contains(fragment) == true, "expected '\(fragment)', got \(message ?? "no error")")
        }
    }

    /// Damage below the checkpoint type: the JSON metadata itself.
    func testMalformedMetadataIsOneLine() throws {
        let (valid, _) = try validCheckpoint()
        let cases: [(String, (inout SafeTensorsFile) -> Void)] = [
            ("progress metadata is missing or malformed", { $0.metadata["nabla.progress"] = #"{"epoch": 1e300}"# }),
            ("progress metadata is missing or malformed", { $0.metadata["nabla.progress"] = #"{"epoch": "two"}"# }),
            ("progress metadata is missing or malformed", { $0.metadata["nabla.progress"] = nil }),
            ("generator state of '1' is all zeros", { $0.metadata["nabla.generators"] = #"{"1": ["0", "0", "0", "0"]}"# }),
            ("generator state of '1' is malformed", { $0.metadata["nabla.generators"] = #"{"1": ["1", "2", "zz", "4"]}"# }),
            ("checkpoint format 2 is not supported", { $0.metadata["nabla.format"] = "2" }),
        ]
        for (fragment, mutate) in cases {
            var file = valid.file()
            mutate(&file)
            let url = directory.appendingPathComponent("hostile/checkpoint.safetensors")
            try file.write(to: url)
            let message = try resumeMessage(url)
            XCTAssertTrue(message?.contains(fragment) == true, "expected '\(fragment)', got \(message ?? "no error")")
        }
    }

    /// NaN and infinities are data: an epoch whose every step was skipped has a NaN training loss,
    /// which the checkpoint stores and reads back, and the run resumes from it.
    func testNonFiniteValuesRoundTripThroughACheckpoint() throws {
        var (checkpoint, _) = try validCheckpoint()
        checkpoint.progress.history[0]["train_loss"] = .nan
        checkpoint.progress.history[1]["val_loss"] = .infinity
        checkpoint.progress.history[1]["test_loss"] = -.infinity
        checkpoint.progress.bestMetric = .infinity
        let url = directory.appendingPathComponent("nan/checkpoint.safetensors")
        try checkpoint.write(to: url)
        let read = try Checkpoint.read(from: url)
        XCTAssertTrue(read.progress.history[0]["train_loss"]!.isNaN)
        XCTAssertEqual(read.progress.history[1]["val_loss"], .infinity)
        XCTAssertEqual(read.progress.history[1]["test_loss"], -.infinity)
        XCTAssertEqual(read.progress.bestMetric, .infinity)
        XCTAssertNil(try resumeMessage(url))

        // A run whose inputs are all infinite skips every step; its epochs are NaN rows, not a crash.
        let (train, _) = try DatasetSource.parse("synthetic:line?n=32").load(seed: 1)
        var inputs = train.inputs
        for i in inputs.scalars.indices { inputs.scalars[i] = .infinity }
        let poisoned = Dataset(name: "poisoned", inputs: inputs, targets: train.targets)
        var generator = RandomGenerator(seed: 2)
        let model = Sequential<Float>([Linear(1, 1, using: &generator)])
        var configuration = TrainerConfiguration()
        configuration.loss = .meanSquaredError
        configuration.quiet = true
        configuration.epochs = 2
        configuration.skipNonFinite = true
        configuration.checkpointDirectory = directory.appendingPathComponent("skipped")
        configuration.logDirectory = directory.appendingPathComponent("skipped/log")
        let trainer = try Trainer(model: model, optimizer: try SGD(model.parameters, learningRate: 0.01),
                                  trainLoader: DataLoader(dataset: poisoned, batchSize: 8), configuration: configuration)
        let result = try trainer.fit()
        XCTAssertEqual(trainer.skippedSteps, 8)
        XCTAssertTrue(result.epochs.allSatisfy { $0.trainLoss.isNaN })
        let saved = try Checkpoint.read(from: XCTUnwrap(trainer.checkpointURL))
        XCTAssertTrue(saved.progress.history.allSatisfy { $0["train_loss"]!.isNaN })
        let csv = try String(contentsOf: directory.appendingPathComponent("skipped/log/metrics.csv"), encoding: .utf8)
        XCTAssertTrue(csv.split(separator: "\n")[1].hasPrefix("1,4,0.01,nan,"), csv)
        let jsonl = try String(contentsOf: directory.appendingPathComponent("skipped/log/metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(jsonl.contains("\"train_loss\": null"), jsonl)
    }
}
