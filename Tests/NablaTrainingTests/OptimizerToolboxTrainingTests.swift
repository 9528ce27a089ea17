import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// The #21 optimization toolbox inside the trainer: per-step schedules stepped by a callback over
/// the run's optimizer steps, SAM's second pass, Lookahead, exact resume with all of them; and the
/// learning-rate range test on a tiny net.
final class OptimizerToolboxTrainingTests: XCTestCase {
    func plan(_ change: (inout TrainingPlan) -> Void = { _ in }) -> TrainingPlan {
        var plan = TrainingPlan(model: .init(name: "fcnet:8"), data: .init(spec: "synthetic:spirals?n=20"))
        plan.optimizer = OptimizerSpecification(name: "sgd", hyperparameters: ["lr": 0.1, "momentum": 0.9])
        plan.epochs = 2
        plan.batchSize = 20
        plan.output.quiet = true
        change(&plan)
        return plan
    }

    /// onecycle spans the run's 6 optimizer steps (2 epochs × 3 batches) and is stepped after each
    /// of them by a callback; the trainer has no epoch schedule then.
    func testAPerStepScheduleIsSteppedAfterEveryOptimizerStep() throws {
        let session = try plan { $0.schedule = "onecycle:0.5" }.prepare()
        XCTAssertNil(session.trainer.schedule)
        let callback = try XCTUnwrap(session.trainer.callbacks.first as? StepScheduleCallback)
        let schedule = try XCTUnwrap(callback.schedule as? OneCycleLR)
        XCTAssertEqual(schedule.totalSteps, 6)
        XCTAssertEqual(session.trainer.optimizer.learningRate, 0.5 / 25, accuracy: 1e-15)
        _ = try session.trainer.fit()
        XCTAssertEqual(schedule.lastEpoch, 6)
        // A reference OneCycleLR stepped 6 times by hand ends at the same rate and momentum.
        let sgd = try SGD([Variable(Tensor<Float>([0]), requiresGradient: true)], learningRate: 0.1, momentum: 0.9)
        let reference = try OneCycleLR(sgd, maximumLearningRates: [0.5], totalSteps: 6)
        for _ in 0..<6 { reference.step() }
        XCTAssertEqual(session.trainer.optimizer.learningRate, sgd.learningRate)
        XCTAssertEqual(session.trainer.optimizer.hyperparameter("momentum", group: 0), .number(sgd.groupOptions[0].momentum))
        // --steps sets the span instead of the epochs.
        let steps = try plan { $0.schedule = "cyclic:0.01:0.1:2"; $0.steps = 5 }.prepare()
        XCTAssertTrue(steps.trainer.callbacks.first is StepScheduleCallback)
        XCTAssertNil(steps.trainer.schedule)
        // Per-epoch schedules stay the trainer's.
        XCTAssertNotNil(try plan { $0.schedule = "cosine-restarts:2:2" }.prepare().trainer.schedule)
    }

    /// A run with SAM around Lookahead around NAdam and a one-cycle schedule, stopped after 4 steps
    /// and resumed from its checkpoint, ends with the weights of the run that never stopped.
    func testStopAndResumeIsExactWithWrappersAndAPerStepSchedule() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-toolbox-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        func toolbox(_ plan: inout TrainingPlan) {
            plan.optimizer = OptimizerSpecification(name: "nadam", hyperparameters: ["lr": 0.01, "weight_decay": 0.01])
            plan.sam = 0.05
            plan.lookahead = LookaheadSetting(syncPeriod: 3, alpha: 0.5)
            plan.schedule = "onecycle:0.05"
        }
        let reference = try plan(toolbox).prepare()
        _ = try reference.trainer.fit()

        let first = try plan { toolbox(&$0); $0.output.checkpointDirectory = directory.path }.prepare()
        first.trainer.callbacks.append(RecordingCallback(stopAfterSteps: 4))
        _ = try first.trainer.fit()
        XCTAssertEqual(first.trainer.progress.globalStep, 4)

