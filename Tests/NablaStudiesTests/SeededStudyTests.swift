import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaData
@testable import NablaTraining
@testable import NablaStudies
import NablaTestSupport

/// The seeded-study protocol end to end on tiny generated data: pairing (same seed ⇒ same split,
/// first batch and initial weights in every variant), tuning on validation only, verdicts, the
/// report's elements, results.json, and the cache (an interrupted study resumes; more seeds train
/// only the new runs).
final class SeededStudyTests: XCTestCase {
    /// 120 training and 80 test images of the synthetic set, saved where a worker can read them.
    func tinyData() throws -> StudyData {
        let directory = try DataTestSupport.temporaryDirectory(self)
        return try StudyData.load(spec: StudyData.syntheticSpec, trainSubset: 120, testSubset: 80, seed: 0,
                                  syntheticFile: directory.appendingPathComponent("images.safetensors"))
    }

    func tinyConfiguration() -> RegularizationStudyConfiguration {
        var c = RegularizationStudyConfiguration()
        c.hidden = [16]
        c.epochs = 2
        c.batchSize = 16
        c.seedCount = 3
        c.variants = ["baseline", "l2-decay", "dropout", "batchnorm", "augmentation"]
        c.includesLine = false
        c.includesInitialization = false
        return c
    }

    func testSeedIGivesEveryVariantTheSameSplitFirstBatchAndInitialWeights() throws {
        let data = try tinyData()
        let study = try RegularizationStudy.mlpStudy(tinyConfiguration(), data: data, runsDirectory: nil)
        var firstWeightsBySeed: [[Float]] = []
        for seed in study.seeds {
            let sessions = try study.variants.map { variant in
                try study.job(variant, variant.textbook, seed: seed, tuning: false).plan.prepare(loaded: (data.train, nil))
            }
            let reference = sessions[0]
            let referenceBatch = try XCTUnwrap(Array(reference.trainer.trainLoader.epoch(0)).first)
            let referenceWeights = reference.model.decayableParameters().map(\.value)
            for (variant, session) in zip(study.variants, sessions).dropFirst() {
                XCTAssertEqual(session.data.validation?.inputs, reference.data.validation?.inputs, "\(variant.key) seed \(seed): validation split")
                XCTAssertEqual(session.data.train.inputs, reference.data.train.inputs, "\(variant.key) seed \(seed): training part")
                let batch = try XCTUnwrap(Array(session.trainer.trainLoader.epoch(0)).first)
                XCTAssertEqual(batch.targets, referenceBatch.targets, "\(variant.key) seed \(seed): first batch order")
                if session.plan.augmentation == nil {
                    XCTAssertEqual(batch.inputs, referenceBatch.inputs, "\(variant.key) seed \(seed): first batch")
                } else {
                    XCTAssertNotEqual(batch.inputs, referenceBatch.inputs, "\(variant.key): augmentation should change the batch")
                }
                // Dropout and BatchNorm layers do not shift the weights' initialization stream.
                XCTAssertEqual(session.model.decayableParameters().map(\.value), referenceWeights, "\(variant.key) seed \(seed): initial weights")
            }
            firstWeightsBySeed.append(referenceWeights[0].scalars)
        }
        XCTAssertNotEqual(firstWeightsBySeed[0], firstWeightsBySeed[1], "different seeds must start from different weights")
        XCTAssertTrue(Set(study.seeds).isDisjoint(with: study.tuningSeeds))
    }

