import Foundation
import NablaTensor
import NablaNN
import NablaTraining

extension ReplicationCards {
    // MARK: (b) Decoupled weight decay

    /// Loshchilov & Hutter (2019), Fig. 2: test error over a learning-rate × weight-decay grid is
    /// smaller and its good region wider and less tied to the learning rate for AdamW than for Adam
    /// with L2 regularization.
    static func decoupledWeightDecay(_ context: ReplicationContext) -> ReplicationCard {
        let key = "adamw"
        let seeds = Array(context.seeds.prefix(2))
        let learningRates = [1e-4, 3e-4, 1e-3, 3e-3], decays = [1e-5, 1e-4, 1e-3, 1e-2]
        let subset = context.subset(5000), epochs = 20
        let model = StudyModels.mlp(inputShape: context.inputShape, outputCount: context.classCount, hidden: [256, 256])
        func plan(_ optimizer: String, lr: Double, lambda: Double) -> TrainingPlan {
            var p = context.plan(model, subset: subset, validationFraction: 0.4, epochs: epochs, batchSize: 128)
            var o = OptimizerSpecification(name: optimizer)
            o.learningRate = lr
            // Adam + L2: λw is added to the gradient. AdamW: PyTorch's rule shrinks the weights by
            // lr·wd per step; wd = λ/lr makes it the paper's η_t·λ, decoupled from the learning rate.
            o.weightDecay = optimizer == "adam" ? lambda : lambda / lr
            o.decayWeightsOnly = true
            p.optimizer = o
            p.schedule = "cosine:\(p.epochs)"
            return p
        }
        func arm(_ optimizer: String, _ lr: Double, _ lambda: Double) -> String {
            "\(optimizer)/lr=\(VariantSetting.format(lr)),lambda=\(VariantSetting.format(lambda))"
        }
        var jobs: [StudyJob] = []
        for optimizer in ["adam", "adamw"] {
            for lr in learningRates {
                for lambda in decays {
                    for seed in seeds {
                        jobs.append(context.job(card: key, arm: arm(optimizer, lr, lambda), plan: plan(optimizer, lr: lr, lambda: lambda), seed: seed,
                                                measurement: .tuningTrial))
                    }
                }
            }
        }
        let epochsUsed = plan("adam", lr: 1e-3, lambda: 1e-4).epochs
        return ReplicationCard(
            key: key, title: "(b) Decoupled weight decay: Adam + L2 vs AdamW over a learning-rate × decay grid",
            source: "Loshchilov & Hutter (2019), ICLR, Fig. 2",
            claim: "On CIFAR-10 (26 2×64d ResNet, 100 epochs), AdamW's test error is lower and its region of good (learning rate, weight decay) "
                + "pairs is wider and not diagonal: the best decay hardly depends on the learning rate, while for Adam with L2 it does.",
            setup: "\(context.dataName), the first \(subset) training images (40% held out: the grid is judged on validation error, so no test figure "
                + "chooses anything), MLP 784-256-256-10 instead of a ResNet, \(epochsUsed) epochs with cosine annealing, a 4 × 4 grid "
                + "(lr \(learningRates.map { VariantSetting.format($0) }.joined(separator: ", ")); λ \(decays.map { VariantSetting.format($0) }.joined(separator: ", "))) "
                + "× \(seeds.count) seeds per cell. AdamW runs with weight_decay = λ/lr, so that its per-step decay is the paper's η_t·λ.",
            band: "Replicated if AdamW's near-best region (cells within 1 point of its best mean validation error) has more cells than Adam + L2's, "
                + "and AdamW's best error is at most 0.5 points above Adam + L2's.",
            jobs: jobs) { results in
            func grid(_ optimizer: String) -> [[Double?]] {
                decays.reversed().map { lambda in
                    learningRates.map { lr -> Double? in
                        let values = seeds.compactMap { results["\(key)/\(arm(optimizer, lr, lambda))/seed-\($0)"] }
                            .compactMap { $0.divergence == nil ? $0.final?.validationAccuracy : nil }
                        guard values.count == seeds.count else { return nil }
                        return 100 * (1 - values.reduce(0, +) / Double(values.count))
                    }
                }
            }
            let adam = grid("adam"), adamw = grid("adamw")
            func best(_ g: [[Double?]]) -> Double { g.flatMap { $0.compactMap { $0 } }.min() ?? .infinity }
            func region(_ g: [[Double?]]) -> Int { let b = best(g); return g.flatMap { $0.compactMap { $0 } }.filter { $0 <= b + 1 }.count }
            /// For each learning rate, the decay of the best cell: how strongly the optimum is tied to the learning rate.
            func bestDecays(_ g: [[Double?]]) -> [String] {
                learningRates.indices.map { c in
                    let column = g.indices.compactMap { r in g[r][c].map { (r, $0) } }
                    guard let r = column.min(by: { $0.1 < $1.1 })?.0 else { return "—" }
                    return VariantSetting.format(decays.reversed()[r])
                }
            }
            let values = (adam + adamw).flatMap { $0.compactMap { $0 } }
            let range = (values.min() ?? 0)...(max((values.min() ?? 0) + 1, min(values.max() ?? 100, (values.min() ?? 0) + 25)))
            func heatmap(_ g: [[Double?]], _ title: String) -> HeatmapChart {
                let b = best(g)
                var marks: Set<[Int]> = []
                for r in g.indices { for c in g[r].indices where g[r][c] == b { marks.insert([r, c]) } }
                return HeatmapChart(title: title, xTitle: "learning rate", yTitle: "weight decay λ",
                                    rowLabels: decays.reversed().map { VariantSetting.format($0) }, columnLabels: learningRates.map { VariantSetting.format($0) },
                                    values: g, colorTitle: "val. error (%)", colorRange: range, lowIsBright: true,
                                    cellLabel: { String(format: "%.1f", $0) }, highlighted: marks, width: 520, height: 420)
            }
            let passed = region(adamw) > region(adam) && best(adamw) <= best(adam) + 0.5
            let measured = String(format: "best validation error: Adam + L2 %.2f%%, AdamW %.2f%%; cells within 1 point of the best: Adam + L2 %d, AdamW %d of 16; "
                                  + "best λ per learning rate: Adam + L2 %@, AdamW %@", best(adam), best(adamw), region(adam), region(adamw),
                                  bestDecays(adam).joined(separator: "/"), bestDecays(adamw).joined(separator: "/"))
            let explanation = passed
                ? "AdamW's good region is wider than Adam + L2's at a comparable best error, as in the paper's figure."
                : (best(adamw) > best(adam) + 0.5 ? "AdamW's best error is more than half a point above Adam + L2's on this small problem. " : "")
                    + (region(adamw) <= region(adam) ? "Its near-best region is not wider: with a short budget and an MLP that barely overfits, "
                        + "weight decay of either kind changes the error little across most of the grid, so both regions are broad." : "")
            return ReplicationOutcome(status: passed ? .replicated : .notReplicated, measured: measured, explanation: explanation, tables: [],
                                      charts: [(heatmap(adam, "Adam + L2 (coupled)"), "Mean validation error over \(seeds.count) seeds; red: best cell."),
                                               (heatmap(adamw, "AdamW (decoupled)"), "Same color scale as the left map.")],
                                      comparisons: [])
        }
    }

