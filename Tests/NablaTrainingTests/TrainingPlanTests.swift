import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

final class TrainingPlanTests: XCTestCase {
    /// A plan with every field away from its default.
    static var fullPlan: TrainingPlan {
        var model = TrainingPlan.Model(name: "fcnet:32,16")
        model.normalization = "batchnorm"
        model.dropout = 0.25
        model.dropoutMode = .vanilla
        model.initialization = .xavierNormal
        model.initialWeights = "init.safetensors"
        var data = TrainingPlan.DataSelection(spec: "synthetic:spirals?n=120")
        data.target = "3"
        data.validationFraction = 0.25
        data.trainSubset = 90
        data.normalize = true
        var plan = TrainingPlan(model: model, data: data)
        plan.loss = "cross-entropy"
        plan.labelSmoothing = 0.1
        plan.optimizer = OptimizerSpecification(name: "adam", hyperparameters: ["lr": 0.01, "betas": .pair(0.8, 0.99)],
                                                decayWeightsOnly: false)
        plan.schedule = "warmup:2+cosine:8"
        plan.penalty = "elastic:0.001:0.5"
        plan.clipNorm = 5
        plan.clipValue = 1
        plan.maxNorm = 3
        plan.augmentation = "flip"
        plan.testTimeAugmentation = "ten-crop:1"
        plan.epochs = 7
        plan.steps = 40
        plan.batchSize = 16
        plan.shuffle = false
        plan.dropLast = true
        plan.seed = 42
        plan.earlyStoppingPatience = 3
        plan.skipNonFinite = true
        plan.classWeights = [1, 0.5, 2]
        plan.mixupAlpha = 0.2
        plan.cutMixAlpha = 1
        plan.emaDecay = 0.999
        plan.swa = "5,0.05,3,linear"
        plan.accumulationSteps = 4
        plan.keepBest = "val_accuracy"
        plan.keepTopK = 3
        plan.output.checkpointDirectory = "ckpt"
        plan.output.checkpointEvery = 5
        plan.output.resume = true
        plan.output.logDirectory = "logs"
        plan.output.logHistograms = false
        plan.output.save = "w.safetensors"
        plan.output.quiet = true
        return plan
    }

    func testJSONRoundTripKeepsEveryField() throws {
        let plan = Self.fullPlan
        XCTAssertEqual(try TrainingPlan(json: Data(plan.prettyJSON.utf8), source: "p.json"), plan)
        XCTAssertEqual(try TrainingPlan(json: Data(plan.canonicalJSON.utf8), source: "p.json"), plan)
        XCTAssertTrue(plan.canonicalJSON.contains("\"validation_fraction\":0.25"), plan.canonicalJSON)
        XCTAssertFalse(plan.canonicalJSON.contains("\n"))
    }

    func testAnInlineModelDescriptionRoundTripsThroughItsYAML() throws {
        let description = try ModelDescription.parse("""
            layers:
              - Linear: {in_features: 2, out_features: 8}
              - ReLU: {}
              - Linear: {in_features: 8, out_features: 3}
            """, name: "tiny")
        let plan = TrainingPlan(model: .init(description: description), data: .init(spec: "synthetic:spirals"))
        let back = try TrainingPlan(json: Data(plan.canonicalJSON.utf8), source: "p.json")
        XCTAssertEqual(back.model.description, description)
        XCTAssertEqual(back, plan)
    }

    func testFingerprintFollowsWhatIsTrainedNotWhereResultsGo() {
        let plan = Self.fullPlan
        var moved = plan
        moved.output = TrainingPlan.Output()
        XCTAssertEqual(moved.fingerprint, plan.fingerprint, "outputs do not change the run")
        XCTAssertEqual(plan.fingerprint.count, 64)
        for change in [{ (p: inout TrainingPlan) in p.seed += 1 }, { $0.optimizer.learningRate = 0.02 }, { $0.epochs += 1 },
                       { $0.data.validationFraction = 0.2 }, { $0.model.dropout = 0.3 }, { $0.augmentation = nil }] {
            var other = plan
            change(&other)
            XCTAssertNotEqual(other.fingerprint, plan.fingerprint, "\(other.canonicalJSON)")
        }
        var longer = plan
        longer.epochs += 5
        XCTAssertEqual(longer.checkpointIdentity, plan.checkpointIdentity, "a resumed run may change its budget")
    }

    /// A plan from a file fails with the same one-line messages as the flags.
    func testValidationNamesTheFlagAndTheValue() {
        let cases: [(String, (inout TrainingPlan) -> Void)] = [
            ("--epochs 0 must be at least 1", { $0.epochs = 0 }),
            ("--batch-size -3", { $0.batchSize = -3 }),
            ("--val-split 1.0 is out of range", { $0.data.validationFraction = 1 }),
            ("--dropout 1.5 is out of range", { $0.model.dropout = 1.5 }),
            ("--clip-norm nan", { $0.clipNorm = .nan }),
            ("--loss nope", { $0.loss = "nope" }),
            ("penalty 'l3:1'", { $0.penalty = "l3:1" }),
            ("--schedule bogus:1", { $0.schedule = "bogus:1" }),
            ("--tta five-crop", { $0.testTimeAugmentation = "five-crop" }),
            ("optimizer", { $0.optimizer = OptimizerSpecification(name: "nonesuch") }),
            ("--resume needs --checkpoint-dir", { $0.output.resume = true; $0.output.checkpointDirectory = nil }),
        ]
        for (fragment, change) in cases {
            var plan = TrainingPlan(model: .init(name: "mlp"), data: .init(spec: "synthetic:spirals"))
            change(&plan)
            assertNablaError(try plan.validate(), fragment)
        }
    }

    func testAMalformedPlanFileIsOneLineNamingTheFile() {
        assertNablaError(try TrainingPlan(json: Data("{".utf8), source: "bad.json"), "bad.json", "not valid JSON")
        assertNablaError(try TrainingPlan(json: Data(#"{"data": {"spec": "x"}}"#.utf8), source: "p.json"), "p.json", "missing 'model'")
        assertNablaError(try TrainingPlan(json: Data(#"{"model": {"name": 3}, "data": {"spec": "x"}}"#.utf8), source: "p.json"),
                         "'model.name' has the wrong type")
    }

    /// `prepare()` builds what the plan says, and the trainer it returns trains.
    func testPrepareBuildsTheSessionThePlanDescribes() throws {
        var plan = TrainingPlan(model: .init(name: "fcnet:16"), data: .init(spec: "synthetic:spirals?n=60"))
        plan.data.validationFraction = 0.2
        plan.optimizer = OptimizerSpecification(name: "sgd", hyperparameters: ["lr": 0.1, "momentum": 0.9])
        plan.epochs = 2
        plan.batchSize = 32
        plan.output.quiet = true
        let session = try plan.prepare()
        XCTAssertEqual(session.data.train.count + (session.data.validation?.count ?? 0), 180)
        XCTAssertNotNil(session.data.test)
        XCTAssertEqual(session.trainer.optimizer.learningRate, 0.1)
        XCTAssertEqual(session.trainer.runIdentity, plan.checkpointIdentity)
        let result = try session.trainer.fit()
        XCTAssertEqual(result.epochs.count, 2)
        XCTAssertNotNil(result.epochs.last?.validationLoss)
        // The same plan prepares the same initial weights (seeded), so two sessions train alike.
        let again = try plan.prepare()
        _ = try again.trainer.fit()
        XCTAssertEqual(again.model.stateDict(), session.model.stateDict())
    }
}