        let second = try plan { toolbox(&$0); $0.output.checkpointDirectory = directory.path }.prepare()
        second.trainer.callbacks.append(RecordingCallback())
        try second.trainer.resume(from: second.trainer.checkpointURL!)
        _ = try second.trainer.fit()
        XCTAssertEqual(second.model.stateDict(), reference.model.stateDict())
        XCTAssertEqual(second.trainer.optimizer.stateDict(), reference.trainer.optimizer.stateDict())
        let saved = try Checkpoint.read(from: second.trainer.checkpointURL!)
        XCTAssertNotNil(saved.callbacks["schedule"]?["last_epoch"])
        XCTAssertNotNil(saved.optimizer["state.0.lookahead_slow_buff"])
        XCTAssertNotNil(saved.optimizer["param_groups.0.rho"])
    }

    /// SAM takes its step from the gradient at the perturbed weights, so its run differs from the
    /// base optimizer's; with ρ = 0 the perturbation vanishes and the runs agree exactly.
    func testSAMUsesTheSecondGradientAndReducesToItsBaseAtZeroRadius() throws {
        let plain = try plan().prepare()
        _ = try plain.trainer.fit()
        let zero = try plan { $0.sam = 0 }.prepare()
        _ = try zero.trainer.fit()
        XCTAssertEqual(zero.model.stateDict(), plain.model.stateDict())
        let sam = try plan { $0.sam = 0.5 }.prepare()
        _ = try sam.trainer.fit()
        XCTAssertNotEqual(sam.model.stateDict(), plain.model.stateDict())
    }

    func testLearningRateFinderSweepsAndLeavesModelAndOptimizerUntouched() throws {
        let session = try plan { $0.optimizer = OptimizerSpecification(name: "adam"); $0.batchSize = 10 }.prepare()
        let before = session.model.stateDict(), optimizerBefore = session.trainer.optimizer.stateDict()
        var finder = LearningRateFinder()
        finder.start = 1e-5
        finder.end = 1
        finder.steps = 40          // 6 batches per epoch: the sweep runs through several epochs
        let sweep = try finder.run(model: session.model, optimizer: session.trainer.optimizer,
                                   loader: session.trainer.trainLoader, loss: session.loss)
        XCTAssertEqual(session.model.stateDict(), before)
        XCTAssertEqual(session.trainer.optimizer.stateDict(), optimizerBefore)
        XCTAssertGreaterThan(sweep.learningRates.count, 20)
        XCTAssertEqual(sweep.learningRates[0], 1e-5)
        for i in 1..<sweep.learningRates.count {
            XCTAssertEqual(sweep.learningRates[i] / sweep.learningRates[i - 1], Foundation.pow(1e5, 1.0 / 39), accuracy: 1e-9)
        }
        XCTAssertEqual(sweep.smoothedLosses[0], sweep.losses[0], accuracy: 1e-12)     // bias-corrected
        let suggestion = try XCTUnwrap(sweep.suggestion)
        XCTAssertTrue(suggestion > 1e-5 && suggestion < 1, "\(suggestion)")
        XCTAssertTrue(sweep.terminalPlot().contains("*"))
        XCTAssertTrue(sweep.csv.hasPrefix("lr,loss,smoothed_loss\n"))

        var bad = LearningRateFinder()
        bad.end = 1e-8
        assertNablaError(try bad.validate(), "needs 0 < start < end")
    }

    /// The rule: steepest descent of the smoothed loss in log(lr) before the minimum, skipping the
    /// first tenth; and the early stop when the smoothed loss explodes.
    func testSuggestionRuleAndDivergenceStop() throws {
        var sweep = LearningRateSweep(rule: LearningRateFinder.rule)
        sweep.learningRates = (0..<20).map { Foundation.pow(10, -6 + Double($0) * 0.25) }
        // Flat, a steep fall around index 8, a minimum at 14, then a rise.
        sweep.smoothedLosses = [2, 2, 2, 2, 2, 2, 1.8, 1.6, 1.1, 1.2, 1.0, 0.8, 0.6, 0.4, 0.4, 1.4, 2.4, 3.4, 4.4, 5.4]
        sweep.losses = sweep.smoothedLosses
        XCTAssertEqual(sweep.suggestion, sweep.learningRates[7], "the biggest central difference straddles the dip at 8")
        XCTAssertEqual(sweep.minimumOverTen!, sweep.learningRates[13] / 10, accuracy: 1e-15)
        sweep.smoothedLosses = Array(repeating: 1, count: 20)
        XCTAssertNil(sweep.suggestion, "no fall, no suggestion")

        let session = try plan { $0.optimizer = OptimizerSpecification(name: "sgd") }.prepare()
        var finder = LearningRateFinder()
        finder.start = 1e-3
        finder.end = 1e6
        finder.steps = 60
        let diverged = try finder.run(model: session.model, optimizer: session.trainer.optimizer,
                                      loader: session.trainer.trainLoader, loss: session.loss)
        XCTAssertLessThan(diverged.learningRates.count, 60)
        XCTAssertNotNil(diverged.stopReason)
    }
}