    func testEveryVariantGetsTheSameTuningBudget() throws {
        let data = try tinyData()
        for grid in [RegularizationStudyConfiguration.Grid.small, .full] {
            var c = tinyConfiguration()
            c.grid = grid
            c.variants = nil
            let study = try RegularizationStudy.mlpStudy(c, data: data, runsDirectory: nil)
            XCTAssertEqual(Set(study.variants.map(\.grid.count)).count, 1, "\(grid)")
            XCTAssertNoThrow(try study.validate())
            for variant in study.variants {
                XCTAssertEqual(Set(variant.grid).count, variant.grid.count, "\(variant.key): repeated grid points")
                XCTAssertTrue(variant.grid.allSatisfy { $0["lr"] != nil }, "\(variant.key): the learning rate is tuned")
            }
        }
        var study = try RegularizationStudy.mlpStudy(tinyConfiguration(), data: data, runsDirectory: nil)
        study.variants[1].grid.removeLast()
        assertNablaError(try study.validate(), "equal budgets")
        study = try RegularizationStudy.mlpStudy(tinyConfiguration(), data: data, runsDirectory: nil)
        study.tuningSeeds = [study.seeds[0]]
        assertNablaError(try study.validate(), "overlap the final seeds")
    }

    func testVerdictsFollowThePairedDifferencesAndHolm() throws {
        let family = ComparisonFamily(name: "f", question: "?", baseline: "b", members: ["up", "down", "noise", "flat"])
        let base = [0.80, 0.82, 0.79, 0.81, 0.83]
        func row(_ key: String, _ values: [Double]) -> StudyComparison.Row {
            StudyComparison.Row(key: key, name: key, setting: VariantSetting([]), values: values)
        }
        let comparison = try StudyComparison(
            name: "t", family: family, setting: .tuned, metric: .testAccuracy, seeds: [0, 1, 2, 3, 4], baseline: row("b", base),
            members: [row("up", zip(base, [0.010, 0.012, 0.011, 0.009, 0.010]).map { $0 + $1 }),
                      row("down", zip(base, [-0.020, -0.018, -0.022, -0.019, -0.021]).map { $0 + $1 }),
                      row("noise", zip(base, [0.05, -0.04, 0.03, -0.05, 0.02]).map { $0 + $1 }),
                      row("flat", base)])
        let labels = comparison.members.map { $0.verdict?.label }
        XCTAssertEqual(labels, [.better, .worse, .noDetectableDifference, .noDetectableDifference])
        for member in comparison.members {
            let c = try XCTUnwrap(member.comparison)
            if member.verdict?.label != .noDetectableDifference {
                XCTAssertTrue(try XCTUnwrap(c.interval).excludesZero, member.key)
            }
            // Holm: the adjusted p is at least the raw p and at most 1.
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(member.verdict?.adjustedPValue), try XCTUnwrap(c.pValue) - 1e-15)
        }
        XCTAssertEqual(comparison.members[0].comparison!.meanDifference, 0.0104, accuracy: 1e-12)
        // Accuracy is higher-is-better; the gap is lower-is-better: the same differences read the other way.
        let gap = try StudyComparison(name: "g", family: family, setting: .tuned, metric: .generalizationGap, seeds: [0, 1, 2, 3, 4],
                                      baseline: comparison.baseline, members: comparison.members)
        XCTAssertEqual(gap.members.map { $0.verdict?.label }, [.worse, .better, .noDetectableDifference, .noDetectableDifference])
    }

    func testCalibrationErrorOfKnownPredictions() {
        // Two bins: confidences 0.9 (right 3 of 4 → |0.75 − 0.9| = 0.15) and 0.6 (right 1 of 2 → 0.1).
        let ece = expectedCalibrationError(confidences: [0.9, 0.9, 0.9, 0.9, 0.6, 0.6], correct: [true, true, true, false, true, false], bins: 10)
        XCTAssertEqual(ece, (4 * 0.15 + 2 * 0.1) / 6, accuracy: 1e-12)
        XCTAssertEqual(expectedCalibrationError(confidences: [1, 1], correct: [true, true]), 0)
        XCTAssertEqual(expectedCalibrationError(confidences: [0.55, 0.95], correct: [false, false], bins: 15), 0.75, accuracy: 1e-12)
        XCTAssertEqual(expectedCalibrationError(confidences: [], correct: []), 0)
    }

    /// Runs the tiny study through an engine and returns the result and the engine.
    func runStudy(_ c: RegularizationStudyConfiguration, data: StudyData, executor: StudyExecutor, cache: URL?, output: URL?) throws
        -> (RegularizationStudy.Result, StudyEngine) {
        let engine = StudyEngine(executor: executor, cache: cache.map(StudyResultCache.init), progress: StudyProgress(quiet: true))
        return (try RegularizationStudy.run(c, mlpData: data, cnnData: nil, engine: engine, outputDirectory: output), engine)
    }

    func testTheStudyTunesOnValidationAndReportsEveryElement() throws {
        let data = try tinyData()
        let output = try DataTestSupport.temporaryDirectory(self)
        let c = tinyConfiguration()
        let (result, engine) = try runStudy(c, data: data, executor: InProcessStudyExecutor(), cache: output.appendingPathComponent("cache"), output: output)
        let outcome = try XCTUnwrap(result.regimes.first)
        XCTAssertEqual(outcome.variants.map(\.key), c.variants)
        for variant in outcome.variants {
            // Tuning never looked at the test split; final runs did, once each.
            XCTAssertEqual(variant.trials.count, 4)
            let tuned = try XCTUnwrap(variant.tuned)
            XCTAssertEqual(tuned.setting, SeededStudyOutcome.select(variant.trials))
            XCTAssertEqual(tuned.runs.count, c.seedCount)
            XCTAssertTrue(tuned.runs.allSatisfy { $0.test?.count == 80 && $0.epochs.count == c.epochs })
            XCTAssertTrue(tuned.runs.allSatisfy { $0.epochs.allSatisfy { $0.validationAccuracy != nil && $0.trainAccuracy != nil } })
            XCTAssertEqual(Set(tuned.plans.map(\.seed)), Set(c.seeds))
        }
        let expectedRuns = 5 * 4 + outcome.variants.reduce(0) { $0 + ($1.tuningChangedTheSetting ? 2 : 1) } * c.seedCount
        XCTAssertEqual(engine.trainedCount, expectedRuns)

        let comparisons = try result.comparisons()
        XCTAssertEqual(Set(comparisons.map(\.metric.name)), ["test_accuracy", "train_minus_test_accuracy", "test_ece"])
        let html = result.report(command: "nabla study regularization", outputDirectory: output, comparisons: comparisons).render()
        for fragment in ["<ul class=\"takeaways\">", "<title>Overfitting regime (MLP, 120 images): test accuracy − Baseline</title>",
                         "validation accuracy (mean and 95% CI over seeds)</title>", "confusion matrix (test split", "test accuracy per class",
                         "‖W‖ of weight layer 1", "Train − test accuracy gap</title>", "Calibration error (ECE, test split)</title>",
                         "Weight sparsity after training</title>", "<details>", "Repeat the tuned run of seed 0", "Method and sources",
                         "Srivastava, N., Hinton, G.", "Holm, S. (1979)", "difference (points)"] {
            XCTAssertTrue(html.contains(fragment), "report lacks \(fragment)")
        }
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "the report must not fetch anything")

        let file = result.resultsFile(command: "nabla study regularization", comparisons: comparisons)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(file.json.utf8)) as? [String: Any])
        let studies = try XCTUnwrap(json["studies"] as? [[String: Any]])
        XCTAssertEqual(studies.count, comparisons.count)
        for study in studies {
            for key in ["name", "metric", "higher_is_better", "baseline", "variants"] { XCTAssertNotNil(study[key], key) }
            for variant in try XCTUnwrap(study["variants"] as? [[String: Any]]) {
                let runs = try XCTUnwrap(variant["runs"] as? [[String: Any]])
                XCTAssertEqual(runs.count, c.seedCount)
                XCTAssertTrue(runs.allSatisfy { $0["seed"] != nil && $0["split"] as? String == study["split"] as? String && $0["value"] != nil })
                if variant["name"] as? String == study["baseline"] as? String {
                    XCTAssertTrue(variant["verdict"] is NSNull || variant["verdict"] == nil)
                    continue
                }
                let verdict = try XCTUnwrap(variant["verdict"] as? [String: Any])
                for key in ["label", "difference", "interval", "p_value", "test"] { XCTAssertNotNil(verdict[key], key) }
                XCTAssertTrue(["better", "worse", "no detectable difference"].contains(verdict["label"] as? String ?? ""))
                if let selection = variant["selection"] as? [String: Any] {
                    XCTAssertEqual(selection["split"] as? String, "validation")
                }
            }
        }
        // TensorBoard: one directory per variant, setting and seed with an HParams session, the experiment at the top.
        let runs = output.appendingPathComponent("runs")
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: runs.path).contains { $0.hasSuffix(StudyTensorBoard.fileSuffix) })
        let tuned = try XCTUnwrap(outcome.variant("dropout")?.tuned)
        let seedDirectory = SeededStudy.runDirectory(runs: runs, study: "mlp", tuning: false, variant: "dropout", setting: tuned.setting, seed: 1)
        let files = try FileManager.default.contentsOfDirectory(atPath: seedDirectory.path)
        XCTAssertTrue(files.contains { $0.hasPrefix("events.out.tfevents.") && !$0.hasSuffix(StudyTensorBoard.fileSuffix) }, "\(files)")
        XCTAssertTrue(files.contains { $0.hasSuffix(StudyTensorBoard.fileSuffix) }, "\(files)")
    }

    /// An executor that stops (throws) after `budget` jobs, like a study killed part-way, and counts what it ran.
    final class CountingExecutor: StudyExecutor {
        let inner = InProcessStudyExecutor()
        var budget: Int?
        private(set) var executed: [String] = []
        init(budget: Int? = nil) { self.budget = budget }
        var summary: String { "counting" }
        func execute(_ jobs: [StudyJob], report: (Int, StudyJobEvent) throws -> Void) throws {
            for (index, job) in jobs.enumerated() {
                if let budget, executed.count >= budget { throw NablaError(.io, "interrupted") }
                executed.append(job.id)
                try inner.execute([job]) { _, event in try report(index, event) }
            }
        }
    }

    func testAnInterruptedStudyResumesAndMoreSeedsTrainOnlyTheNewRuns() throws {
        let data = try tinyData()
        var c = tinyConfiguration()
        c.variants = ["baseline", "dropout"]
        let cache = try DataTestSupport.temporaryDirectory(self)
        let (clean, cleanEngine) = try runStudy(c, data: data, executor: InProcessStudyExecutor(), cache: nil, output: nil)
        let total = cleanEngine.trainedCount

        let interrupted = CountingExecutor(budget: 5)
        XCTAssertThrowsError(try runStudy(c, data: data, executor: interrupted, cache: cache, output: nil))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.path).count, 5, "finished runs are cached at once")

        let resumed = CountingExecutor()
        let (result, engine) = try runStudy(c, data: data, executor: resumed, cache: cache, output: nil)
        XCTAssertEqual(resumed.executed.count, total - 5)
        XCTAssertEqual(engine.cachedCount, 5)
        func testAccuracies(_ r: RegularizationStudy.Result) -> [[Double?]] {
            r.regimes[0].variants.map { $0.arm(.tuned).runs.map { $0.test?.accuracy } }
        }
        XCTAssertEqual(testAccuracies(result), testAccuracies(clean), "a resumed study gives the uninterrupted study's numbers")

        c.seedCount = 4
        let more = CountingExecutor()
        let (bigger, _) = try runStudy(c, data: data, executor: more, cache: cache, output: nil)
        let settings = bigger.regimes[0].variants.reduce(0) { $0 + ($1.tuningChangedTheSetting ? 2 : 1) }
        XCTAssertEqual(more.executed.count, settings, "only seed 3's final runs are new: \(more.executed)")
        XCTAssertTrue(more.executed.allSatisfy { $0.hasSuffix("/seed-3") }, "\(more.executed)")
    }
}
