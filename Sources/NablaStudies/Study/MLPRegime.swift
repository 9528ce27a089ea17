import Foundation
import NablaTensor
import NablaNN
import NablaData
import NablaTraining

/// The overfitting regime of `nabla study regularization`: an MLP that can memorize a small subset
/// of the training images, trained plain and with every regularizer.
///
/// Every run uses SGD with momentum 0.9 and a cosine schedule to zero, batches of
/// ``RegularizationStudyConfiguration/batchSize``, Kaiming-normal weights (He et al., 2015; drawn
/// from the seed's initialization stream so that equal layers start equal in every variant) and
/// inputs standardized with the training part's statistics. Each variant is tuned over the learning
/// rate and its strength; the tables below are the grids (``RegularizationStudyConfiguration/Grid``).
public enum MLPRegime {
    /// The variants, in report order. `small` runs in `make run`, `full` with `--full`.
    public static func variantKeys(_ grid: RegularizationStudyConfiguration.Grid) -> [String] {
        switch grid {
        case .small: return ["baseline", "l2-decay", "l1", "dropout", "batchnorm", "augmentation", "combined"]
        case .full: return ["baseline", "l2-decay", "l2-penalty", "l1", "elastic-net", "dropout", "dropout-vanilla", "batchnorm",
                            "batchnorm-dropout", "augmentation", "combined", "residual", "stochastic-depth"]
        }
    }

    /// Every variant key the regime knows.
    public static let allVariantKeys = variantKeys(.full)

    /// Textbook strengths: weight decay 5·10⁻⁴ (Krizhevsky et al., 2012), dropout 0.5 (Srivastava
    /// et al., 2014), 2-pixel crops with flips (the 4-pixel CIFAR crops scaled to 28 × 28 images),
    /// stochastic depth 0.5 at the last block (Huang et al., 2016). L1 and elastic-net strengths have
    /// no textbook value; these are common starting points.
    public enum Textbook {
        /// Coupled weight decay λ (Krizhevsky et al., 2012).
        public static let weightDecay = 5e-4
        /// λ of the L1 penalty `λ·Σ|w|`.
        public static let l1 = 1e-5
        /// λ of the elastic net `λ·(β·Σw² + Σ|w|)`.
        public static let elasticLambda = 1e-5
        /// β of the elastic net.
        public static let elasticBeta = 50.0
        /// Dropout's drop probability (Srivastava et al., 2014).
        public static let dropout = 0.5
        /// The padding of random crops, in pixels (with horizontal flips).
        public static let cropPadding = 2.0
        /// Stochastic depth's drop probability at the last block (Huang et al., 2016).
        public static let dropPath = 0.5
    }

    /// The grids: learning rates for the variants with a strength, for the variants without one
    /// (baseline, BatchNorm, residual net: the same number of points, all of them learning rates),
    /// and each strength's values. Every variant has `learningRates.count × strength count` =
    /// `baselineLearningRates.count` points.
    struct Grids {
        var learningRates: [Double]
        var baselineLearningRates: [Double]
        var weightDecay: [Double]
        var l1: [Double]
        var elasticLambda: [Double]
        var dropout: [Double]
        var cropPadding: [Double]
        var dropPath: [Double]

        static func of(_ grid: RegularizationStudyConfiguration.Grid) -> Grids {
            switch grid {
            case .small:
                return Grids(learningRates: [0.02, 0.05], baselineLearningRates: [0.01, 0.02, 0.05, 0.1],
                             weightDecay: [5e-4, 5e-3], l1: [1e-5, 1e-4], elasticLambda: [1e-5, 1e-4],
                             dropout: [0.2, 0.5], cropPadding: [1, 2], dropPath: [0.2, 0.5])
            case .full:
                return Grids(learningRates: [0.01, 0.03, 0.1], baselineLearningRates: [0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2],
                             weightDecay: [1e-4, 1e-3, 1e-2], l1: [1e-6, 1e-5, 1e-4], elasticLambda: [1e-6, 1e-5, 1e-4],
                             dropout: [0.1, 0.3, 0.5], cropPadding: [1, 2, 3], dropPath: [0.2, 0.35, 0.5])
            }
        }
    }

