import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// Divergence advice, test-set hygiene, logs that match the checkpoint, and the memory check of a plan.
final class TrainingSafeguardTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-safeguards-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func plan(_ change: (inout TrainingPlan) -> Void = { _ in }) -> TrainingPlan {
        var plan = TrainingPlan(model: .init(name: "fcnet:16"), data: .init(spec: "synthetic:spirals?n=40"))
        plan.epochs = 3
        plan.batchSize = 30
        plan.output.quiet = true
        change(&plan)
        return plan
    }

    /// At learning rate 10 the loss leaves any sane range within a few steps: the run stops before
    /// the step that would apply it, with the advice, and `--allow-divergence` keeps it going.
    func testALearningRateOfTenStopsWithAdvice() throws {
        let session = try plan {
            $0.optimizer = OptimizerSpecification(name: "sgd", hyperparameters: ["lr": 10, "momentum": 0.9])
            $0.epochs = 30
            $0.output.checkpointDirectory = directory.appendingPathComponent("lr10").path
        }.prepare()
        let message = assertNablaError(try session.trainer.fit(), "training diverged at epoch ", kind: .nonFinite)
        XCTAssertTrue(message?.contains(": its mean training loss ") == true && message?.contains(" is above 5 × max(1, the first step's loss ") == true,
                      message ?? "")
        XCTAssertTrue(message?.contains("lower the learning rate (--lr) or clip gradients (--clip-norm 1), or keep training with --allow-divergence") == true,
                      message ?? "")
        XCTAssertTrue(message?.contains("; the last good checkpoint is \(directory.path)/lr10/checkpoint.safetensors") == true, message ?? "")
        XCTAssertTrue(session.model.parameters.allSatisfy { $0.value.isFinite })

        // The growth rule alone, on a known loss sequence: a step above 1000 × max(1, first loss).
        let trainer = session.trainer
        trainer.progress.firstLoss = 0.5
        XCTAssertNil(trainer.divergence(of: 999))
        guard case .growth(let text)? = trainer.divergence(of: 1001) else { return XCTFail("1001 > 1000 × max(1, 0.5) is divergence") }
        XCTAssertEqual(text, "the loss 1001 is above 1000 × max(1, the first step's loss 0.5)")
        XCTAssertNil(trainer.divergence(ofEpochMean: 4.9))
        XCTAssertNotNil(trainer.divergence(ofEpochMean: 5.1))
        XCTAssertNil(trainer.divergence(ofEpochMean: .nan), "a NaN epoch (every step skipped) is not growth")
        trainer.progress.firstLoss = 3
        XCTAssertNil(trainer.divergence(of: 2999))
        XCTAssertNotNil(trainer.divergence(of: 3001))
        XCTAssertNil(trainer.divergence(ofEpochMean: 14.9))
        guard case .growth(let epochText)? = trainer.divergence(ofEpochMean: 15.5) else { return XCTFail("15.5 > 5 × 3") }
        XCTAssertEqual(epochText, "its mean training loss 15.5 is above 5 × max(1, the first step's loss 3)")

        let allowed = try plan {
            $0.optimizer = OptimizerSpecification(name: "sgd", hyperparameters: ["lr": 10, "momentum": 0.9])
            $0.allowDivergence = true
            $0.skipNonFinite = true
        }.prepare()
        XCTAssertNil(allowed.trainer.configuration.divergenceFactor)
        XCTAssertNil(allowed.trainer.configuration.epochDivergenceFactor)
        XCTAssertEqual(try allowed.trainer.fit().epochs.count, 3, "--allow-divergence with --skip-nonfinite trains to the end")
        // Neither flag changes what a checkpoint must match: a diverged run resumes with them.
        XCTAssertEqual(plan { $0.allowDivergence = true; $0.skipNonFinite = true }.checkpointIdentity, plan().checkpointIdentity)
        XCTAssertNotEqual(plan { $0.allowDivergence = true }.fingerprint, plan().fingerprint)
    }

    /// Early stopping and the plateau schedule never see the test set: without --val-split, 10% of
    /// the training data is held out and the run says so; with no validation set at all, the
    /// trainer monitors the training loss.
    func testSelectionNeverLooksAtTheTestSet() throws {
        for change in [{ (p: inout TrainingPlan) in p.earlyStoppingPatience = 2 }, { $0.schedule = "plateau:0.5:1" }] {
            let session = try plan(change).prepare()
            XCTAssertEqual(session.data.validation?.count, 12, "10% of the 120 spiral samples")
            XCTAssertEqual(session.data.train.count, 108)
            XCTAssertEqual(session.notes.count, 1)
            XCTAssertTrue(session.notes[0].hasPrefix("validation: "), session.notes[0])
            XCTAssertTrue(session.notes[0].contains("monitors 12 of the 120 training samples, held out (10%; --val-split sets the fraction); the test set is only reported"),
                          session.notes[0])
        }
        XCTAssertEqual(try plan { $0.data.validationFraction = 0.25; $0.earlyStoppingPatience = 2 }.prepare().data.validation?.count, 30)
        XCTAssertTrue(try plan().prepare().notes.isEmpty)
        XCTAssertNil(try plan().prepare().data.validation)
        let tiny = try plan { $0.data.trainSubset = 4; $0.earlyStoppingPatience = 2; $0.batchSize = 2 }.prepare()
        XCTAssertNil(tiny.data.validation)
        XCTAssertTrue(tiny.notes.first?.contains("4 training samples are too few to hold some out; early stopping monitors the training loss") == true,
                      "\(tiny.notes)")

        // A trainer given only a test set monitors the training loss.
        let session = try plan { $0.epochs = 4 }.prepare()
        var configuration = session.trainer.configuration
        configuration.earlyStoppingPatience = 10
        let trainer = try Trainer(model: session.model, optimizer: session.trainer.optimizer, trainLoader: session.trainer.trainLoader,
                                  test: session.data.test, configuration: configuration)
        _ = try trainer.fit()
        let best = try XCTUnwrap(trainer.checkpoint().progress.bestEpoch)
        let trainLosses = trainer.progress.history.map { $0["train_loss"]! }
        XCTAssertEqual(trainer.checkpoint().progress.bestMetric, trainLosses[best - 1])
        XCTAssertEqual(trainLosses.min(), trainLosses[best - 1])
    }

    /// A batch-normalization layer cannot train on one value per channel (PyTorch raises at that
    /// step; the layer would trap): a last batch of one sample is refused before the first step,
    /// naming the layer, unless the layer sees spatial positions too; `--drop-last` trains.
    func testABatchOfOneSampleIsRefusedBeforeTrainingWhereBatchNormCannotTakeIt() throws {
        let normalized = { (p: inout TrainingPlan) in p.model = .init(name: "fcnet:8"); p.model.normalization = "batchnorm" }
        let session = try plan { normalized(&$0); $0.batchSize = 17 }.prepare()
        XCTAssertEqual(session.data.train.count % 17, 1, "120 spiral samples leave one for the last batch")
        assertNablaError(try session.trainer.fit(),
                         "--batch-size 17: the last batch of each epoch holds 1 of the 120 training samples, and BatchNorm1d layer '2' needs more than 1 value per channel when training (it would get [1, 8]); use --drop-last or another batch size (PyTorch refuses such a batch too)",
                         kind: .invalidArgument)
        XCTAssertEqual(session.trainer.progress.globalStep, 0)
        assertNablaError(try plan { normalized(&$0); $0.batchSize = 1 }.prepare().trainer.fit(),
                         "--batch-size 1: BatchNorm1d layer '2' needs more than 1 value per channel when training, and gets [1, 8]; use a batch size of at least 2 (PyTorch refuses such a batch too)",
                         kind: .invalidArgument)
        XCTAssertEqual(try plan { normalized(&$0); $0.batchSize = 17; $0.dropLast = true; $0.epochs = 1 }.prepare().trainer.fit().epochs.count, 1)
        XCTAssertEqual(try plan { normalized(&$0); $0.batchSize = 16; $0.epochs = 1 }.prepare().trainer.fit().epochs.count, 1)

        // BatchNorm2d on 3×3 feature maps has 9 values per channel in a one-sample batch: it trains,
        // and the shape-finding pass leaves the model and its random state as they were.
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let images = directory.appendingPathComponent("images.safetensors"), model = directory.appendingPathComponent("bn2d.yaml")
        try SafeTensorsFile(tensors: ["x": SafeTensor(Tensor<Float>(shape: [9, 1, 3, 3], scalars: (0..<81).map { Float($0 % 7) })),
                                      "y": SafeTensor(int64: (0..<9).map { Int64($0 % 2) }, shape: [9])]).write(to: images)
        try """
            layers:
              - Conv2d: {in_channels: 1, out_channels: 2, kernel_size: 3, padding: 1}
              - BatchNorm2d: {num_features: 2}
              - Dropout: {p: 0.5}
              - Flatten: {}
              - Linear: {in_features: 18, out_features: 2}
            """.write(to: model, atomically: true, encoding: .utf8)
        var spatialPlan = TrainingPlan(model: .init(name: model.path), data: .init(spec: images.path))
        (spatialPlan.batchSize, spatialPlan.epochs, spatialPlan.output.quiet) = (4, 1, true)
        let spatial = try spatialPlan.prepare()
        let state = spatial.model.stateDict(), generators = spatial.model.randomGeneratorStates().mapValues(\.words)
        XCTAssertNoThrow(try spatial.trainer.checkBatchNormalizationBatches())
        XCTAssertEqual(spatial.model.stateDict(), state)
        XCTAssertEqual(spatial.model.randomGeneratorStates().mapValues(\.words), generators)
        XCTAssertTrue(spatial.model.isTraining)
        XCTAssertEqual(try spatial.trainer.fit().epochs.count, 1)
    }

    /// On start, the logs are cut back to the checkpoint: rows and events logged after it, a record
    /// cut short by a kill, and a fresh run's predecessors are gone; the rest stays byte for byte.
    func testLogsAreRebuiltToMatchTheCheckpoint() throws {
        let log = directory.appendingPathComponent("log")
        var progress = TrainingProgress()
        progress.epoch = 2
        progress.globalStep = 20
        progress.history = [["epoch": 1, "step": 10, "lr": 0.1, "train_loss": 0.5, "seconds": 1],
                            ["epoch": 2, "step": 20, "lr": 0.1, "train_loss": .nan, "seconds": 1]]
        // What a killed run left: three epochs of rows and events, and half of a fourth event.
        try FileManager.default.createDirectory(at: log, withIntermediateDirectories: true)
        try "epoch,step\n1,10\n2,20\n3,30\n".write(to: log.appendingPathComponent("metrics.csv"), atomically: true, encoding: .utf8)
        try "{\"epoch\": 1}\n{\"epoch\": 2}\n{\"epoch\": 3}\n{\"epo".write(to: log.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        let old = try SummaryWriter(logDirectory: log, filenameSuffix: ".old")
        for step in [10, 20, 30] { try old.addScalar("loss/train", value: Double(step), step: step) }
        try old.close()
        var bytes = try Data(contentsOf: old.fileURL)
        let whole = bytes.count
        bytes += TFRecord.frame(TensorBoardEvent(wallTime: 0, step: 40, payload: .summary([.scalar(tag: "loss/train", value: 4)])).encoded).prefix(20)
        try bytes.write(to: old.fileURL)
        let stale = try SummaryWriter(logDirectory: log, filenameSuffix: ".stale")
        try stale.addScalar("loss/train", value: 3, step: 30)
        try stale.close()

        let logger = try TrainingLogger(directory: log, progress: progress)
        logger.close()
        let csv = try String(contentsOf: log.appendingPathComponent("metrics.csv"), encoding: .utf8)
        XCTAssertEqual(csv, "epoch,step,lr,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,test_top5_accuracy,seconds\n"
                       + "1,10,0.1,0.5,,,,,,,1.0\n2,20,0.1,nan,,,,,,,1.0\n")
        let jsonl = try String(contentsOf: log.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertEqual(jsonl.split(separator: "\n").count, 2)
        XCTAssertTrue(jsonl.contains("\"train_loss\": null"))
        // The old event file keeps steps 10 and 20 (the header too), the stale one is gone.
        let records = try TFRecord.records(contentsOf: old.fileURL)
        XCTAssertEqual(records.compactMap { TensorBoardLogTrimmer.summaryStep(of: $0) }, [10, 20])
        XCTAssertNil(TensorBoardLogTrimmer.summaryStep(of: records[0]), "the file-version header stays")
        XCTAssertLessThan(try Data(contentsOf: old.fileURL).count, whole)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.fileURL.path))

        // A checkpoint written after step 20 but before epoch 2's end-of-epoch work drops its events.
        var window = progress
        window.history.removeLast()
        window.epoch = 1
        window.stepInEpoch = 10
        try TrainingLogger(directory: log, progress: window).close()
        XCTAssertEqual(try TFRecord.records(contentsOf: old.fileURL).compactMap { TensorBoardLogTrimmer.summaryStep(of: $0) }, [10])
        // A fresh run starts the logs over.
        try TrainingLogger(directory: log, progress: TrainingProgress()).close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: old.fileURL.path))
        XCTAssertEqual(try String(contentsOf: log.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n").count, 1)
    }

    /// The plan's memory check: a layer too large for the budget is refused before it is built,
    /// naming it; test-time augmentation's padding counts; evaluation batches shrink to fit.
    func testPrepareRefusesWhatDoesNotFitTheMemoryBudget() throws {
        let wide = try ModelDescription.parse("""
            layers:
              - Conv2d: {in_channels: 1, out_channels: 100000, kernel_size: 3, padding: 1}
              - ReLU: {}
              - AdaptiveAvgPool2d: {output_size: 1}
              - Flatten: {}
              - Linear: {in_features: 100000, out_features: 3}
            """, name: "wide.yaml")
        let images = directory.appendingPathComponent("images.safetensors")
        var generator = RandomGenerator(seed: 1)
        try SafeTensorsFile(tensors: ["x": SafeTensor(Tensor<Float>(normal: [64, 1, 28, 28], using: &generator)),
                                      "y": SafeTensor(int64: (0..<64).map { Int64($0 % 3) }, shape: [64]),
                                      "x_test": SafeTensor(Tensor<Float>(normal: [8, 1, 28, 28], using: &generator)),
                                      "y_test": SafeTensor(int64: (0..<8).map { Int64($0 % 3) }, shape: [8])]).write(to: images)
        var huge = TrainingPlan(model: .init(description: wide), data: .init(spec: images.path))
        huge.batchSize = 32
        let gigabytes = MemoryBudget(bytes: 8 << 30, origin: "--max-memory 8G")
        try MemoryBudget.$current.withValue(gigabytes) {
            let started = Date()
            assertNablaError(try huge.prepare(), "--model wide.yaml at batch size 32: needs about ",
                             "largest: layer 0 (Conv2d) with output [100000, 28, 28] per sample, 9.35 GiB of activations at batch size 32",
                             "more than the memory cap of 8.00 GiB (--max-memory 8G)", kind: .invalidArgument)
            XCTAssertLessThan(Date().timeIntervalSince(started), 30, "refused before anything was allocated")

            var tta = TrainingPlan(model: .init(name: "lenet"), data: .init(spec: images.path))
            tta.testTimeAugmentation = "ten-crop:4096"
            XCTAssertNoThrow(try tta.prepare(), "8 images padded by 4096 take about 4 GiB")
            tta.testTimeAugmentation = "ten-crop:4096"
            try MemoryBudget.$current.withValue(MemoryBudget(bytes: 1 << 30, origin: "--max-memory 1G")) {
                assertNablaError(try tta.prepare(), "--tta ten-crop:4096: needs about ", "8 test images at a time, padded to 1×8220×8220")
            }
        }

        // Under a budget that fits training at batch size 4 but not evaluation in batches of 64,
        // evaluation takes smaller batches instead of failing.
        var small = TrainingPlan(model: .init(name: "lenet"), data: .init(spec: images.path))
        small.batchSize = 4
        XCTAssertEqual(try small.prepare().trainer.configuration.evaluationBatchSize, 64)
        let lenet = try BuiltinModels.resolve("lenet", inputShape: [1, 28, 28], outputCount: 3, options: .init())
            .memoryEstimate(inputShape: [1, 28, 28])
        let data = 4 * (72 * 784 + 72)
        let training = lenet.training(batchSize: 4, optimizerSlots: 0, threads: Parallelism.threadCount).adding(data)
        let evaluation = lenet.inference(batchSize: 64, threads: Parallelism.threadCount).adding(data)
        XCTAssertLessThan(training, evaluation)
        let between = MemoryBudget(bytes: (training + evaluation) / 2, origin: "between")
        let tight = try MemoryBudget.$current.withValue(between) { try small.prepare().trainer.configuration.evaluationBatchSize }
        XCTAssertLessThan(tight, 64)
        XCTAssertGreaterThanOrEqual(tight, 1)
        XCTAssertLessThanOrEqual(lenet.inference(batchSize: tight, threads: Parallelism.threadCount).adding(data), between.bytes)
        try MemoryBudget.$current.withValue(MemoryBudget(bytes: training - 1, origin: "--max-memory tiny")) {
            assertNablaError(try small.prepare(), "--model lenet at batch size 4: needs about", "(--max-memory tiny)")
        }
    }
}
