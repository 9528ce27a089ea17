import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
@testable import NablaStudies
import NablaTestSupport

/// `nabla study optimizers` as a seeded study on tiny generated data: every optimizer gets the same
/// relative learning-rate grid (equal budgets), seed i pairs the optimizers (same split, first
/// batch and initial weights), tuning reads only the validation split, every optimizer has per-seed
/// test runs and a verdict against Momentum, results.json follows the checker's rules, and the
/// report has its elements.
final class OptimizerStudyTests: XCTestCase {
    func tinyData() throws -> StudyData {
        let directory = try DataTestSupport.temporaryDirectory(self)
        return try StudyData.load(spec: StudyData.syntheticSpec, trainSubset: 96, testSubset: 64, seed: 0,
                                  syntheticFile: directory.appendingPathComponent("images.safetensors"))
    }

    func tinyConfiguration() -> OptimizerStudy.Configuration {
        var c = OptimizerStudy.Configuration()
        c.hidden = [16]
        c.epochs = 2
        c.batchSize = 16
        c.seedCount = 2
        c.pathSteps = 5
        return c
    }

    func testEveryOptimizerIsTunedOverTheSameRelativeGridAroundItsTextbookRate() throws {
        let data = try tinyData()
        for grid in OptimizerStudy.Grid.allCases {
            var c = tinyConfiguration()
            c.grid = grid
            let study = try OptimizerStudy.study(c, data: data, runsDirectory: nil)
            XCTAssertEqual(study.variants.map(\.key), OptimizerStudy.variantKeys)
            XCTAssertNoThrow(try study.validate())
            XCTAssertEqual(study.families.count, 1)
            XCTAssertEqual(study.families[0].baseline, "momentum")
            XCTAssertEqual(Set(study.families[0].members), Set(OptimizerStudy.variantKeys).subtracting(["momentum"]))
            for variant in study.variants {
                XCTAssertEqual(variant.grid.count, grid.factors.count, variant.key)
                let textbook = try XCTUnwrap(variant.textbook["lr"])
                let ratios = variant.grid.map { $0["lr"]! / textbook }
                for (ratio, factor) in zip(ratios, grid.factors) { XCTAssertEqual(ratio, factor, accuracy: 0.01 * factor, variant.key) }
                XCTAssertTrue(variant.grid.contains(variant.textbook), "\(variant.key): the textbook rate is a grid point")
                // The setting's lr reaches the optimizer (or the schedule's peak for the scheduled runs).
                for setting in variant.grid {
                    let plan = try variant.plan(setting)
                    let lr = setting["lr"]!
                    switch variant.key {
                    case "momentum-onecycle": XCTAssertEqual(plan.schedule, "onecycle:\(StudyRunPlan.format(lr))")
                    case "momentum-cyclic": XCTAssertTrue(plan.schedule?.contains(":\(StudyRunPlan.format(lr)):") == true, plan.schedule ?? "")
                    case "adam-restarts": XCTAssertEqual(plan.optimizer.learningRate, lr); XCTAssertEqual(plan.schedule, "cosine-restarts:5:2")
                    default: XCTAssertEqual(plan.optimizer.learningRate, lr, variant.key); XCTAssertNil(plan.schedule, variant.key)
                    }
                    XCTAssertNoThrow(try plan.validate(), "\(variant.key) \(setting.label)")
                }
            }
        }
        var c = tinyConfiguration()
        c.variants = ["adam"]
        XCTAssertEqual(try OptimizerStudy.study(c, data: data, runsDirectory: nil).variants.map(\.key), ["momentum", "adam"],
                       "the reference always runs")
        c.variants = ["adam", "sgdx"]
        assertNablaError(try OptimizerStudy.study(c, data: data, runsDirectory: nil), "--optimizers sgdx: unknown optimizer")
    }

