import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
@testable import NablaStudies
import NablaTestSupport

/// The pieces of the studies: metrics, the dropout-scale table, the optimizer paths on
/// f(x, y) = x²/20 + y², model files, random-search sampling, data fallback and commands.
final class StudyTests: XCTestCase {
    func testSparsityCountsWeightsBelowTheThreshold() {
        let a = Variable(Tensor<Float>([0, 5e-4, -2e-3, 1]), requiresGradient: true)
        let b = Variable(Tensor<Float>([-9e-4, 0.5, -1e-3, 3]), requiresGradient: true)
        XCTAssertEqual(weightSparsity([a]), 0.5)
        XCTAssertEqual(weightSparsity([a, b]), 3.0 / 8.0)  // 0, 5e-4, -9e-4; |−1e-3| is not < 1e-3
        XCTAssertEqual(weightSparsity([a, b], threshold: 1e-2), 5.0 / 8.0)
        XCTAssertEqual(weightSparsity([Variable<Float>]()), 0)
    }

    func testGapsAreTrainMinusTestAccuracyAndTestMinusTrainLoss() {
        XCTAssertEqual(generalizationGap(train: 1.0, test: 0.8), 0.2, accuracy: 1e-12)
        let run = StudyRun(key: "k", name: "n", summary: "", epochs: [
            StudyEpoch(epoch: 1, trainLoss: 1, trainAccuracy: 0.5, testLoss: 1.2, testAccuracy: 0.45, runningTrainLoss: 1.1, seconds: 1),
            StudyEpoch(epoch: 2, trainLoss: 0.1, trainAccuracy: 0.98, testLoss: 0.9, testAccuracy: 0.81, runningTrainLoss: 0.2, seconds: 1),
        ])
        XCTAssertEqual(run.accuracyGap!, 0.17, accuracy: 1e-12)
        XCTAssertEqual(run.lossGap!, 0.8, accuracy: 1e-12)
        XCTAssertEqual(run.bestTestAccuracy, 0.81)
        let regression = StudyRun(key: "r", name: "r", summary: "", epochs: [
            StudyEpoch(epoch: 1, trainLoss: 0.2, trainAccuracy: nil, testLoss: 0.5, testAccuracy: nil, runningTrainLoss: 0.3, seconds: 1),
        ])
        XCTAssertNil(regression.accuracyGap)
        XCTAssertEqual(regression.lossGap!, 0.3, accuracy: 1e-12)
    }

    func testDropoutScaleTableMatchesTheSeed() {
        let result = DropoutScaleDemo.run(passes: 100, seed: 3)
        let inverted = result.rows.first { $0.mode == .inverted }!, vanilla = result.rows.first { $0.mode == .vanilla }!
        // Evaluation: inverted dropout is the identity (10000 ones summed), vanilla scales by 1 − p.
        XCTAssertEqual(inverted.evaluation, 10_000)
        XCTAssertEqual(vanilla.evaluation, 5_000)
        // Training: 2·Binomial(10000, 1/2) has standard deviation 100; vanilla Binomial(10000, 1/2) 50.
        XCTAssertEqual(inverted.trainingStandardDeviation, 100, accuracy: 25)
        XCTAssertEqual(vanilla.trainingStandardDeviation, 50, accuracy: 12.5)
        XCTAssertEqual(inverted.trainingMean, 10_000, accuracy: 4 * 100 / 10)
        XCTAssertEqual(vanilla.trainingMean, 5_000, accuracy: 4 * 50 / 10)
        XCTAssertNotEqual(inverted.trainingPass, 10_000)  // a single pass is random
        XCTAssertEqual(inverted.trainingPass.truncatingRemainder(dividingBy: 2), 0)  // kept units count 2 each
        let table = DropoutScaleDemo.table(result)
        XCTAssertEqual(table.rows.count, 2)
        XCTAssertEqual(table.rows[0][4].text, "10000")
        XCTAssertEqual(table.rows[1][4].text, "5000")
    }

    func testSGDOscillatesInYOnTheBooksFunction() throws {
        let sgd = OptimizerPaths.book.first { $0.name == "SGD" }!
        let path = try OptimizerPaths.path(sgd.optimizer, steps: 30)
        XCTAssertEqual(path.count, 31)
        // y ← y − 0.95·2y = −0.9·y: the sign flips every step; x ← x − 0.95·x/10 = 0.905·x.
        for t in 1..<path.count {
            XCTAssertLessThan(path[t].y * path[t - 1].y, 0, "step \(t): y did not change sign")
            XCTAssertEqual(path[t].y, -0.9 * path[t - 1].y, accuracy: 1e-5)
            XCTAssertEqual(path[t].x, 0.905 * path[t - 1].x, accuracy: 1e-5)
        }
        XCTAssertLessThan(path.last!.x, -0.3)  // still creeping along the flat x direction
    }