    /// The variants of the regime on data of `inputShape` with `classCount` classes.
    /// - Parameter base: the plan every variant starts from (data, budget, normalization); the
    ///   variants set the model, the optimizer and their regularizer.
    /// - Throws: ``NablaError`` for an unknown variant key.
    public static func variants(_ c: RegularizationStudyConfiguration, inputShape: [Int], classCount: Int,
                                base: TrainingPlan) throws -> [StudyVariant] {
        let keys = c.variants ?? variantKeys(c.grid)
        if let unknown = keys.first(where: { !allVariantKeys.contains($0) }) {
            throw NablaError(.invalidArgument, "--variants \(unknown): unknown variant; expected some of \(allVariantKeys.joined(separator: ","))")
        }
        let g = Grids.of(c.grid)
        let lr = c.learningRate
        let f = StudyRunPlan.format
        func mlp(batchNorm: Bool = false, dropout: Double = 0) -> ModelDescription {
            StudyModels.mlp(inputShape: inputShape, outputCount: classCount, hidden: c.hidden, batchNorm: batchNorm, dropout: dropout)
        }
        func residual(_ p: Double) -> ModelDescription {
            StudyModels.residualMLP(inputShape: inputShape, outputCount: classCount, width: c.hidden[0],
                                    blocks: c.residualBlocks, maxDropPath: p)
        }
        func plan(_ model: ModelDescription, _ s: VariantSetting, weightDecay: Double? = nil,
                  configure: (inout TrainingPlan) -> Void = { _ in }) -> TrainingPlan {
            var p = base
            p.model = TrainingPlan.Model(description: model)
            p.model.initialization = .kaimingNormal
            p.optimizer = c.sgd(learningRate: s["lr"]!, weightDecay: weightDecay)
            configure(&p)
            return p
        }
        func withStrength(_ name: String, _ values: [Double], textbook: Double) -> (VariantSetting, [VariantSetting]) {
            (VariantSetting([HyperParameter("lr", lr), HyperParameter(name, textbook)]),
             VariantSetting.grid([("lr", g.learningRates), (name, values)]))
        }
        let learningRateOnly = (VariantSetting([HyperParameter("lr", lr)]), VariantSetting.grid([("lr", g.baselineLearningRates)]))
        func augmentation(_ padding: Double) -> String { "crop:\(Int(padding)),flip" }

        var all: [StudyVariant] = []
        func add(_ key: String, _ name: String, _ summary: String, _ settings: (VariantSetting, [VariantSetting]),
                 _ plan: @escaping (VariantSetting) throws -> TrainingPlan) {
            all.append(StudyVariant(key: key, name: name, summary: summary, textbook: settings.0, grid: settings.1, plan: plan))
        }
        add("baseline", "Baseline", "The MLP with no regularization: it memorizes the small training set.", learningRateOnly) {
            plan(mlp(), $0)
        }
        add("l2-decay", "L2 weight decay",
            "Coupled weight decay in SGD, g ← g + λw, on the weights (not biases); tuned over λ.",
            withStrength("weight_decay", g.weightDecay, textbook: Textbook.weightDecay)) { s in
            plan(mlp(), s, weightDecay: s["weight_decay"]!)
        }
        add("l2-penalty", "L2 penalty",
            "λ/2·Σw² added to the loss: for SGD the same update as weight decay λ (a check of the implementation).",
            withStrength("lambda", g.weightDecay, textbook: Textbook.weightDecay)) { s in
            plan(mlp(), s) { $0.penalty = "l2:\(f(s["lambda"]!))" }
        }
        add("l1", "L1 penalty", "λ·Σ|w| added to the loss: a constant pull towards zero that makes weights sparse.",
            withStrength("lambda", g.l1, textbook: Textbook.l1)) { s in
            plan(mlp(), s) { $0.penalty = "l1:\(f(s["lambda"]!))" }
        }
        add("elastic-net", "Elastic net",
            "λ·(β·Σw² + Σ|w|) with β = \(f(Textbook.elasticBeta)) (the elastic net, Zou & Hastie 2005); tuned over λ.",
            withStrength("lambda", g.elasticLambda, textbook: Textbook.elasticLambda)) { s in
            plan(mlp(), s) { $0.penalty = "elastic:\(f(s["lambda"]!)):\(f(Textbook.elasticBeta))" }
        }
        add("dropout", "Dropout", "Inverted dropout after every hidden layer: kept units scaled by 1/(1−p) in training; tuned over p.",
            withStrength("p", g.dropout, textbook: Textbook.dropout)) { s in
            plan(mlp(dropout: s["p"]!), s)
        }
        add("dropout-vanilla", "Dropout (vanilla)", "Dropout unscaled in training, outputs scaled by (1−p) in evaluation.",
            withStrength("p", g.dropout, textbook: Textbook.dropout)) { s in
            plan(mlp(dropout: s["p"]!), s) { $0.model.dropoutMode = .vanilla }
        }
        add("batchnorm", "BatchNorm", "BatchNorm1d before every hidden ReLU (Ioffe & Szegedy, 2015); tuned over the learning rate only.",
            learningRateOnly) { plan(mlp(batchNorm: true), $0) }
        add("batchnorm-dropout", "BatchNorm + dropout", "BatchNorm1d and dropout p in every hidden block; tuned over p.",
            withStrength("p", g.dropout, textbook: Textbook.dropout)) { s in
            plan(mlp(batchNorm: true, dropout: s["p"]!), s)
        }
        add("augmentation", "Data augmentation", "Random crops (zero padding, then a random 28×28 window) and horizontal flips of every training batch; tuned over the padding.",
            withStrength("crop", g.cropPadding, textbook: Textbook.cropPadding)) { s in
            plan(mlp(), s) { $0.augmentation = augmentation(s["crop"]!) }
        }
        add("combined", "All combined",
            "BatchNorm + dropout p + weight decay \(f(Textbook.weightDecay)) + crops (padding 2) and flips; tuned over p.",
            withStrength("p", g.dropout, textbook: Textbook.dropout)) { s in
            plan(mlp(batchNorm: true, dropout: s["p"]!), s, weightDecay: Textbook.weightDecay) {
                $0.augmentation = augmentation(Textbook.cropPadding)
            }
        }
        add("residual", "Residual net",
            "Linear→\(c.hidden[0]), ReLU, \(c.residualBlocks) residual blocks x + ReLU(Wx + b), Linear: the reference for stochastic depth.",
            learningRateOnly) { plan(residual(0), $0) }
        add("stochastic-depth", "Stochastic depth",
            "The residual net with DropPath: block l of L skipped per sample with probability l/L·p; tuned over p.",
            withStrength("p", g.dropPath, textbook: Textbook.dropPath)) { s in
            plan(residual(s["p"]!), s)
        }
        return keys.compactMap { key in all.first { $0.key == key } }
    }

    /// The comparison families of the chosen variants: the regularized MLPs against the baseline, and
    /// stochastic depth against the residual net (its own reference).
    public static func families(_ keys: [String]) -> [ComparisonFamily] {
        var families: [ComparisonFamily] = []
        let regularizers = keys.filter { !["baseline", "residual", "stochastic-depth"].contains($0) }
        if keys.contains("baseline") && !regularizers.isEmpty {
            families.append(ComparisonFamily(name: "regularizers", question: "Does each regularizer change the MLP's test accuracy?",
                                             baseline: "baseline", members: regularizers))
        }
        if keys.contains("residual") && keys.contains("stochastic-depth") {
            families.append(ComparisonFamily(name: "stochastic-depth", question: "Does stochastic depth change the residual net's test accuracy?",
                                             baseline: "residual", members: ["stochastic-depth"]))
        }
        return families
    }
}