    // MARK: (c) Batch normalization

    /// Ioffe & Szegedy (2015), §4.2: with batch normalization Inception tolerates a 5× (and 30×)
    /// higher learning rate and reaches the plain net's best accuracy in far fewer steps (BN-x5: 14×
    /// fewer).
    static func batchNorm(_ context: ReplicationContext) -> ReplicationCard {
        let key = "batchnorm", seeds = context.seeds
        let subset = context.subset(6000), epochs = 15, base = 0.01
        let factors: [(String, Double)] = [("x1", 1), ("x5", 5), ("x30", 30)]
        func plan(batchNorm: Bool, lr: Double) -> TrainingPlan {
            let model = StudyModels.mlp(inputShape: context.inputShape, outputCount: context.classCount, hidden: [256, 256, 256], batchNorm: batchNorm)
            var p = context.plan(model, subset: subset, validationFraction: 1.0 / 6, epochs: epochs, batchSize: 64)
            p.optimizer = sgd(lr)
            return p
        }
        var jobs: [StudyJob] = []
        for (name, factor) in factors {
            for seed in seeds {
                jobs.append(context.job(card: key, arm: "plain-\(name)", plan: plan(batchNorm: false, lr: base * factor), seed: seed,
                                        measurement: .tuningTrial))
                jobs.append(context.job(card: key, arm: "bn-\(name)", plan: plan(batchNorm: true, lr: base * factor), seed: seed,
                                        measurement: .tuningTrial))
            }
        }
        let epochsUsed = plan(batchNorm: false, lr: base).epochs
        return ReplicationCard(
            key: key, title: "(c) Batch normalization allows higher learning rates and reaches a target accuracy in fewer steps",
            source: "Ioffe & Szegedy (2015), ICML, §4.2.1–4.2.2, Fig. 2 and Table 1",
            claim: "Inception with batch normalization and a 5× learning rate (BN-x5) reaches the plain Inception's best accuracy (72.2%) in "
                + "14× fewer steps; BN-x30 trains too, while the plain net needs its small learning rate.",
            setup: "A 4-layer MLP (784-256-256-256-10) with and without BatchNorm before each ReLU on the first \(subset) images of \(context.dataName) "
                + "(a sixth held out), SGD with momentum 0.9 and a constant learning rate \(VariantSetting.format(base)) × 1, 5, 30 for "
                + "\(epochsUsed) epochs, \(seeds.count) paired seeds. Target: the plain net's best validation accuracy at the base rate, "
                + "taken as the lowest over the seeds so that every plain run reaches it; steps are counted at epoch ends.",
            band: "Replicated if BN-x5 reaches the target in fewer steps than the plain net (95% interval of the paired mean log₂ step ratio "
                + "above 0) and the plain net at 30× does not reach the target while BN-x30 does on every seed.",
            jobs: jobs) { results in
            let plain = runs(results, key, "plain-x1", seeds), bn5 = runs(results, key, "bn-x5", seeds)
            let plain30 = runs(results, key, "plain-x30", seeds), bn30 = runs(results, key, "bn-x30", seeds)
            let target = plain.map { run in run.epochs.compactMap(\.validationAccuracy).max() ?? 0 }.min() ?? 1
            func steps(_ run: StudyRunResult) -> Int? { run.epochs.first { ($0.validationAccuracy ?? 0) >= target }?.step }
            let basePairs = zip(plain, bn5).map { (steps($0), steps($1)) }
            let ratios = basePairs.compactMap { a, b -> Double? in
                guard let a, let b else { return nil }
                return log2(Double(a) / Double(b))
            }
            let complete = ratios.count == seeds.count
            let comparison = complete ? try PairedComparison(differences: ratios) : nil
            let faster = comparison.map { ($0.interval?.lower ?? 0) > 0 } ?? false
            let plain30Fails = plain30.allSatisfy { steps($0) == nil }, bn30Reaches = bn30.allSatisfy { steps($0) != nil }
            let passed = faster && plain30Fails && bn30Reaches
            let speedups = basePairs.map { a, b in (a != nil && b != nil) ? String(format: "%.1f×", Double(a!) / Double(b!)) : "—" }
            var table = ReportTable(columns: ["run", "learning rate", "final val. accuracy (%)", "steps to target", "diverged"],
                                    caption: String(format: "Target: %.2f%% validation accuracy; mean over %d seeds", target * 100, seeds.count))
            for (name, factor) in factors {
                for (label, prefix) in [("plain", "plain"), ("BatchNorm", "bn")] {
                    let r = runs(results, key, "\(prefix)-\(name)", seeds)
                    let reached = r.compactMap(steps)
                    table.append([.text("\(label) \(name)"), .number(base * factor, .significant(3)),
                                  .text(ReplicationCard.meanWithInterval(r.compactMap { $0.final?.validationAccuracy }, unit: "")),
                                  .text(reached.count == r.count ? String(format: "%.0f", Double(reached.reduce(0, +)) / Double(max(1, reached.count)))
                                        : "\(reached.count) of \(r.count) reached"),
                                  .integer(r.filter { $0.divergence != nil }.count)])
                }
            }
            let measured = String(format: "target %.2f%%; BN-x5 speed-up per seed %@ (mean log₂ ratio %@); plain x30 reached it in %d of %d seeds, BN-x30 in %d of %d",
                                  target * 100, speedups.joined(separator: ", "),
                                  comparison.map { "\(SeededStudyReport.number($0.meanDifference)) [\(SeededStudyReport.number($0.interval?.lower ?? .nan)), \(SeededStudyReport.number($0.interval?.upper ?? .nan))]" } ?? "—",
                                  plain30.filter { steps($0) != nil }.count, seeds.count, bn30.filter { steps($0) != nil }.count, seeds.count)
            var reasons: [String] = []
            if !faster { reasons.append("BN-x5 was not reliably faster to the target") }
            if !plain30Fails { reasons.append("the plain net still trained at 30× (an MLP with momentum SGD tolerates it on this easy problem)") }
            if !bn30Reaches { reasons.append("BN-x30 missed the target on some seed") }
            let explanation = passed ? "BatchNorm let the net train at 5× and 30× the plain net's learning rate and reach its accuracy sooner."
                : reasons.joined(separator: "; ") + "."
            let chart = SeededStudyReport.curveChart([("plain x1", plain), ("BatchNorm x1", runs(results, key, "bn-x1", seeds)), ("BatchNorm x5", bn5),
                                                      ("plain x30", plain30), ("BatchNorm x30", bn30)],
                                                     title: "Validation accuracy per epoch (mean, 95% CI)") { $0.validationAccuracy.map { $0 * 100 } }
            return ReplicationOutcome(status: passed ? .replicated : .notReplicated, measured: measured, explanation: explanation,
                                      tables: [table], charts: [(chart, "Validation split; the target is the plain net's best, see the table.")],
                                      comparisons: [])
        }
    }
}
