import Foundation
import NablaTensor
import NablaTraining

/// `nabla study search`: random search of the learning rate and the weight decay on a validation
/// split (Bergstra & Bengio, 2012; "Deep Learning from Scratch" §6.5, where seed 001 comes from),
/// with the steps that make its answer trustworthy:
///
/// 1. *Search* — `trials` configurations drawn log-uniformly (`10^U(a, b)`), each trained with SGD
///    (momentum 0.9, constant learning rate, coupled weight decay on the weights) on the search
///    seed and scored by its final **validation** accuracy. With successive halving (Jamieson &
///    Talwalkar, 2016) the trials first train for a fraction of the epochs and only the best 1/η
///    go on to η times the epochs, rung after rung, until the full budget. With a constant learning
///    rate a shorter run is exactly the beginning of the longer one, so every rung retrains from
///    scratch and the cache shares nothing between rungs but nothing is lost either.
/// 2. *Re-seeding* — the best `topCount` configurations are trained again on `reseeds` seeds (the
///    search seed and the next ones); the winner is the best **mean validation** accuracy, and a
///    paired comparison says whether the runners-up are detectably worse.
/// 3. *Final* — the winner is retrained on training + validation data on `reseeds` final seeds and
///    evaluated on the **test** split once per run.
public enum RandomSearch {
    /// The settings of `nabla study search`.
    public struct Configuration: Sendable {
        /// The number of sampled configurations.
        public var trials = 24
        /// The learning rates are drawn as `10^U(log10 a, log10 b)` from this range.
        public var learningRateRange: ClosedRange<Double> = 1e-4...1
        /// The weight decays are drawn log-uniformly from this range.
        public var weightDecayRange: ClosedRange<Double> = 1e-8...1e-1
        /// Hidden widths of the MLP (four layers of 100, the book's).
        public var hidden = [100, 100, 100, 100]
        /// The full budget: epochs of every run of the last rung, the re-runs and the final runs.
        public var epochs = 20
        /// Mini-batch size of every run.
        public var batchSize = 100
        /// The fraction of the training data held out to judge the configurations.
        public var validationFraction = 0.2
        /// The seed of the sampling and the first final seed (see ``searchSeeds`` and ``finalSeeds``).
        public var seed: UInt64 = 0
        /// Successive halving with factor ``eta``.
        public var halving = false
        /// The factor of successive halving: each rung keeps the best 1/η for η times the epochs.
        public var eta = 3
        /// Configurations re-run on several seeds.
        public var topCount = 3
        /// Seeds of the re-runs and of the final runs (at least 2; 3 by default).
        public var reseeds = 3
        /// The defaults of `nabla study search`.
        public init() {}

        /// The search seed (shared by every trial) and the re-run seeds; the final runs use
        /// ``finalSeeds``.
        public var searchSeeds: [UInt64] { (0..<UInt64(reseeds)).map { seed + 1000 + $0 } }
        /// The seeds of the winner's final runs: `seed, seed + 1, …`.
        public var finalSeeds: [UInt64] { (0..<UInt64(reseeds)).map { seed + $0 } }

        /// The rungs of successive halving: (configurations, epochs) from the first rung to the last,
        /// whose epochs are the full budget. Without halving, one rung of every trial at full budget.
        public var rungs: [(count: Int, epochs: Int)] {
            guard halving, eta >= 2 else { return [(trials, epochs)] }
            func power(_ k: Int) -> Int { (0..<k).reduce(1) { p, _ in p * eta } }
            func count(_ r: Int) -> Int { (trials + power(r) - 1) / power(r) }
            // As many rungs as keep at least `topCount` configurations at the end and one epoch at the start.
            var levels = 1
            while count(levels) >= max(1, topCount) && epochs / power(levels) >= 1 { levels += 1 }
            return (0..<levels).map { r in (count(r), max(1, epochs / power(levels - 1 - r))) }
        }
    }

    /// A sampled configuration.
    public struct Trial: Sendable, Equatable {
        /// SGD's learning rate.
        public var learningRate: Double
        /// SGD's coupled weight decay on the weights.
        public var weightDecay: Double
    }

