import Foundation
import NablaTensor
import NablaNN
import NablaData
import NablaTraining

/// The settings of `nabla study regularization`.
public struct RegularizationStudyConfiguration: Sendable {
    /// How large the tuning grids are: `small` (4 points per variant, `make run`) or `full` (9).
    public enum Grid: String, Sendable, Codable {
        case small, full
    }

    /// Which regimes run: the overfitting MLP, the CNN on full data, or both.
    public enum Regime: String, Sendable, CaseIterable {
        case mlp, cnn, both
    }

    /// Which regimes run (default: the overfitting MLP).
    public var regime = Regime.mlp
    /// The tuning grids' size.
    public var grid = Grid.small
    /// Hidden widths of the MLP (the residual MLP uses the first).
    public var hidden = [256, 256]
    /// Residual blocks of the residual MLP.
    public var residualBlocks = 2
    /// Epochs of every MLP run.
    public var epochs = 20
    /// Mini-batch size of every MLP run.
    public var batchSize = 64
    /// The learning rate of every textbook setting (SGD with momentum, cosine schedule to zero).
    public var learningRate = 0.05
    /// SGD's momentum in every textbook setting.
    public var momentum = 0.9
    /// The fraction of the training images each run holds out for validation (per seed).
    public var validationFraction = 0.25
    /// The first seed: final runs use `seed, seed + 1, …`, tuning runs `seed + 1000, …`.
    public var seed: UInt64 = 0
    /// Final seeds per variant and setting (paired across variants).
    public var seedCount = 5
    /// Seeds per grid point when tuning.
    public var tuningSeedCount = 1
    /// Tune each variant on validation; without it only the textbook settings run.
    public var tunes = true
    /// Run only these MLP variants (``MLPRegime/allVariantKeys``); `nil`: the grid's default set.
    public var variants: [String]?
    /// The CNN regime's epochs, batch size, textbook learning rate, validation fraction and variants.
    public var cnnEpochs = 4
    /// Mini-batch size of every CNN run.
    public var cnnBatchSize = 128
    /// The CNN's textbook learning rate (SGD with momentum, cosine).
    public var cnnLearningRate = 0.05
    /// The fraction of the training images the CNN runs hold out (5,000 of 60,000).
    public var cnnValidationFraction = 1.0 / 12
    /// Run only these CNN variants (``CNNRegime/variantKeys``); `nil`: all.
    public var cnnVariants: [String]?
    /// Epochs of the seed-004 line runs (full batch, so one step each).
    public var lineEpochs = 2000
    /// Epochs of the initialization demo.
    public var initializationEpochs = 10
    /// Whether to run seed 004's noisy-line demo.
    public var includesLine = true
    /// Whether to run the initialization demo.
    public var includesInitialization = true

    /// The defaults of `nabla study regularization` (`make run`).
    public init() {}

    /// The final seeds.
    public var seeds: [UInt64] { (0..<UInt64(seedCount)).map { seed + $0 } }
    /// The tuning seeds (disjoint from the final seeds for up to 1000 of them).
    public var tuningSeeds: [UInt64] { (0..<UInt64(tuningSeedCount)).map { seed + 1000 + $0 } }

    /// SGD with momentum ``momentum`` at `learningRate`, optionally with coupled weight decay on the
    /// weights only.
    public func sgd(learningRate: Double, weightDecay: Double?) -> OptimizerSpecification {
        var o = OptimizerSpecification(name: "sgd")
        o.learningRate = learningRate
        o.hyperparameters["momentum"] = .number(momentum)
        if let weightDecay {
            o.weightDecay = weightDecay
            o.decayWeightsOnly = true
        }
        return o
    }

    /// The SGD of the initialization demo (lr 0.01).
    var initializationOptimizer: OptimizerSpecification { sgd(learningRate: 0.01, weightDecay: nil) }
    /// Gradient clipping of the initialization demo, so that the `normal(0, 1)` net's enormous
    /// first gradients cannot blow it up (the same clipping for every initialization).
    var initializationClipNorm: Double? { 5 }
}

/// `nabla study regularization`: does each regularizer change what an MLP (and, with `--full`, a
/// CNN on full data) achieves on the test set — by how much, how sure, at the textbook setting and
/// tuned? Plus seed 004's noisy-line, initialization and dropout-scale demos.
public enum RegularizationStudy {
    /// Everything one `nabla study regularization` produced.
    public struct Result: Sendable {
        /// The settings the study ran with.
        public var configuration: RegularizationStudyConfiguration
        /// The MLP regime and/or the CNN regime.
        public var regimes: [SeededStudyOutcome]
        /// The noisy-line demo, or `nil` when not run.
        public var line: SeedLineStudy.Result?
        /// The initialization demo's runs (empty when not run).
        public var initialization: [StudyRun]
        /// The dropout-scale demonstration.
        public var dropoutScale: DropoutScaleDemo.Result
        /// Wall-clock seconds of the whole study.
        public var seconds: Double
        /// Runs trained now and runs read from the cache.
        public var trainedRuns: Int
        /// Runs read from the cache.
        public var cachedRuns: Int
        /// How runs were executed ("2 worker processes × 1 thread").
        public var execution: String
    }

    /// The base plan of a regime: data, validation split, normalization, budget, cosine schedule.
    static func basePlan(data: StudyData, validationFraction: Double, epochs: Int, batchSize: Int) -> TrainingPlan {
        var plan = TrainingPlan(model: .init(name: "(set by the variant)"), data: .init(spec: data.dataSpec))
        plan.data.trainSubset = data.trainSubset
        plan.data.validationFraction = validationFraction
        plan.data.normalize = data.normalizes
        plan.epochs = epochs
        plan.batchSize = batchSize
        plan.schedule = "cosine:\(epochs)"
        return plan
    }