    func testSeedIGivesEveryOptimizerTheSameSplitFirstBatchAndInitialWeights() throws {
        let data = try tinyData()
        let study = try OptimizerStudy.study(tinyConfiguration(), data: data, runsDirectory: nil)
        var firstWeightsBySeed: [[Float]] = []
        for seed in study.seeds {
            let sessions = try study.variants.map { variant in
                try study.job(variant, variant.grid[0], seed: seed, tuning: false).plan.prepare(loaded: (data.train, nil))
            }
            let reference = sessions[0]
            let referenceBatch = try XCTUnwrap(Array(reference.trainer.trainLoader.epoch(0)).first)
            let referenceWeights = reference.model.namedParameters().map(\.variable.value)
            for (variant, session) in zip(study.variants, sessions).dropFirst() {
                XCTAssertEqual(session.data.validation?.inputs, reference.data.validation?.inputs, "\(variant.key) seed \(seed): validation split")
                let batch = try XCTUnwrap(Array(session.trainer.trainLoader.epoch(0)).first)
                XCTAssertEqual(batch.inputs, referenceBatch.inputs, "\(variant.key) seed \(seed): first batch")
                XCTAssertEqual(batch.targets, referenceBatch.targets, "\(variant.key) seed \(seed): first batch")
                XCTAssertEqual(session.model.namedParameters().map(\.variable.value), referenceWeights, "\(variant.key) seed \(seed): initial weights")
            }
            firstWeightsBySeed.append(referenceWeights[0].scalars)
        }
        XCTAssertNotEqual(firstWeightsBySeed[0], firstWeightsBySeed[1], "different seeds must start from different weights")
        XCTAssertTrue(Set(study.seeds).isDisjoint(with: study.tuningSeeds))
    }