    /// `count` configurations, log-uniform in both ranges, from `RandomGenerator(seed:stream:)`,
    /// rounded to three significant digits (so the commands are exact).
    /// - Precondition: both ranges are positive.
    public static func sample(_ c: Configuration) -> [Trial] {
        precondition(c.learningRateRange.lowerBound > 0 && c.weightDecayRange.lowerBound > 0,
                     "RandomSearch: ranges \(c.learningRateRange), \(c.weightDecayRange) must be positive for log-uniform sampling")
        var g = RandomGenerator(seed: c.seed, stream: 0x5EA2C4)
        func logUniform(_ r: ClosedRange<Double>) -> Double {
            pow(10, log10(r.lowerBound) + (log10(r.upperBound) - log10(r.lowerBound)) * g.nextUnit())
        }
        return (0..<c.trials).map { _ in
            let lr = logUniform(c.learningRateRange)
            return Trial(learningRate: rounded(lr), weightDecay: rounded(logUniform(c.weightDecayRange)))
        }
    }

    /// Three significant digits, as a string that parses back to the value used.
    static func rounded(_ x: Double) -> Double { Double(String(format: "%.3g", x))! }

    /// The plan of `trial` trained for `epochs` on `seed` (validation split unless `final`).
    static func plan(_ c: Configuration, data: StudyData, trial: Trial, epochs: Int, final: Bool) -> TrainingPlan {
        var plan = TrainingPlan(model: .init(description: StudyModels.mlp(inputShape: data.train.sampleShape,
                                                                            outputCount: data.train.classCount ?? 1, hidden: c.hidden)),
                                data: .init(spec: data.dataSpec))
        plan.data.trainSubset = data.trainSubset
        plan.data.validationFraction = final ? 0 : c.validationFraction
        plan.data.normalize = data.normalizes
        plan.model.initialization = .kaimingNormal
        var o = OptimizerSpecification(name: "sgd")
        o.learningRate = trial.learningRate
        o.hyperparameters["momentum"] = .number(0.9)
        o.weightDecay = trial.weightDecay
        o.decayWeightsOnly = true
        plan.optimizer = o
        plan.epochs = epochs
        plan.batchSize = c.batchSize
        return plan
    }

    static func label(_ t: Trial) -> String { "lr=\(VariantSetting.format(t.learningRate)),wd=\(VariantSetting.format(t.weightDecay))" }

    static func job(_ c: Configuration, data: StudyData, identity: String, runs: URL?, stage: String, trial: Trial, epochs: Int,
                    seed: UInt64, final: Bool = false) -> StudyJob {
        var plan = plan(c, data: data, trial: trial, epochs: epochs, final: final)
        plan.seed = seed
        plan.output.logDirectory = runs?.appendingPathComponent(stage).appendingPathComponent(label(trial))
            .appendingPathComponent("epochs-\(epochs)-seed-\(seed)").path
        plan.output.logHistograms = false
        plan.output.quiet = true
        return StudyJob(id: "search/\(stage)/\(label(trial))/epochs-\(epochs)/seed-\(seed)", plan: plan,
                        measurement: final ? .finalRun : .tuningTrial, dataIdentity: identity)
    }

    /// One trained trial of the search or of the re-runs.
    public struct Run: Sendable {
        /// The configuration.
        public var trial: Trial
        /// The rung of successive halving (0 without halving; the re-runs carry the last).
        public var rung: Int
        /// The epochs it trained.
        public var epochs: Int
        /// The seed it trained on.
        public var seed: UInt64
        /// What it measured (validation split only).
        public var result: StudyRunResult
        /// The final validation accuracy (`nil`: diverged).
        public var score: Double? { result.selectionScore }
    }

    /// Everything one `nabla study search` produced.
    public struct Result: Sendable {
        /// The settings the search ran with.
        public var configuration: Configuration
        /// One line on the training data, for the report.
        public var dataDescription: String
        /// The sampled configurations, in sampling order.
        public var trials: [Trial]
        /// Every search run, rung by rung.
        public var searchRuns: [Run]
        /// The top configurations, each with its re-run on every re-run seed.
        public var top: [(trial: Trial, runs: [Run])]
        /// The winner's index in ``top``.
        public var winner: Int
        /// The winner retrained on training + validation data, one run per final seed.
        public var finalRuns: [StudyRunResult]
        /// Runners-up against the winner on validation accuracy (paired over the re-run seeds).
        public var comparison: StudyComparison?
        /// Wall-clock seconds of the whole search.
        public var seconds: Double
    }

