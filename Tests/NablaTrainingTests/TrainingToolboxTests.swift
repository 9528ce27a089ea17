import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// Gradient accumulation, EMA and SWA weight averaging and keep-best checkpoints in training: what
/// they compute, and that a run stopped part-way and resumed ends where an uninterrupted run ends.
final class TrainingToolboxTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-toolbox-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func plan(_ change: (inout TrainingPlan) -> Void = { _ in }) -> TrainingPlan {
        var plan = TrainingPlan(model: .init(name: "fcnet:16,16"), data: .init(spec: "synthetic:spirals?n=40"))
        plan.optimizer = OptimizerSpecification(name: "sgd", hyperparameters: ["lr": 0.1, "momentum": 0.9])
        plan.epochs = 3
        plan.batchSize = 12
        plan.output.quiet = true
        change(&plan)
        return plan
    }

    /// Accumulating 3 batches of 8 is one step on the batch of 24 (the same samples: the epoch's
    /// order does not depend on the batch size), to float summation order — including the short
    /// last group of an epoch (120 samples: groups of 24, 24, 24, 24, 24 vs 15 batches of 8).
    func testAccumulationEqualsTheLargerBatch() throws {
        var big = plan { $0.batchSize = 24; $0.epochs = 2 }
        big.data.spec = "synthetic:spirals?n=40"
        let reference = try big.prepare()
        _ = try reference.trainer.fit()
        for (size, steps) in [(8, 3), (12, 2), (6, 4)] {
            let accumulated = try plan { $0.batchSize = size; $0.accumulationSteps = steps; $0.epochs = 2 }.prepare()
            let result = try accumulated.trainer.fit()
            XCTAssertEqual(accumulated.trainer.progress.globalStep, reference.trainer.progress.globalStep, "optimizer steps")
            for (key, value) in reference.model.stateDict() {
                assertClose(accumulated.model.stateDict()[key]!, value, relative: 1e-4, absolute: 1e-6, "batch \(size) × \(steps): \(key)")
            }
            XCTAssertEqual(result.epochs.last!.trainLoss, try XCTUnwrap(reference.trainer.progress.history.last?["train_loss"]), accuracy: 1e-4)
        }
        // Uneven groups: 120 samples in batches of 16 (7 of 16, one of 8) accumulated by 3 → groups of
        // 48, 48 and 24 samples, the last two batches weighted by their own sizes.
        let uneven = try plan { $0.batchSize = 16; $0.accumulationSteps = 3; $0.epochs = 1; $0.shuffle = false }.prepare()
        XCTAssertEqual((0..<8).map { uneven.trainer.groupSampleCount(containing: $0) }, [48, 48, 48, 48, 48, 48, 24, 24])
        let whole = try plan { $0.batchSize = 48; $0.epochs = 1; $0.shuffle = false }.prepare()
        _ = try uneven.trainer.fit()
        _ = try whole.trainer.fit()
        for (key, value) in whole.model.stateDict() {
            assertClose(uneven.model.stateDict()[key]!, value, relative: 1e-4, absolute: 1e-6, key)
        }
    }

    /// With accumulation a stop request waits for the end of the group, so the checkpoint resumes at
    /// a group boundary and the resumed run equals the uninterrupted one bit for bit.
    func testAccumulatedRunStoppedAndResumedIsExact() throws {
        let reference = try plan { $0.accumulationSteps = 3; $0.batchSize = 4 }.prepare()
        _ = try reference.trainer.fit()
        let checkpointed = plan { $0.accumulationSteps = 3; $0.batchSize = 4; $0.output.checkpointDirectory = directory.path }
        let first = try checkpointed.prepare()
        first.trainer.callbacks.append(RecordingCallback(stopAfterSteps: 4))
        _ = try first.trainer.fit()
        XCTAssertEqual(first.trainer.progress.globalStep, 4)
        XCTAssertEqual(first.trainer.progress.stepInEpoch, 12, "stopped at the end of a group of 3 batches")
        let second = try checkpointed.prepare()
        second.trainer.callbacks.append(RecordingCallback())
        try second.trainer.resume(from: XCTUnwrap(second.trainer.checkpointURL))
        _ = try second.trainer.fit()
        XCTAssertEqual(second.model.stateDict(), reference.model.stateDict())
    }

    /// `--ema`: after every step the callback's average is PyTorch's EMA of the live weights (and
    /// buffers), and `apply(to:)` puts it into the model.
    func testEMAFollowsEveryStep() throws {
        let session = try plan { $0.emaDecay = 0.8; $0.model.normalization = "batchnorm" }.prepare()
        let ema = try XCTUnwrap(session.weightAveraging)
        XCTAssertEqual(ema.name, "ema")
        let reference = try AveragedModel(session.model, rule: .exponential(decay: 0.8), includesBuffers: true)
        final class Follower: TrainingCallback {
            let average: AveragedModel<Float>
            init(_ average: AveragedModel<Float>) { self.average = average }
            var name: String { "follower" }
            func stepDidEnd(_ trainer: Trainer, loss: Double) throws { average.update(from: trainer.model) }
        }
        session.trainer.callbacks.append(Follower(reference))
        _ = try session.trainer.fit()
        XCTAssertEqual(ema.average.averagedCount, 30, "10 steps per epoch")
        XCTAssertEqual(ema.average.modelStateDict, reference.modelStateDict)
        XCTAssertNotEqual(ema.average.modelStateDict, session.model.stateDict())
        try ema.apply(to: session.model)
        XCTAssertEqual(session.model.stateDict(), reference.modelStateDict)
        XCTAssertTrue(ema.summary.hasPrefix("EMA (decay 0.8) of 30 optimizer steps"), ema.summary)
    }

    /// `--swa 2,0.05`: epochs 2 and 3 are averaged (the equal mean of the two end-of-epoch weights),
    /// the learning rate follows SWALR from the end of epoch 2, and update_bn recomputes the
    /// batch-norm statistics of the average at the end.
    func testSWAAveragesTheEpochsAndRecomputesBatchNorm() throws {
        final class Snapshots: TrainingCallback {
            var weights: [[String: Tensor<Float>]] = []
            var rates: [Double] = []
            var name: String { "snapshots" }
            func epochDidEnd(_ trainer: Trainer, report: EpochReport) throws {
                weights.append(trainer.model.stateDict())
                rates.append(trainer.optimizer.learningRate)
            }
        }
        let session = try plan { $0.swa = "2,0.05,2,linear"; $0.model.normalization = "batchnorm"; $0.epochs = 4 }.prepare()
        let snapshots = Snapshots()
        session.trainer.callbacks.insert(snapshots, at: 0)
        _ = try session.trainer.fit()
        let swa = try XCTUnwrap(session.weightAveraging)
        XCTAssertEqual(swa.average.averagedCount, 3)
        XCTAssertTrue(swa.batchNormUpdated)
        for (name, value) in swa.average.parameters {
            let mean = (snapshots.weights[1][name]! + snapshots.weights[2][name]! + snapshots.weights[3][name]!) / 3
            assertClose(value, mean, relative: 1e-5, absolute: 1e-6, name)
        }
        // SWALR (linear, 2 epochs to 0.05), stepped from the end of epoch 2: the rate set at the end of
        // epoch e (for epoch e + 1) — epoch 2 still trains at the regular 0.1, epoch 3 at 0.075.
        for (rate, expected) in zip(snapshots.rates, [0.1, 0.075, 0.05, 0.05]) { XCTAssertEqual(rate, expected, accuracy: 1e-15) }
        // update_bn: the averaged model's statistics are those of a fresh pass over the training batches.
        let check = try plan { $0.model.normalization = "batchnorm" }.prepare()
        try swa.apply(to: check.model)
        updateBatchNormStatistics(of: check.model, inputs: session.trainer.trainLoader.epoch(4).map(\.inputs))
        XCTAssertEqual(check.model.stateDict(), swa.average.modelStateDict)
        XCTAssertNotEqual(swa.average.modelStateDict, session.model.stateDict(), "the live model keeps its own weights")
    }

    /// Stopped mid-run and resumed, weight averaging and keep-best end exactly as uninterrupted
    /// runs: their state travels in the checkpoint, and the averaged weights file is written.
    func testAveragingAndKeepBestResumeExactly() throws {
        for change in [{ (p: inout TrainingPlan) in p.emaDecay = 0.9 }, { $0.swa = "2,0.05" },
                       { $0.keepBest = "val_loss"; $0.keepTopK = 2; $0.data.validationFraction = 0.25 }] {
            let run = directory.appendingPathComponent(UUID().uuidString)
            let full = try plan { change(&$0); $0.epochs = 4; $0.output.checkpointDirectory = run.appendingPathComponent("full").path }.prepare()
            _ = try full.trainer.fit()
            let split = plan { change(&$0); $0.epochs = 4; $0.output.checkpointDirectory = run.appendingPathComponent("split").path }
            let first = try split.prepare()
            first.trainer.callbacks.append(RecordingCallback(stopAfterSteps: 13))
            _ = try first.trainer.fit()
            let second = try split.prepare()
            second.trainer.callbacks.append(RecordingCallback())
            try second.trainer.resume(from: XCTUnwrap(second.trainer.checkpointURL))
            _ = try second.trainer.fit()
            XCTAssertEqual(second.model.stateDict(), full.model.stateDict())
            for (a, b) in zip(full.trainer.callbacks, second.trainer.callbacks) where a.name != "recorder" {
                XCTAssertEqual(a.checkpointState(), b.checkpointState(), a.name)
            }
            if let averaging = full.weightAveraging {
                XCTAssertEqual(second.weightAveraging!.average.modelStateDict, averaging.average.modelStateDict)
                let file = run.appendingPathComponent("split/\(averaging.name).safetensors")
                let saved = try SafeTensorsFile.read(from: file)
                XCTAssertEqual(Set(saved.tensors.keys), Set(full.model.stateKeys))
            }
        }
    }

    /// Keep-best keeps the `K` best epochs by the validation metric, ties to the earlier epoch, files
    /// leaving as their epoch drops out.
    func testKeepBestRanksEpochsByTheValidationMetric() throws {
        let dir = directory.appendingPathComponent("kb")
        let callback = try BestCheckpointCallback(metric: .validationAccuracy, count: 2, directory: dir)
        let session = try plan { $0.data.validationFraction = 0.25 }.prepare()
        func report(_ epoch: Int, _ accuracy: Double?) -> EpochReport {
            var r = EpochReport(epoch: epoch, globalStep: epoch, learningRate: 0.1, trainLoss: 1, seconds: 0)
            r.validationAccuracy = accuracy
            return r
        }
        for (epoch, accuracy) in [(1, 0.5), (2, 0.7), (3, 0.6), (4, 0.7), (5, .nan), (6, nil), (7, 0.65)] as [(Int, Double?)] {
            try callback.epochDidEnd(session.trainer, report: report(epoch, accuracy))
        }
        XCTAssertEqual(callback.kept.map(\.epoch), [2, 4])
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("top-val_accuracy").path).sorted()
        XCTAssertEqual(files, ["epoch-2.safetensors", "epoch-4.safetensors"])
        let best = try SafeTensorsFile.read(from: callback.bestURL)
        XCTAssertEqual(best.metadata["nabla.epoch"], "2")
        let restored = try BestCheckpointCallback(metric: .validationAccuracy, count: 2, directory: dir)
        try restored.restore(checkpointState: callback.checkpointState())
        XCTAssertEqual(restored.kept.map(\.epoch), callback.kept.map(\.epoch))
        XCTAssertThrowsError(try restored.restore(checkpointState: [:]))
        assertNablaError(try BestCheckpointCallback.Metric(parsing: "test_accuracy"), "never selected on the test set")
        assertNablaError(try BestCheckpointCallback.Metric(parsing: "val_f1"), "expected one of val_loss, val_accuracy")
        XCTAssertEqual(try BestCheckpointCallback.Metric(parsing: "val-acc"), .validationAccuracy)
    }

    /// `--loss nll` on a LogSoftmax model is cross-entropy on the logits; class weights reach the loss.
    func testNLLOnLogSoftmaxAndClassWeights() throws {
        let logits = Variable(Tensor<Float>(shape: [4, 3], scalars: [1, 2, 0, -1, 0.5, 2, 0, 0, 1, 3, -2, 0.5]))
        let labels = Targets.classes([1, 2, 0, 0], classCount: 3)
        let nll = try LossFunction(name: "nll", classWeights: [1, 3, 0.5])
        let ce = try LossFunction(name: "cross-entropy", classWeights: [1, 3, 0.5])
        XCTAssertEqual(nll(logits.logSoftmax(alongAxis: 1), labels).value.scalar, ce(logits, labels).value.scalar, accuracy: 1e-6)
        XCTAssertEqual(nll.description, "nll(weight=[1.0, 3.0, 0.5])")
        XCTAssertEqual(ce.classWeights, [1, 3, 0.5])
        XCTAssertThrowsError(try nll.validate(targets: .probabilities(Tensor(zeros: [2, 3])), outputShape: [3])) {
            XCTAssertTrue("\($0)".contains("needs class labels, but the targets are class probabilities"), "\($0)")
        }
        XCTAssertThrowsError(try LossFunction(name: "nll", labelSmoothing: 0.1))
        // Soft targets equal to one-hot rows give the class-index loss.
        let soft = Targets.probabilities(oneHot([1, 2, 0, 0], classCount: 3))
        let plain = try LossFunction(name: "cross-entropy")
        XCTAssertEqual(plain(logits, soft).value.scalar, plain(logits, labels).value.scalar, accuracy: 1e-6)
        XCTAssertNoThrow(try ce.validate(targets: soft, outputShape: [3]))
        // A model file ending in LogSoftmax trains with --loss nll.
        let description = try ModelDescription.parse("layers:\n  - Linear: {in_features: 2, out_features: 3}\n  - LogSoftmax: {dim: 1}", name: "m.yaml")
        var plan = TrainingPlan(model: .init(description: description), data: .init(spec: "synthetic:spirals?n=30"))
        plan.loss = "nll"
        plan.epochs = 2
        plan.output.quiet = true
        let result = try plan.prepare().trainer.fit()
        XCTAssertNotNil(result.epochs.last?.testAccuracy)
    }

    /// Mixup and CutMix batches train through the soft-target loss; a plan refuses what cannot work.
    func testMixingPlansTrainAndRefuseWhatCannotWork() throws {
        let images = plan { $0.cutMixAlpha = 1; $0.mixupAlpha = 0.2; $0.loss = "bce" }
        XCTAssertThrowsError(try images.prepare()) { XCTAssertTrue("\($0)".contains("--cutmix needs images [C, H, W]"), "\($0)") }
        let result = try plan { $0.mixupAlpha = 0.4; $0.classWeights = [1, 2, 1] }.prepare().trainer.fit()
        XCTAssertTrue(result.epochs.allSatisfy { $0.trainLoss.isFinite && $0.trainAccuracy == nil },
                      "soft targets have a loss but no training accuracy")
        let cases: [(String, (inout TrainingPlan) -> Void)] = [
            ("--mixup 0.0: α must be a positive number", { $0.mixupAlpha = 0 }),
            ("--cutmix makes soft targets, which --loss nll cannot train on", { $0.cutMixAlpha = 1; $0.loss = "nll" }),
            ("--ema 1.5: the decay must lie in [0, 1]", { $0.emaDecay = 1.5 }),
            ("--ema and --swa are exclusive", { $0.emaDecay = 0.9; $0.swa = "2" }),
            ("--swa 5: averaging would start after the last epoch (--epochs 3)", { $0.swa = "5" }),
            ("--swa 0: the start epoch '0' must be a whole number ≥ 1", { $0.swa = "0" }),
            ("--swa 2,x: the SWA learning rate 'x'", { $0.swa = "2,x" }),
            ("--swa 2,0.1,3,cube: anneal_strategy must be one of 'cos' or 'linear'", { $0.swa = "2,0.1,3,cube" }),
            ("--accumulate 0 must be at least 1", { $0.accumulationSteps = 0 }),
            ("--keep-top-k needs --keep-best", { $0.keepTopK = 3 }),
            ("--keep-best val_loss needs a validation split", { $0.keepBest = "val_loss"; $0.output.checkpointDirectory = "x" }),
            ("--keep-best needs --checkpoint-dir", { $0.keepBest = "val_loss"; $0.data.validationFraction = 0.2 }),
            ("--class-weights applies to the cross-entropy and nll losses only", { $0.classWeights = [1, 2]; $0.loss = "mse" }),
            ("--class-weights nan: expected one finite number per class", { $0.classWeights = [.nan] }),
        ]
        for (fragment, change) in cases {
            var p = plan()
            change(&p)
            assertNablaError(try p.validate(), fragment)
        }
        assertNablaError(try plan { $0.classWeights = [1, 2] }.prepare(), "--class-weights has 2 weights but the data has 3 classes")
    }
}

