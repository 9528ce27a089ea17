import Foundation
import NablaTensor
import NablaNN
import NablaData
import NablaTraining

/// The settings of `nabla study regularization`: one network trained with every regularizer on a
/// deliberately small training set, plus seed 004's line, initialization and dropout-scale demos.
public struct RegularizationStudyConfiguration: Sendable {
    /// Hidden widths of the MLP (the residual net has the same parameters).
    public var hidden = [256, 256, 256]
    /// Epochs of every image run.
    public var epochs = 30
    /// Mini-batch size of every image run.
    public var batchSize = 64
    /// The seed of initialization, data order, dropout and augmentation of every run.
    public var seed: UInt64 = 0
    /// SGD with momentum for every image run, the learning rate annealed to zero over the epochs
    /// (cosine), so the last epoch's figures are those of a settled model, not of one noisy step.
    public var learningRate = 0.03
    /// The momentum of the SGD runs.
    public var momentum = 0.9
    /// λ of coupled weight decay and of the equivalent L2 penalty `λ/2·Σw²`.
    public var weightDecay = 2e-2
    /// λ of the L1 penalty `λ·Σ|w|`.
    public var l1 = 1e-3
    /// λ and β of the elastic net `λ·(β·Σw² + Σ|w|)`.
    public var elasticLambda = 2e-4
    /// β of the elastic net (the weight of the squared term).
    public var elasticBeta = 50.0
    /// The drop probability of the dropout variants.
    public var dropout = 0.5
    /// Residual blocks of the residual net (width: the first hidden width).
    public var residualBlocks = 4
    /// The largest stochastic-depth drop probability (the last block's).
    public var maxDropPath = 0.5
    /// The augmentation spec of the augmentation and combined variants (see ``/NablaData/AugmentationPipeline``).
    public var augmentation = "crop:2,flip"
    /// Run only these variant keys (``RegularizationStudy/variantKeys``); `nil` runs all.
    public var variants: [String]?
    /// Epochs of the seed-004 line runs (full batch, so one step each).
    public var lineEpochs = 2000
    /// Epochs of the initialization runs.
    public var initializationEpochs = 15
    /// Learning rate of the initialization runs (SGD with ``momentum``).
    public var initializationLearningRate = 0.01
    /// Gradient clipping of the initialization runs, so that the `normal(0, 1)` net's enormous first
    /// gradients cannot blow it up (the same clipping for every initialization).
    public var initializationClipNorm: Double? = 5
    /// Whether to run seed 004's noisy-line experiments.
    public var includesLine = true
    /// Whether to run the initialization study.
    public var includesInitialization = true

    /// The defaults of `nabla study regularization`.
    public init() {}

    /// Cosine annealing of the learning rate to zero over ``epochs``.
    var schedule: ScheduleSpecification? { try? ScheduleSpecification(parsing: "cosine:\(epochs)") }

    /// The SGD of the initialization runs.
    var initializationOptimizer: OptimizerSpecification {
        var o = sgd()
        o.learningRate = initializationLearningRate
        return o
    }

    /// The SGD of the image runs, optionally with coupled weight decay on the weights only.
    func sgd(weightDecay: Double? = nil) -> OptimizerSpecification {
        var o = OptimizerSpecification(name: "sgd")
        o.learningRate = learningRate
        o.hyperparameters["momentum"] = .number(momentum)
        if let weightDecay {
            o.weightDecay = weightDecay
            o.decayWeightsOnly = true
        }
        return o
    }
}

/// `nabla study regularization`.
public enum RegularizationStudy {
    /// The variants in report order: key, name, what it changes.
    public static let variantKeys = ["baseline", "l2-decay", "l2-penalty", "l1", "elastic-net", "dropout", "dropout-vanilla",
                                     "batchnorm", "batchnorm-dropout", "augmentation", "residual", "stochastic-depth", "combined"]