    func testOtherOptimizersFirstStepsAndConvergence() throws {
        let entries = Dictionary(uniqueKeysWithValues: OptimizerPaths.book.map { ($0.name, $0.optimizer) })
        // Adam's first step moves each coordinate by lr against its gradient's sign.
        let adam = try OptimizerPaths.path(entries["Adam"]!, steps: 1)
        XCTAssertEqual(adam[1].x, -6.7, accuracy: 1e-5)
        XCTAssertEqual(adam[1].y, 1.7, accuracy: 1e-5)
        // AdaGrad: h = g², so the first step is lr·sign(g) per coordinate.
        let adagrad = try OptimizerPaths.path(entries["AdaGrad"]!, steps: 1)
        XCTAssertEqual(adagrad[1].x, -5.5, accuracy: 1e-5)
        XCTAssertEqual(adagrad[1].y, 0.5, accuracy: 1e-5)
        // Momentum's first step is plain SGD with its learning rate (the buffer starts at g).
        let momentum = try OptimizerPaths.path(entries["Momentum"]!, steps: 2)
        XCTAssertEqual(momentum[1].x, -7 + 0.1 * 0.7, accuracy: 1e-5)
        XCTAssertEqual(momentum[1].y, 2 - 0.1 * 4, accuracy: 1e-5)
        let v = 0.9 * 4 + 2 * momentum[1].y
        XCTAssertEqual(momentum[2].y, momentum[1].y - 0.1 * v, accuracy: 1e-5)
        let start = OptimizerPaths.function(-7, 2)
        for entry in OptimizerPaths.book {
            let last = try OptimizerPaths.path(entry.optimizer, steps: 30).last!
            XCTAssertLessThan(OptimizerPaths.function(last.x, last.y), 0.2 * start, entry.name)
        }
        let svg = try OptimizerPaths.chart().svg()
        for entry in OptimizerPaths.book { XCTAssertTrue(svg.contains(">\(entry.name)<"), entry.name) }
    }

    func testModelFilesReadBackToTheSameDescription() throws {
        let models = [
            StudyModels.mlp(inputShape: [1, 28, 28], outputCount: 10, hidden: [32, 16], batchNorm: true, dropout: 0.5),
            StudyModels.residualMLP(inputShape: [1, 8, 8], outputCount: 3, width: 16, blocks: 2, maxDropPath: 0.5),
            try BuiltinModels.description("line-mlp", inputShape: [1], outputCount: 1, options: .init(dropout: 0.5))!,
        ]
        for model in models {
            let parsed = try ModelDescription.parse(model.yaml, name: model.name)
            XCTAssertEqual(parsed.layers, model.layers, model.yaml)
            var g = RandomGenerator(seed: 1)
            XCTAssertNoThrow(try parsed.build(inputShape: model.inputShape!, using: &g))
        }
        let residual = models[1]
        let probabilities = residual.layers.compactMap { layer -> Double? in
            guard case .double(let p)? = layer.arguments["drop_path"] else { return nil }
            return p
        }
        XCTAssertEqual(probabilities, [0.25, 0.5])  // the linear decay rule p_l = l/L·p_L
        var g = RandomGenerator(seed: 1)
        let plain = try StudyModels.mlp(inputShape: [1, 8, 8], outputCount: 3, hidden: [16, 16, 16]).build(inputShape: [1, 8, 8], using: &g)
        let same = try residual.build(inputShape: [1, 8, 8], using: &g)
        XCTAssertEqual(plain.model.parameterCount, same.model.parameterCount)
    }

    func testInitializationsSetTheWeightScale() throws {
        for (initialization, expected) in [(WeightInitialization.standardNormal, 1.0), (.xavierNormal, (2.0 / (400 + 300)).squareRoot()),
                                           (.kaimingNormal, (2.0 / 400).squareRoot())] {
            var g = RandomGenerator(seed: 5)
            let model = Sequential<Float>(Linear<Float>(400, 300, using: &g))
            initialization.apply(to: model, using: &g)
            let w = (model.layers[0] as! Linear<Float>).weight.value.scalars.map(Double.init)
            let std = (w.reduce(0) { $0 + $1 * $1 } / Double(w.count)).squareRoot()
            XCTAssertEqual(std, expected, accuracy: 0.03 * expected, "\(initialization)")
            XCTAssertEqual((model.layers[0] as! Linear<Float>).bias!.value.scalars, [Float](repeating: 0, count: 300))
        }
    }

    func testRandomSearchSamplesLogUniformlyAndReproducibly() {
        var c = RandomSearch.Configuration()
        c.trials = 400
        c.learningRateRange = 1e-4...1
        c.weightDecayRange = 1e-8...1e-2
        let a = RandomSearch.sample(c), b = RandomSearch.sample(c)
        XCTAssertEqual(a, b)
        XCTAssertTrue(a.allSatisfy { c.learningRateRange.contains($0.learningRate) && c.weightDecayRange.contains($0.weightDecay) })
        // Log-uniform: about half below the geometric middle (1e-2 and 1e-5), a quarter per decade-pair.
        let below = a.filter { $0.learningRate < 1e-2 }.count
        XCTAssertEqual(Double(below) / 400, 0.5, accuracy: 0.08)
        let lowestDecade = a.filter { $0.weightDecay < 1e-7 }.count
        XCTAssertEqual(Double(lowestDecade) / 400, 1.0 / 6, accuracy: 0.06)
        c.seed = 1
        XCTAssertNotEqual(RandomSearch.sample(c), a)
    }