    func testTheStudyTunesOnValidationComparesWithMomentumAndReportsEveryElement() throws {
        let data = try tinyData()
        let output = try DataTestSupport.temporaryDirectory(self)
        let c = tinyConfiguration()
        let engine = StudyEngine(executor: InProcessStudyExecutor(), cache: StudyResultCache(directory: output.appendingPathComponent("cache")),
                                 progress: StudyProgress(quiet: true))
        let result = try OptimizerStudy.run(c, data: data, engine: engine, outputDirectory: output)
        let outcome = result.outcome
        XCTAssertEqual(outcome.variants.map(\.key), OptimizerStudy.variantKeys)
        XCTAssertEqual(outcome.tuningSeeds, c.tuningSeeds)
        for variant in outcome.variants {
            XCTAssertEqual(variant.trials.count, 3, variant.key)
            let tuned = try XCTUnwrap(variant.tuned, variant.key)
            XCTAssertEqual(tuned.setting, SeededStudyOutcome.select(variant.trials), variant.key)
            XCTAssertTrue(tuned.runs.allSatisfy { $0.test?.count == 64 && $0.test?.split == "test" }, "\(variant.key): test split once per final run")
            XCTAssertEqual(tuned.plans.map(\.seed), c.seeds)
        }
        XCTAssertEqual(engine.trainedCount, result.runCount)
        XCTAssertEqual(result.runCount, 16 * 3 + outcome.variants.reduce(0) { $0 + ($1.tuningChangedTheSetting ? 2 : 1) } * 2)

        let comparisons = try result.comparisons()
        XCTAssertEqual(Set(comparisons.map(\.metric.name)), ["test_accuracy", "train_loss", "train_minus_test_accuracy", "test_ece"])
        let accuracy = try XCTUnwrap(comparisons.first { $0.name == "optimizers/optimizers/tuned/test_accuracy" })
        XCTAssertEqual(accuracy.baseline.key, "momentum")
        XCTAssertEqual(accuracy.members.count, 15)
        XCTAssertTrue(accuracy.members.allSatisfy { $0.verdict != nil }, "a verdict for every optimizer")

        let file = result.resultsFile(command: "nabla study optimizers", comparisons: comparisons)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(file.json.utf8)) as? [String: Any])
        let studies = try XCTUnwrap(json["studies"] as? [[String: Any]])
        XCTAssertEqual(studies.count, comparisons.count)
        for study in studies {
            let variants = try XCTUnwrap(study["variants"] as? [[String: Any]])
            XCTAssertEqual(Set(variants.compactMap { $0["name"] as? String }), Set(OptimizerStudy.variantKeys), "every optimizer in \(study["name"]!)")
            for variant in variants {
                let runs = try XCTUnwrap(variant["runs"] as? [[String: Any]])
                XCTAssertEqual(runs.compactMap { $0["seed"] as? Int }, [0, 1])
                XCTAssertTrue(runs.allSatisfy { $0["split"] as? String == study["split"] as? String && $0["value"] is Double })
                if variant["name"] as? String != "momentum" {
                    let verdict = try XCTUnwrap(variant["verdict"] as? [String: Any])
                    for key in ["label", "difference", "interval", "p_value", "test"] { XCTAssertNotNil(verdict[key], key) }
                    // The checker's rule: better/worse only with an interval that excludes 0.
                    let interval = try XCTUnwrap(verdict["interval"] as? [Double])
                    if verdict["label"] as? String != "no detectable difference" { XCTAssertTrue(interval[0] > 0 || interval[1] < 0) }
                }
                // Selections read the validation split only, and choose the best trial by it.
                if let selection = variant["selection"] as? [String: Any] {
                    XCTAssertEqual(selection["split"] as? String, "validation")
                    let trials = try XCTUnwrap(selection["trials"] as? [[String: Any]])
                    XCTAssertTrue(trials.allSatisfy { $0["split"] as? String == "validation" })
                    let best = trials.max { ($0["value"] as? Double ?? -1) < ($1["value"] as? Double ?? -1) }
                    XCTAssertEqual(best?["value"] as? Double, trials.first { ($0["setting"] as? [String: Double]) == (selection["chosen"] as? [String: Double]) }?["value"] as? Double)
                }
            }
        }
        XCTAssertEqual(studies.first { $0["metric"] as? String == "test_accuracy" }?["split"] as? String, "test")
        XCTAssertEqual(studies.first { $0["metric"] as? String == "train_loss" }?["split"] as? String, "train")

        let html = try result.report(command: "nabla study optimizers", outputDirectory: output, comparisons: comparisons).render()
        for fragment in ["<ul class=\"takeaways\">", "test accuracy − Momentum</title>", "validation accuracy</title>", "training loss</title>",
                         "final training loss", "Paths on f(x, y) = x²/20 + y²", "<details>", "Repeat the tuned run of seed 0",
                         "Choi, D.", "Schmidt, R. M.", "Holm, S. (1979)", "Best model by validation accuracy",
                         "with every learning rate tuned on validation:", "within noise of Momentum",
                         "Each tuning score is the accuracy on 24 validation images × 1 seed"] {
            XCTAssertTrue(html.contains(fragment), "report lacks \(fragment)")
        }
        for name in ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW", "Adadelta", "Adamax", "NAdam", "RAdam", "Lion", "LAMB",
                     "Momentum + one-cycle", "Momentum + cyclic", "Adam + warm restarts"] {
            XCTAssertTrue(html.contains(">\(name)<"), name)
        }
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "the report must not fetch anything")
        XCTAssertEqual(result.paths.count, OptimizerPaths.book.count)
        XCTAssertTrue(result.paths.allSatisfy { $0.points.count == c.pathSteps + 1 })

        // TensorBoard: one directory per optimizer, setting and seed with an HParams session.
        let runs = output.appendingPathComponent("runs")
        let tuned = try XCTUnwrap(outcome.variant("adam")?.tuned)
        let seedDirectory = SeededStudy.runDirectory(runs: runs, study: "optimizers", tuning: false, variant: "adam", setting: tuned.setting, seed: 1)
        let files = try FileManager.default.contentsOfDirectory(atPath: seedDirectory.path)
        XCTAssertTrue(files.contains { $0.hasSuffix(StudyTensorBoard.fileSuffix) }, "\(files)")

        // A second run reads everything from the cache; more seeds train only the new ones.
        let again = StudyEngine(executor: InProcessStudyExecutor(), cache: StudyResultCache(directory: output.appendingPathComponent("cache")),
                                progress: StudyProgress(quiet: true))
        var more = c
        more.seedCount = 3
        let bigger = try OptimizerStudy.run(more, data: data, engine: again, outputDirectory: nil)
        XCTAssertEqual(again.trainedCount, bigger.outcome.variants.reduce(0) { $0 + ($1.tuningChangedTheSetting ? 2 : 1) })
        XCTAssertEqual(again.cachedCount, result.runCount)
    }
}
