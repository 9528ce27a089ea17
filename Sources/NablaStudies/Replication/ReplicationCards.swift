import Foundation
import NablaTensor
import NablaNN
import NablaTraining

/// The replication cards of `nabla study replicate`.
public enum ReplicationCards {
    /// Every card, in report order.
    public static let keys = ["dropout", "adamw", "batchnorm", "augmentation-vs-weight-decay", "fashion-mnist-cnn"]

    /// The cards named `keys` (all when empty) on `context`.
    /// - Throws: ``NablaError`` for an unknown name.
    public static func cards(_ keys: [String], context: ReplicationContext) throws -> [ReplicationCard] {
        if let unknown = keys.first(where: { !Self.keys.contains($0) }) {
            throw NablaError(.invalidArgument, "\(unknown): unknown replication; expected some of \(Self.keys.joined(separator: ", "))")
        }
        return try (keys.isEmpty ? Self.keys : keys).map { key in
            switch key {
            case "dropout": return dropout(context)
            case "adamw": return decoupledWeightDecay(context)
            case "batchnorm": return batchNorm(context)
            case "augmentation-vs-weight-decay": return augmentationVersusWeightDecay(context)
            default: return try fashionBaseline(context)
            }
        }
    }

    static func sgd(_ lr: Double, momentum: Double = 0.9, weightDecay: Double? = nil) -> OptimizerSpecification {
        var o = OptimizerSpecification(name: "sgd")
        o.learningRate = lr
        o.hyperparameters["momentum"] = .number(momentum)
        if let weightDecay {
            o.weightDecay = weightDecay
            o.decayWeightsOnly = true
        }
        return o
    }

    /// A comparison row of a card: an arm's per-seed values of `metric`.
    static func row(_ key: String, _ name: String, _ runs: [StudyRunResult], _ metric: StudyMetric) -> StudyComparison.Row {
        StudyComparison.Row(key: key, name: name, setting: VariantSetting([]), values: runs.map(metric.value))
    }

    /// The per-seed results of arm `arm` of `card`.
    static func runs(_ results: [String: StudyRunResult], _ card: String, _ arm: String, _ seeds: [UInt64]) -> [StudyRunResult] {
        seeds.compactMap { results["\(card)/\(arm)/seed-\($0)"] }
    }

    // MARK: (a) Dropout

    /// Srivastava et al. (2014), Table 2: on MNIST a ReLU MLP with dropout reaches 1.25% test error
    /// against 1.60% for a standard net (−22% relative).
    static func dropout(_ context: ReplicationContext) -> ReplicationCard {
        let key = "dropout", seeds = context.seeds
        let subset = context.subset(10_000), epochs = 30
        var plain = StudyModels.mlp(inputShape: context.inputShape, outputCount: context.classCount, hidden: [512, 512])
        var dropped = StudyModels.mlp(inputShape: context.inputShape, outputCount: context.classCount, hidden: [512, 512], dropout: 0.5)
        dropped.layers.insert(LayerDescription("Dropout", ["p": .double(0.2)]), at: 1)
        dropped.name += ", input dropout 0.2"
        plain.name = "MLP 784-512-512-10"
        func plan(_ model: ModelDescription) -> TrainingPlan {
            var p = context.plan(model, subset: subset, validationFraction: 0.2, epochs: epochs, batchSize: 128)
            p.optimizer = sgd(0.05)
            p.schedule = "cosine:\(p.epochs)"
            return p
        }
        let jobs = seeds.flatMap { seed in
            [context.job(card: key, arm: "standard", plan: plan(plain), seed: seed), context.job(card: key, arm: "dropout", plan: plan(dropped), seed: seed)]
        }
        let epochsUsed = plan(plain).epochs
        return ReplicationCard(
            key: key, title: "(a) Dropout lowers the test error of an MLP", source: "Srivastava et al. (2014), JMLR 15, Table 2",
            claim: "On MNIST, a ReLU MLP (3 × 1024 units) trained with dropout (p = 0.5 hidden, 0.2 input) reaches 1.25% test error, against "
                + "1.60% for a standard net: dropout lowers the test error (−22% relative).",
            setup: (context.dataName == "Fashion-MNIST" ? "Fashion-MNIST instead of MNIST (only Fashion-MNIST is installed; harder, so errors are ~10×)"
                    : "\(context.dataName) instead of MNIST") + ", the first \(subset) training "
                + "images (a fifth held out), MLP 784-512-512-10 instead of 3 × 1024, \(epochsUsed) epochs of SGD (momentum 0.9, lr 0.05, cosine) "
                + "instead of thousands, no max-norm constraint; both nets at the same learning rate; \(seeds.count) paired seeds.",
            band: "Replicated if dropout's test error is lower: the 95% interval of the paired difference (dropout − standard) lies below 0.",
            jobs: jobs) { results in
            let standard = runs(results, key, "standard", seeds), withDropout = runs(results, key, "dropout", seeds)
            let error = StudyMetric(name: "test_error", title: "test error", split: "test", higherIsBetter: false, displayScale: 100,
                                    unit: "points") { $0.test?.accuracy.map { 1 - $0 } }
            let family = ComparisonFamily(name: "dropout", question: "Does dropout lower the MLP's test error?", baseline: "standard", members: ["dropout"])
            let comparison = try StudyComparison(name: "replicate/dropout/test_error", family: family, setting: .textbook, metric: error, seeds: seeds,
                                                 baseline: row("standard", "standard MLP", standard, error),
                                                 members: [row("dropout", "MLP + dropout", withDropout, error)])
            let c = comparison.members[0].comparison
            let passed = comparison.members[0].verdict?.label == .better
            let base = standard.compactMap { $0.test?.accuracy.map { 1 - $0 } }, drop = withDropout.compactMap { $0.test?.accuracy.map { 1 - $0 } }
            let relative = (drop.reduce(0, +) - base.reduce(0, +)) / max(1e-12, base.reduce(0, +))
            let measured = "test error \(ReplicationCard.meanWithInterval(base)) standard, \(ReplicationCard.meanWithInterval(drop)) dropout; "
                + "difference \(c.map { SeededStudyReport.difference($0, error) } ?? "—") (\(String(format: "%+.0f", relative * 100))% relative)"
            let reversed = (c?.interval?.lower ?? 0) > 0
            let explanation = passed
                ? "Dropout lowered the test error on every comparison the interval covers, by \(String(format: "%.0f", -relative * 100))% relative (paper: 22%)."
                : reversed
                ? "The opposite of the paper: dropout raised the test error, by \(String(format: "%.0f", relative * 100))% relative, and the whole "
                    + "interval of the paired difference lies above 0. In \(epochsUsed) epochs on \(subset) images the dropout net is still "
                    + "under-fitted (compare the curves); the paper trains for far longer, with max-norm and larger nets."
                : "No detectable difference with \(seeds.count) seeds: the interval of the paired difference contains 0. In \(epochsUsed) epochs on "
                    + "\(subset) images dropout's extra noise did not pay off (the paper trains far longer, with max-norm and larger nets)."
            return ReplicationOutcome(status: passed ? .replicated : .notReplicated, measured: measured, explanation: explanation,
                                      tables: [], charts: [(SeededStudyReport.curveChart([("standard", standard), ("dropout", withDropout)],
                                                                                         title: "Validation error per epoch (mean, 95% CI)") {
                                          $0.validationAccuracy.map { 100 * (1 - $0) } }, "Validation split, never the test split.")],
                                      comparisons: [comparison])
        }
    }
}