    func testMissingFashionMNISTFallsBackToSyntheticImages() throws {
        let data = try StudyData.load(spec: nil, trainSubset: 50, testSubset: 20, seed: 2, fashionDirectory: "/nonexistent/fashion")
        XCTAssertTrue(data.notice?.contains("not installed") ?? false)
        XCTAssertEqual(data.train.inputs.shape, [50, 1, 28, 28])
        XCTAssertEqual(data.test.count, 20)
        XCTAssertEqual(data.train.classCount, 10)
        XCTAssertTrue(data.train.inputs.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        let again = try StudyData.load(spec: StudyData.syntheticSpec, trainSubset: 50, testSubset: 20, seed: 2)
        XCTAssertEqual(again.train.inputs, data.train.inputs)
        XCTAssertNil(again.notice)
        XCTAssertThrowsError(try StudyData.load(spec: "synthetic:line", trainSubset: nil, testSubset: nil, seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("class labels"), "\(error)")
        }
    }

    func testReproduceCommandSpellsOutEveryChoice() throws {
        var c = RegularizationStudyConfiguration()
        c.epochs = 3
        c.variants = MLPRegime.allVariantKeys
        let images = SyntheticImages.generate(trainCount: 10, testCount: 10, seed: 0)
        let data = StudyData(train: images.train, test: images.test, dataSpec: "fashion-mnist", trainSubset: 2000, description: "d")
        let study = try RegularizationStudy.mlpStudy(c, data: data, runsDirectory: URL(fileURLWithPath: "out/runs"))
        XCTAssertEqual(study.variants.map(\.key), MLPRegime.allVariantKeys)
        func command(_ key: String, seed: UInt64 = 0) throws -> String {
            let variant = try XCTUnwrap(study.variants.first { $0.key == key })
            var plan = try study.job(variant, variant.textbook, seed: seed, tuning: false).plan
            XCTAssertEqual(plan.output.logDirectory, URL(fileURLWithPath: "out/runs/mlp/\(key)/\(variant.textbook.slug)/seed-\(seed)").path)
            plan.output = TrainingPlan.Output()
            return plan.commandLine(modelFile: "m.yaml")
        }
        XCTAssertEqual(try command("combined"),
                       "nabla train --model m.yaml --weight-init kaiming-normal --data fashion-mnist --val-split 0.25 --train-subset 2000 "
                       + "--normalize --epochs 3 --batch-size 64 --seed 0 --optimizer sgd --lr 0.05 --momentum 0.9 --weight-decay 0.0005 "
                       + "--decay-weights-only --schedule cosine:3 --augment crop:2,flip")
        XCTAssertTrue(try command("elastic-net").contains("--elastic 1e-05,50"))
        XCTAssertTrue(try command("dropout-vanilla").contains("--dropout-mode vanilla"))
        XCTAssertTrue(try command("l1", seed: 4).contains("--seed 4 "))
        XCTAssertThrowsError(try RegularizationStudy.mlpStudy({ var d = c; d.variants = ["nope"]; return d }(), data: data, runsDirectory: nil))
    }

    func testWrappedCommandsStayShortAndPasteBack() {
        let command = "nabla train --model out/runs/combined/model.yaml --data fashion-mnist --train-subset 2000 --normalize "
            + "--epochs 50 --batch-size 64 --seed 0 --optimizer sgd --lr 0.03 --momentum 0.9 --augment crop:2,flip:0.5"
        let wrapped = StudyReport.wrappedCommand(command, width: 60)
        let lines = wrapped.split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 2)
        XCTAssertTrue(lines.dropLast().allSatisfy { $0.hasSuffix(" \\") && $0.count <= 62 }, wrapped)
        XCTAssertTrue(lines.dropFirst().allSatisfy { $0.hasPrefix("  --") }, wrapped)
        XCTAssertEqual(wrapped.replacingOccurrences(of: " \\\n  ", with: " "), command)
        XCTAssertEqual(StudyReport.wrappedCommand("nabla study", width: 60), "nabla study")
    }

    func testFitChartDrawsCurvesAndEveryPoint() {
        let chart = FitChart(title: "fit", curves: [.init(name: "model", x: [-1, 0, 1], y: [-1.5, 0, 1.5])],
                             points: [.init(name: "training points", points: [(-1, -1.2), (0, 0.3), (1, 1.4)]),
                                      .init(name: "outside", points: [(5, 5)])],
                             xRange: -1...1)
        let svg = chart.svg()
        XCTAssertEqual(svg.components(separatedBy: "<title>training points: ").count - 1, 3)
        XCTAssertFalse(svg.contains("<title>outside: "))  // outside the fixed x range: not drawn
        XCTAssertTrue(svg.contains(">model<") && svg.contains(">training points<"))
    }
}