    /// Runs the search, the re-runs and the final runs through `engine`.
    public static func run(_ c: Configuration, data: StudyData, engine: StudyEngine, runsDirectory: URL?) throws -> Result {
        let start = Date()
        let identity = try StudyJob.dataIdentity(of: data.dataSpec)
        let trials = sample(c)
        let searchSeed = c.searchSeeds[0]
        var survivors = Array(trials.indices)
        var searchRuns: [Run] = []
        for (rung, level) in c.rungs.enumerated() {
            survivors = Array(survivors.prefix(level.count))
            let jobs = survivors.map { job(c, data: data, identity: identity, runs: runsDirectory, stage: "search", trial: trials[$0],
                                           epochs: level.epochs, seed: searchSeed) }
            let results = try engine.run(jobs, stage: "Search rung \(rung + 1) of \(c.rungs.count): \(jobs.count) configurations × \(level.epochs) epochs (validation split)")
            let runs = zip(survivors, jobs).map { Run(trial: trials[$0.0], rung: rung, epochs: level.epochs, seed: searchSeed, result: results[$0.1.id]!) }
            searchRuns += runs
            // Best first by validation accuracy; diverged runs last; ties keep the sampling order.
            survivors = zip(survivors, runs).sorted { ($0.1.score ?? -1, -$0.0) > ($1.1.score ?? -1, -$1.0) }.map(\.0)
        }
        let topIndices = Array(survivors.prefix(max(1, c.topCount)))
        let reJobs = topIndices.flatMap { i in c.searchSeeds.map { job(c, data: data, identity: identity, runs: runsDirectory, stage: "search",
                                                                          trial: trials[i], epochs: c.epochs, seed: $0) } }
        let reResults = try engine.run(reJobs, stage: "Re-running the best \(topIndices.count) on \(c.searchSeeds.count) seeds (validation split)")
        var top: [(trial: Trial, runs: [Run])] = []
        for i in topIndices {
            let runs = c.searchSeeds.map { seed -> Run in
                let id = job(c, data: data, identity: identity, runs: runsDirectory, stage: "search", trial: trials[i], epochs: c.epochs, seed: seed).id
                return Run(trial: trials[i], rung: c.rungs.count, epochs: c.epochs, seed: seed, result: reResults[id]!)
            }
            top.append((trials[i], runs))
        }
        func mean(_ runs: [Run]) -> Double {
            let scores = runs.map { $0.score ?? -1 }
            return scores.reduce(0, +) / Double(scores.count)
        }
        let winner = top.indices.max { (mean(top[$0].runs), -$0) < (mean(top[$1].runs), -$1) } ?? 0
        let finalJobs = c.finalSeeds.map { job(c, data: data, identity: identity, runs: runsDirectory, stage: "final", trial: top[winner].trial,
                                               epochs: c.epochs, seed: $0, final: true) }
        let finalResults = try engine.run(finalJobs, stage: "The winner on training + validation data, \(c.finalSeeds.count) seeds, test split once each")
        var comparison: StudyComparison?
        if top.count > 1 {
            func row(_ k: Int) -> StudyComparison.Row {
                StudyComparison.Row(key: "top-\(k + 1)", name: label(top[k].trial), setting: VariantSetting([
                    HyperParameter("lr", top[k].trial.learningRate), HyperParameter("weight_decay", top[k].trial.weightDecay)]),
                    values: top[k].runs.map { $0.result.final?.validationAccuracy })
            }
            let others = top.indices.filter { $0 != winner }
            let family = ComparisonFamily(name: "top-configurations", question: "Are the runners-up detectably worse than the winner on validation?",
                                          baseline: "top-\(winner + 1)", members: others.map { "top-\($0 + 1)" })
            let metric = StudyMetric(name: "validation_accuracy", title: "validation accuracy", split: "validation", higherIsBetter: true,
                                     displayScale: 100, unit: "points") { $0.final?.validationAccuracy }
            comparison = try StudyComparison(name: "search/top-configurations/validation_accuracy", family: family, setting: .tuned, metric: metric,
                                             seeds: c.searchSeeds, baseline: row(winner), members: others.map(row))
        }
        return Result(configuration: c, dataDescription: data.trainDescription, trials: trials, searchRuns: searchRuns, top: top, winner: winner,
                      finalRuns: finalJobs.map { finalResults[$0.id]! }, comparison: comparison, seconds: Date().timeIntervalSince(start))
    }
}