/// Settings that cannot be combined without silently computing something else are refused.
final class ToolboxCombinationTests: XCTestCase {
    func testSAMWithAccumulationAndAPerStepScheduleWithAnSWARateAreRefused() throws {
        var plan = TrainingPlan(model: .init(name: "fcnet:8"), data: .init(spec: "synthetic:spirals?n=20"))
        plan.sam = 0.05
        plan.accumulationSteps = 2
        _ = assertNablaError(try plan.validate(), "--sam cannot be combined with --accumulate 2")
        plan.accumulationSteps = 1
        XCTAssertNoThrow(try plan.validate())
        plan.sam = nil
        plan.swa = "2,0.05"
        plan.schedule = "onecycle:0.1"
        _ = assertNablaError(try plan.validate(), "steps every batch")
        plan.swa = "2"            // averaging without an SWA learning rate keeps the per-step schedule
        XCTAssertNoThrow(try plan.validate())
        plan.swa = "2,0.05"
        plan.schedule = "cosine:4"
        XCTAssertNoThrow(try plan.validate())
    }

    /// A per-step schedule spans the run's optimizer steps: batches / --accumulate per epoch.
    func testAPerStepScheduleCountsOptimizerStepsUnderAccumulation() throws {
        var plan = TrainingPlan(model: .init(name: "fcnet:8"), data: .init(spec: "synthetic:spirals?n=20"))
        plan.batchSize = 7
        plan.accumulationSteps = 2
        plan.epochs = 2
        plan.schedule = "onecycle:0.5"
        plan.output.quiet = true
        let session = try plan.prepare()
        let callback = try XCTUnwrap(session.trainer.callbacks.compactMap { $0 as? StepScheduleCallback }.first)
        let schedule = try XCTUnwrap(callback.schedule as? OneCycleLR)
        let batches = session.trainer.trainLoader.batchCount
        XCTAssertEqual(batches % 2, 1, "the test wants an odd batch count: a short last group")
        XCTAssertEqual(schedule.totalSteps, 2 * (batches + 1) / 2)
        _ = try session.trainer.fit()
        XCTAssertEqual(session.trainer.progress.globalStep, schedule.totalSteps)
    }
}