    /// The MLP regime on `data` (a small training subset).
    public static func mlpStudy(_ c: RegularizationStudyConfiguration, data: StudyData, runsDirectory: URL?) throws -> SeededStudy {
        guard let classCount = data.train.classCount else { throw NablaError(.invalidArgument, "the regularization study needs class labels") }
        let base = basePlan(data: data, validationFraction: c.validationFraction, epochs: c.epochs, batchSize: c.batchSize)
        let variants = try MLPRegime.variants(c, inputShape: data.train.sampleShape, classCount: classCount, base: base)
        let validation = Int((Double(data.train.count) * c.validationFraction).rounded())
        let description = "An MLP with hidden widths \(c.hidden.map(String.init).joined(separator: "-")) on \(data.trainDescription); "
            + "each run holds out \(validation) of the \(data.train.count) images for validation (a different random part per seed) and trains "
            + "on the other \(data.train.count - validation) for \(c.epochs) epochs (SGD, momentum \(StudyRunPlan.format(c.momentum)), "
            + "batch \(c.batchSize), cosine schedule to zero, Kaiming-normal weights, inputs standardized with the training part's statistics). "
            + "Test split: \(data.test.count) images, evaluated once per final run."
        var study = SeededStudy(name: "mlp", title: "Overfitting regime (MLP, \(data.train.count) images)", description: description,
                                variants: variants, families: MLPRegime.families(variants.map(\.key)),
                                seeds: c.seeds, tuningSeeds: c.tuningSeeds, dataIdentity: try StudyJob.dataIdentity(of: data.dataSpec),
                                runsDirectory: runsDirectory)
        study.tunes = c.tunes
        return study
    }

    /// The CNN regime on `data` (the whole training set).
    public static func cnnStudy(_ c: RegularizationStudyConfiguration, data: StudyData, runsDirectory: URL?) throws -> SeededStudy {
        guard let classCount = data.train.classCount else { throw NablaError(.invalidArgument, "the regularization study needs class labels") }
        let base = basePlan(data: data, validationFraction: c.cnnValidationFraction, epochs: c.cnnEpochs, batchSize: c.cnnBatchSize)
        let variants = try CNNRegime.variants(c, inputShape: data.train.sampleShape, classCount: classCount, base: base)
        let validation = Int((Double(data.train.count) * c.cnnValidationFraction).rounded())
        let description = "Small convolutional nets on \(data.trainDescription); each run holds out \(validation) images for validation and "
            + "trains on the other \(data.train.count - validation) for \(c.cnnEpochs) epochs (batch \(c.cnnBatchSize), cosine schedule to zero, "
            + "Kaiming-normal weights, standardized inputs). Test split: \(data.test.count) images, evaluated once per final run."
        var study = SeededStudy(name: "cnn", title: "CNN regime (all \(data.train.count) training images)", description: description,
                                variants: variants, families: CNNRegime.families(variants.map(\.key)),
                                seeds: c.seeds, tuningSeeds: c.tuningSeeds, dataIdentity: try StudyJob.dataIdentity(of: data.dataSpec),
                                runsDirectory: runsDirectory)
        study.tunes = c.tunes
        study.finalMeasurement.trainEvaluationLimit = 10_000
        return study
    }

    /// Runs the chosen regimes through `engine`, then the demos; logs go under `outputDirectory/runs`.
    /// - Parameters:
    ///   - mlpData: the overfitting regime's data (a small training subset), when it runs.
    ///   - cnnData: the CNN regime's data (the whole training set), when it runs.
    public static func run(_ c: RegularizationStudyConfiguration, mlpData: StudyData?, cnnData: StudyData?, engine: StudyEngine,
                           outputDirectory: URL?) throws -> Result {
        let start = Date()
        let runsDirectory = outputDirectory?.appendingPathComponent("runs")
        var regimes: [SeededStudyOutcome] = []
        var studies: [SeededStudy] = []
        if let mlpData { studies.append(try mlpStudy(c, data: mlpData, runsDirectory: runsDirectory)) }
        if let cnnData { studies.append(try cnnStudy(c, data: cnnData, runsDirectory: runsDirectory)) }
        for study in studies { regimes.append(try study.run(engine: engine)) }
        if let runsDirectory { try StudyTensorBoard.write(regimes, to: runsDirectory) }

        var line: SeedLineStudy.Result?
        var initialization: [StudyRun] = []
        let demoDirectory = runsDirectory?.appendingPathComponent("demos")
        if c.includesLine {
            line = try SeedLineStudy.run(epochs: c.lineEpochs, seed: c.seed, runsDirectory: demoDirectory, progress: engine.progress)
        }
        if c.includesInitialization, let data = mlpData ?? cnnData, let classCount = data.train.classCount {
            var runner = StudyRunner(data: data, runsDirectory: demoDirectory, progress: engine.progress)
            runner.test = nil
            let plans = InitializationStudy.plans(c, inputShape: data.train.sampleShape, classCount: classCount)
            engine.progress.section("Initialization demo: \(plans.count) runs of \(c.initializationEpochs) epochs, one seed")
            for (i, plan) in plans.enumerated() { initialization.append(try runner.run(plan, index: i + 1, of: plans.count)) }
        }
        return Result(configuration: c, regimes: regimes, line: line, initialization: initialization,
                      dropoutScale: DropoutScaleDemo.run(seed: c.seed), seconds: Date().timeIntervalSince(start),
                      trainedRuns: engine.trainedCount, cachedRuns: engine.cachedCount, execution: engine.executor.summary)
    }
}
