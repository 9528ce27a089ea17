import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// `nabla train` and ``TrainingPlan`` describe runs the same way: a plan's command line parses back
/// into the same plan, and `--plan FILE` trains exactly what the flags train.
final class TrainingPlanCLITests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    func printedPlan(_ arguments: [String]) throws -> TrainingPlan {
        let result = try CLI.run(["train"] + arguments + ["--print-plan"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return try TrainingPlan(json: Data(result.stdout.utf8), source: "stdout")
    }

    /// Each field set on its own, then all of them at once, parses back from the command line.
    func testEveryPlanFieldSurvivesTheCommandLine() throws {
        let changes: [(inout TrainingPlan) -> Void] = [
            { $0.model.normalization = "layernorm" }, { $0.model.dropout = 0.25 }, { $0.model.dropout = 0.25; $0.model.dropoutMode = .vanilla },
            { $0.model.initialization = .standardNormal }, { $0.data.spec = "table.csv"; $0.data.target = "2" }, { $0.data.validationFraction = 0.2 },
            { $0.data.trainSubset = 90 }, { $0.data.normalize = true }, { $0.loss = "mse" }, { $0.labelSmoothing = 0.1 },
            { $0.optimizer = OptimizerSpecification(name: "rmsprop", hyperparameters: ["lr": 0.02, "alpha": 0.9, "centered": true, "momentum": 0.5]) },
            { $0.optimizer = OptimizerSpecification(name: "adam", hyperparameters: ["lr": 0.01, "betas": .pair(0.8, 0.99), "amsgrad": true]) },
            { $0.optimizer = OptimizerSpecification(name: "sgd", hyperparameters: ["lr": 0.05, "momentum": 0.9, "nesterov": true,
                                                                                    "weight_decay": 5e-4], decayWeightsOnly: true) },
            { $0.optimizer = OptimizerSpecification(name: "nadam", hyperparameters: ["lr": 0.01, "momentum_decay": 0.01, "decoupled_weight_decay": true, "weight_decay": 0.1]) },
            { $0.optimizer = OptimizerSpecification(name: "adadelta", hyperparameters: ["rho": 0.8, "eps": 1e-5]) },
            { $0.sam = 0.05 }, { $0.lookahead = LookaheadSetting(syncPeriod: 6, alpha: 0.8) }, { $0.schedule = "onecycle:0.1:0.25" },
            { $0.schedule = "warmup:2+cosine:8" }, { $0.penalty = "elastic:0.001:0.5" }, { $0.penalty = "l1:0.0001" },
            { $0.clipNorm = 5 }, { $0.clipValue = 1 }, { $0.maxNorm = 3 }, { $0.augmentation = "crop:2,flip" },
            { $0.testTimeAugmentation = "ten-crop:1" }, { $0.epochs = 7 }, { $0.steps = 40 }, { $0.batchSize = 16 },
            { $0.shuffle = false }, { $0.dropLast = true }, { $0.seed = 42 }, { $0.earlyStoppingPatience = 3 },
            { $0.skipNonFinite = true }, { $0.allowDivergence = true }, { $0.syncBatchNorm = true }, { $0.output.checkpointDirectory = "ckpt"; $0.output.resume = true },
            { $0.output.checkpointDirectory = "ckpt"; $0.output.checkpointEvery = 5 }, { $0.output.logDirectory = "logs" },
            { $0.output.logDirectory = "logs"; $0.output.logHistograms = false }, { $0.output.logDirectory = "logs"; $0.output.logEvery = 10 },
            { $0.output.logDirectory = "logs"; $0.output.overwrite = true }, { $0.output.save = "w.safetensors" }, { $0.output.quiet = true },
            { $0.classWeights = [1, 0.5, 2] }, { $0.mixupAlpha = 0.2 }, { $0.cutMixAlpha = 1 }, { $0.emaDecay = 0.999 },
            { $0.swa = "3,0.05,2,linear" }, { $0.accumulationSteps = 4 }, { $0.precision = .bfloat16 },
            { $0.keepBest = "val_accuracy"; $0.keepTopK = 2; $0.data.validationFraction = 0.2; $0.output.checkpointDirectory = "ckpt" },
        ]
        let base = TrainingPlan(model: .init(name: "fcnet:32,16"), data: .init(spec: "synthetic:spirals?n=120"))
        var all = base
        for change in changes { change(&all) }
        all.loss = "cross-entropy"      // label smoothing needs it
        (all.data.spec, all.data.target) = (base.data.spec, nil)   // a table would take --target, spirals are generated
        all.epochs = 10                 // --steps replaces --epochs
        all.emaDecay = nil              // --ema and --swa are exclusive
        all.sam = nil                   // SAM sees one batch, not an --accumulate group
        for plan in changes.map({ change -> TrainingPlan in var p = base; change(&p); return p }) + [base, all] {
            var printed = try printedPlan(plan.commandLineArguments())
            // The command line always names the effective learning rate.
            if plan.optimizer.learningRate == nil { printed.optimizer.learningRate = nil }
            XCTAssertEqual(printed, plan, "\(plan.commandLine())\nprinted: \(printed.canonicalJSON)\nplan:    \(plan.canonicalJSON)")
        }
    }

    /// A plan file trains the run its flags describe, to the same final line.
    func testAPlanFileTrainsWhatTheFlagsTrain() throws {
        let flags = ["--model", "fcnet:16", "--data", "synthetic:spirals?n=40", "--epochs", "2", "--batch-size", "20",
                     "--optimizer", "adam", "--lr", "0.01", "--l2", "0.001", "--quiet"]
        let planFile = directory.appendingPathComponent("plan.json")
        let printed = try CLI.run(["train"] + flags + ["--print-plan"])
        XCTAssertEqual(printed.status, 0, printed.stderr)
        try Data(printed.stdout.utf8).write(to: planFile)
        let viaFlags = try CLI.run(["train"] + flags)
        let viaPlan = try CLI.run(["train", "--plan", planFile.path])
        XCTAssertEqual(viaFlags.status, 0, viaFlags.stderr)
        XCTAssertEqual(viaPlan.status, 0, viaPlan.stderr)
        func withoutSeconds(_ line: String) -> String { line.split(separator: "\t").filter { !$0.hasPrefix("seconds=") }.joined(separator: "\t") }
        XCTAssertEqual(withoutSeconds(viaPlan.stdout), withoutSeconds(viaFlags.stdout))

        try Data("{\"model\": {}}".utf8).write(to: planFile)
        let bad = try CLI.run(["train", "--plan", planFile.path])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.hasPrefix("nabla: \(planFile.path): not a training plan"), bad.stderr)
    }
}