    /// The training plans of the image variants for samples of `inputShape` and `classCount` classes.
    /// - Throws: ``/NablaTensor/NablaError`` for an unknown variant key or augmentation spec.
    public static func plans(_ c: RegularizationStudyConfiguration, inputShape: [Int], classCount: Int) throws -> [StudyRunPlan] {
        if let unknown = c.variants?.first(where: { !variantKeys.contains($0) }) {
            throw NablaError(.invalidArgument, "--variants \(unknown): unknown variant; expected some of \(variantKeys.joined(separator: ","))")
        }
        let augmentation = try AugmentationPipeline(parsing: c.augmentation)
        func mlp(batchNorm: Bool = false, dropout: Double = 0) -> ModelDescription {
            StudyModels.mlp(inputShape: inputShape, outputCount: classCount, hidden: c.hidden, batchNorm: batchNorm, dropout: dropout)
        }
        func residual(_ p: Double) -> ModelDescription {
            StudyModels.residualMLP(inputShape: inputShape, outputCount: classCount, width: c.hidden[0],
                                    blocks: c.residualBlocks, maxDropPath: p)
        }
        func plan(_ key: String, _ name: String, _ summary: String, _ model: ModelDescription,
                  _ optimizer: OptimizerSpecification? = nil, configure: (inout StudyRunPlan) -> Void = { _ in }) -> StudyRunPlan {
            var p = StudyRunPlan(key: key, name: name, summary: summary, model: model, optimizer: optimizer ?? c.sgd(),
                                 epochs: c.epochs, batchSize: c.batchSize, seed: c.seed)
            p.schedule = c.schedule
            configure(&p)
            return p
        }
        let f = StudyRunPlan.format
        let all = [
            plan("baseline", "Baseline", "The MLP with no regularization at all: it memorizes the small training set.", mlp()),
            plan("l2-decay", "L2 weight decay", "Coupled weight decay in SGD (g ← g + λw, λ = \(f(c.weightDecay))) on the weights, not on biases.",
                 mlp(), c.sgd(weightDecay: c.weightDecay)),
            plan("l2-penalty", "L2 penalty", "λ/2·Σw² added to the loss (λ = \(f(c.weightDecay))): for SGD the same update as weight decay.",
                 mlp()) { $0.penalty = .l2(lambda: c.weightDecay) },
            plan("l1", "L1 penalty", "λ·Σ|w| added to the loss (λ = \(f(c.l1))): a constant pull to zero that makes weights sparse.",
                 mlp()) { $0.penalty = .l1(lambda: c.l1) },
            plan("elastic-net", "Elastic net", "λ·(β·Σw² + Σ|w|) with λ = \(f(c.elasticLambda)), β = \(f(c.elasticBeta)) (the elastic net of Zou & Hastie 2005).",
                 mlp()) { $0.penalty = .elasticNet(lambda: c.elasticLambda, beta: c.elasticBeta) },
            plan("dropout", "Dropout (inverted)", "Dropout p = \(f(c.dropout)) after every hidden layer, kept units scaled by 1/(1−p) in training.",
                 mlp(dropout: c.dropout)),
            plan("dropout-vanilla", "Dropout (vanilla)", "Dropout p = \(f(c.dropout)), unscaled in training, outputs scaled by (1−p) in evaluation.",
                 mlp(dropout: c.dropout)) { $0.dropoutMode = .vanilla },
            plan("batchnorm", "BatchNorm", "BatchNorm1d before every hidden ReLU: mini-batch statistics add noise in training.",
                 mlp(batchNorm: true)),
            plan("batchnorm-dropout", "BatchNorm + dropout", "BatchNorm1d and dropout p = \(f(c.dropout)) in every hidden block.",
                 mlp(batchNorm: true, dropout: c.dropout)),
            plan("augmentation", "Data augmentation", "Every training batch augmented with \(augmentation): random crops and flips.",
                 mlp()) { $0.augmentation = augmentation },
            plan("residual", "Residual net", "Linear→\(c.hidden[0]), ReLU, \(c.residualBlocks) residual blocks x + ReLU(Wx + b), Linear: the reference for stochastic depth.",
                 residual(0)),
            plan("stochastic-depth", "Stochastic depth", "The residual net with DropPath: block l of L skipped per sample with p = l/L·\(f(c.maxDropPath)).",
                 residual(c.maxDropPath)),
            plan("combined", "All combined", "BatchNorm + dropout p = \(f(c.dropout)) + weight decay λ = \(f(c.weightDecay)) + augmentation.",
                 mlp(batchNorm: true, dropout: c.dropout), c.sgd(weightDecay: c.weightDecay)) { $0.augmentation = augmentation },
        ]
        guard let selected = c.variants else { return all }
        return all.filter { selected.contains($0.key) }
    }

    /// Everything one `nabla study regularization` produced.
    public struct Result: Sendable {
        /// The settings the study ran with.
        public var configuration: RegularizationStudyConfiguration
        /// One line on the image data, for the report.
        public var dataDescription: String
        /// The image variants, in the order they ran.
        public var runs: [StudyRun]
        /// The noisy-line experiments, or `nil` when not run.
        public var line: SeedLineStudy.Result?
        /// The initialization runs (empty when not run).
        public var initialization: [StudyRun]
        /// The dropout-scale demonstration.
        public var dropoutScale: DropoutScaleDemo.Result
        /// Wall-clock seconds of the whole study.
        public var seconds: Double
    }

    /// Runs the study: the image variants on `data`, then the line, initialization and dropout-scale
    /// demos, writing logs under `outputDirectory/runs` (nothing when `nil`).
    public static func run(_ c: RegularizationStudyConfiguration, data: StudyData, outputDirectory: URL?,
                           progress: StudyProgress) throws -> Result {
        let start = Date()
        guard let classCount = data.train.classCount else {
            throw NablaError(.invalidArgument, "the regularization study needs class labels")
        }
        let runsDirectory = outputDirectory?.appendingPathComponent("runs")
        let runner = StudyRunner(data: data, runsDirectory: runsDirectory, progress: progress)
        let plans = try self.plans(c, inputShape: data.train.sampleShape, classCount: classCount)
        progress.section("Regularization: \(plans.count) variants of \(plans.first?.model.name ?? "the MLP") on \(data.description)")
        var runs: [StudyRun] = []
        for (i, plan) in plans.enumerated() { runs.append(try runner.run(plan, index: i + 1, of: plans.count)) }

        var line: SeedLineStudy.Result?
        if c.includesLine {
            line = try SeedLineStudy.run(epochs: c.lineEpochs, seed: c.seed, runsDirectory: runsDirectory, progress: progress)
        }
        var initialization: [StudyRun] = []
        if c.includesInitialization {
            let plans = InitializationStudy.plans(c, inputShape: data.train.sampleShape, classCount: classCount)
            progress.section("Initialization: \(plans.count) runs of \(c.initializationEpochs) epochs")
            for (i, plan) in plans.enumerated() { initialization.append(try runner.run(plan, index: i + 1, of: plans.count)) }
        }
        let dropoutScale = DropoutScaleDemo.run(seed: c.seed)
        return Result(configuration: c, dataDescription: data.description, runs: runs, line: line,
                      initialization: initialization, dropoutScale: dropoutScale, seconds: Date().timeIntervalSince(start))
    }
}
