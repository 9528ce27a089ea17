import Foundation
import NablaTensor
import NablaTraining

/// `nabla study search`: random search of the learning rate and the weight decay on a validation
/// split — "Deep Learning from Scratch" §6.5 (`hyperparameter_optimization.py`), where seed 001
/// comes from: both drawn log-uniformly (`10^U(a, b)`), each trial trained briefly with SGD and
/// judged by its validation accuracy, never the test set.
///
/// Every trial starts from the same initial weights and sees the same split and batch order (one
/// seed), so the only differences are the two hyper-parameters. Weight decay is SGD's coupled
/// decay on the weights — the book's `λ/2·Σw²` penalty, for SGD the same update.
public enum RandomSearch {
    /// The settings of `nabla study search`.
    public struct Configuration: Sendable {
        /// The number of sampled configurations (default 40).
        public var trials = 40
        /// The learning rates are drawn as `10^U(log10 a, log10 b)` from this range (default `1e-4...1`).
        public var learningRateRange: ClosedRange<Double> = 1e-4...1
        /// The weight decays are drawn log-uniformly from this range (default `1e-8...1e-1`).
        public var weightDecayRange: ClosedRange<Double> = 1e-8...1e-1
        /// Hidden widths of the MLP (default four layers of 100, the book's).
        public var hidden = [100, 100, 100, 100]
        /// Epochs of every trial.
        public var epochs = 50
        /// Mini-batch size of every trial.
        public var batchSize = 100
        /// The fraction of the training data held out to judge the trials (default 0.2).
        public var validationFraction = 0.2
        /// The seed of the sampling, the split, the initial weights and the batch order.
        public var seed: UInt64 = 0
        /// The defaults of `nabla study search`.
        public init() {}
    }

    /// A sampled configuration.
    public struct Trial: Sendable, Equatable {
        /// SGD's learning rate.
        public var learningRate: Double
        /// SGD's coupled weight decay on the weights.
        public var weightDecay: Double
    }

    /// `count` configurations, log-uniform in both ranges, from `RandomGenerator(seed:stream:)`.
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
            return Trial(learningRate: lr, weightDecay: logUniform(c.weightDecayRange))
        }
    }

    /// Three significant digits, as a string that parses back to the value used.
    static func rounded(_ x: Double) -> Double { Double(String(format: "%.3g", x))! }

    /// The trials' plans (values rounded to three significant digits, so the commands are exact).
    public static func plans(_ c: Configuration, inputShape: [Int], classCount: Int) -> [StudyRunPlan] {
        let width = String(c.trials).count
        return sample(c).enumerated().map { i, trial in
            var o = OptimizerSpecification(name: "sgd")
            o.learningRate = rounded(trial.learningRate)
            o.weightDecay = rounded(trial.weightDecay)
            o.decayWeightsOnly = true
            let number = String(repeating: "0", count: width - String(i + 1).count) + String(i + 1)
            var plan = StudyRunPlan(key: "trial-\(number)", name: "trial \(number)",
                                    summary: "lr \(StudyRunPlan.format(o.learningRate!)), weight decay \(StudyRunPlan.format(o.weightDecay!)).",
                                    model: StudyModels.mlp(inputShape: inputShape, outputCount: classCount, hidden: c.hidden),
                                    optimizer: o, epochs: c.epochs, batchSize: c.batchSize, seed: c.seed)
            plan.validationFraction = c.validationFraction
            plan.logsHistogramsEveryEpoch = false
            return plan
        }
    }

    /// Everything one `nabla study search` produced.
    public struct Result: Sendable {
        /// The settings the search ran with.
        public var configuration: Configuration
        /// One line on the training data, for the report.
        public var dataDescription: String
        /// In trial order; their "test" figures are validation figures.
        public var runs: [StudyRun]
        /// The hyper-parameters of each run, by run key.
        public var trials: [String: Trial]
        /// Wall-clock seconds of the whole search.
        public var seconds: Double

        /// The runs by final validation accuracy, best first (diverged runs last).
        public var ranked: [StudyRun] {
            runs.sorted { ($0.final?.testAccuracy ?? -1) > ($1.final?.testAccuracy ?? -1) }
        }
    }

    /// Runs every trial; a trial that diverges is recorded with its last good epochs, not fatal.
    public static func run(_ c: Configuration, data: StudyData, outputDirectory: URL?, progress: StudyProgress) throws -> Result {
        let start = Date()
        let runner = StudyRunner(train: data.train, test: nil, dataSpec: data.dataSpec, trainSubset: data.trainSubset,
                                 runsDirectory: outputDirectory?.appendingPathComponent("runs"), progress: progress)
        let plans = self.plans(c, inputShape: data.train.sampleShape, classCount: data.train.classCount ?? 1)
        progress.section("Random search: \(plans.count) trials of lr ∈ [\(c.learningRateRange.lowerBound), \(c.learningRateRange.upperBound)] × "
                         + "weight decay ∈ [\(c.weightDecayRange.lowerBound), \(c.weightDecayRange.upperBound)] (log-uniform) on \(data.trainDescription)")
        var runs: [StudyRun] = []
        for (i, plan) in plans.enumerated() {
            do {
                runs.append(try runner.run(plan, index: i + 1, of: plans.count))
            } catch let error as NablaError where error.kind == .nonFinite {
                progress.note("[\(i + 1)/\(plans.count)] \(plan.name): diverged (\(error.message))")
                runs.append(StudyRun(key: plan.key, name: plan.name, summary: plan.summary, settings: plan.settings,
                                     modelYAML: plan.model.yaml, command: runner.trainCommand(for: plan),
                                     logDirectory: runner.directory(of: plan), note: "diverged: \(error.message)"))
            }
        }
        let trials = Dictionary(uniqueKeysWithValues: plans.map {
            ($0.key, Trial(learningRate: $0.optimizer.learningRate!, weightDecay: $0.optimizer.weightDecay!))
        })
        return Result(configuration: c, dataDescription: data.trainDescription, runs: runs, trials: trials,
                      seconds: Date().timeIntervalSince(start))
    }
}
