import Foundation
import NablaTensor
import NablaNN
import NablaData
import NablaTraining

/// The CNN regime of `nabla study regularization --full` (or `--regime cnn`): small convolutional
/// nets on the **whole** Fashion-MNIST training set, where the data no longer lets a net memorize
/// everything cheaply and regularizers must earn their keep differently:
///
/// - *regularizers* — a 2-conv net plain, with BatchNorm, with dropout before the classifier, and
///   with crops and flips (SGD with momentum, cosine schedule; tuned over the learning rate and
///   each strength);
/// - *stochastic depth* — a residual net with and without DropPath (Huang et al., 2016);
/// - *decoupled weight decay* — the 2-conv net with Adam and coupled weight decay (L2 in the
///   gradient) against AdamW's decoupled decay (Loshchilov & Hutter, 2019), both tuned over the
///   learning rate and the decay.
public enum CNNRegime {
    /// The CNN variants, in report order (`--cnn-variants`).
    public static let variantKeys = ["cnn", "cnn-batchnorm", "cnn-dropout", "cnn-augmentation", "resnet", "resnet-stochastic-depth",
                                     "adam-l2", "adamw"]

    /// The grids: per variant with a strength, learning rates × strengths; without one, as many
    /// learning rates. `small` (3 points) is the default of `--full`.
    struct Grids {
        var learningRates: [Double]
        var baselineLearningRates: [Double]
        var dropout: [Double]
        var cropPadding: [Double]
        var dropPath: [Double]
        var adamLearningRates: [Double]
        var adamWeightDecay: [Double]

        static let standard = Grids(learningRates: [0.02, 0.05], baselineLearningRates: [0.01, 0.02, 0.05, 0.1],
                                    dropout: [0.25, 0.5], cropPadding: [1, 2], dropPath: [0.2, 0.5],
                                    adamLearningRates: [1e-3, 3e-3], adamWeightDecay: [1e-4, 1e-2])
    }

    /// The variants on images of `inputShape` with `classCount` classes, built on `base` (data, budget).
    public static func variants(_ c: RegularizationStudyConfiguration, inputShape: [Int], classCount: Int,
                                base: TrainingPlan) throws -> [StudyVariant] {
        guard inputShape.count == 3, inputShape[1] % 4 == 0, inputShape[2] % 4 == 0 else {
            throw NablaError(.invalidArgument, "the CNN regime needs images [C, H, W] with H and W divisible by 4, the data has \(inputShape)")
        }
        let g = Grids.standard
        let lr = c.cnnLearningRate
        func cnn(batchNorm: Bool = false, dropout: Double = 0) -> ModelDescription {
            StudyModels.cnn(inputShape: inputShape, outputCount: classCount, batchNorm: batchNorm, dropout: dropout)
        }
        func plan(_ model: ModelDescription, _ s: VariantSetting, configure: (inout TrainingPlan) -> Void = { _ in }) -> TrainingPlan {
            var p = base
            p.model = TrainingPlan.Model(description: model)
            p.model.initialization = .kaimingNormal
            p.optimizer = c.sgd(learningRate: s["lr"]!, weightDecay: nil)
            configure(&p)
            return p
        }
        func adam(_ name: String, _ s: VariantSetting) -> OptimizerSpecification {
            var o = OptimizerSpecification(name: name)
            o.learningRate = s["lr"]!
            o.weightDecay = s["weight_decay"]!
            o.decayWeightsOnly = true
            return o
        }
        let learningRateOnly = (VariantSetting([HyperParameter("lr", lr)]), VariantSetting.grid([("lr", g.baselineLearningRates)]))
        func withStrength(_ name: String, _ values: [Double], textbook: Double) -> (VariantSetting, [VariantSetting]) {
            (VariantSetting([HyperParameter("lr", lr), HyperParameter(name, textbook)]),
             VariantSetting.grid([("lr", g.learningRates), (name, values)]))
        }
        let adamSettings = (VariantSetting([HyperParameter("lr", 1e-3), HyperParameter("weight_decay", 1e-2)]),
                            VariantSetting.grid([("lr", g.adamLearningRates), ("weight_decay", g.adamWeightDecay)]))
        let all = [
            StudyVariant(key: "cnn", name: "CNN", summary: "Two 3×3 conv + ReLU + max-pool blocks (16, 32 filters), Linear 128, ReLU, Linear: no regularization.",
                         textbook: learningRateOnly.0, grid: learningRateOnly.1) { plan(cnn(), $0) },
            StudyVariant(key: "cnn-batchnorm", name: "CNN + BatchNorm", summary: "BatchNorm after both convolutions and the hidden Linear.",
                         textbook: learningRateOnly.0, grid: learningRateOnly.1) { plan(cnn(batchNorm: true), $0) },
            StudyVariant(key: "cnn-dropout", name: "CNN + dropout", summary: "Dropout p before the classifier; tuned over p.",
                         textbook: withStrength("p", g.dropout, textbook: 0.5).0, grid: withStrength("p", g.dropout, textbook: 0.5).1) { s in
                plan(cnn(dropout: s["p"]!), s)
            },
            StudyVariant(key: "cnn-augmentation", name: "CNN + augmentation", summary: "Random crops (zero padding) and horizontal flips; tuned over the padding.",
                         textbook: withStrength("crop", g.cropPadding, textbook: 2).0, grid: withStrength("crop", g.cropPadding, textbook: 2).1) { s in
                plan(cnn(), s) { $0.augmentation = "crop:\(Int(s["crop"]!)),flip" }
            },
            StudyVariant(key: "resnet", name: "Residual CNN", summary: "Conv 16 + BN + ReLU + pool, two residual blocks (conv-BN-ReLU-conv-BN), global average pool, Linear.",
                         textbook: learningRateOnly.0, grid: learningRateOnly.1) { s in
                plan(StudyModels.residualCNN(inputShape: inputShape, outputCount: classCount), s)
            },
            StudyVariant(key: "resnet-stochastic-depth", name: "Residual CNN + stochastic depth",
                         summary: "DropPath on the residual branches: block l of L dropped per sample with probability l/L·p; tuned over p.",
                         textbook: withStrength("p", g.dropPath, textbook: 0.5).0, grid: withStrength("p", g.dropPath, textbook: 0.5).1) { s in
                plan(StudyModels.residualCNN(inputShape: inputShape, outputCount: classCount, maxDropPath: s["p"]!), s)
            },
            StudyVariant(key: "adam-l2", name: "Adam + L2 (coupled)", summary: "Adam with weight decay added to the gradient (g ← g + λw), which Adam then rescales.",
                         textbook: adamSettings.0, grid: adamSettings.1) { s in
                plan(cnn(), s) { $0.optimizer = adam("adam", s); $0.schedule = "cosine:\(base.epochs)" }
            },
            StudyVariant(key: "adamw", name: "AdamW (decoupled)", summary: "AdamW: the weights shrink by lr·λ·w outside the adaptive step.",
                         textbook: adamSettings.0, grid: adamSettings.1) { s in
                plan(cnn(), s) { $0.optimizer = adam("adamw", s); $0.schedule = "cosine:\(base.epochs)" }
            },
        ]
        let keys = c.cnnVariants ?? variantKeys
        if let unknown = keys.first(where: { !variantKeys.contains($0) }) {
            throw NablaError(.invalidArgument, "--cnn-variants \(unknown): unknown variant; expected some of \(variantKeys.joined(separator: ","))")
        }
        return keys.compactMap { key in all.first { $0.key == key } }
    }

    /// The three comparison families of the chosen variants.
    public static func families(_ keys: [String]) -> [ComparisonFamily] {
        var families: [ComparisonFamily] = []
        let regularizers = ["cnn-batchnorm", "cnn-dropout", "cnn-augmentation"].filter(keys.contains)
        if keys.contains("cnn") && !regularizers.isEmpty {
            families.append(ComparisonFamily(name: "cnn-regularizers", question: "Do BatchNorm, dropout and augmentation change the CNN's test accuracy on full data?",
                                             baseline: "cnn", members: regularizers))
        }
        if keys.contains("resnet") && keys.contains("resnet-stochastic-depth") {
            families.append(ComparisonFamily(name: "cnn-stochastic-depth", question: "Does stochastic depth change the residual CNN's test accuracy?",
                                             baseline: "resnet", members: ["resnet-stochastic-depth"]))
        }
        if keys.contains("adam-l2") && keys.contains("adamw") {
            families.append(ComparisonFamily(name: "cnn-decoupled-weight-decay", question: "Does decoupling the weight decay from Adam's step (AdamW) change test accuracy?",
                                             baseline: "adam-l2", members: ["adamw"]))
        }
        return families
    }
}
