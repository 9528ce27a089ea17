import Foundation
import NablaTensor
import NablaNN
import NablaData
import NablaTraining

/// Seed 004's regression demos on the noisy line: 10 points `x = linspace(−1, 1, 10)`,
/// `y = 1.5·x + N(0, 0.5²)` (`synthetic:line`), fitted by the over-parameterized `line-mlp`
/// (three hidden layers of 100 ReLU units) with full-batch SGD (lr 0.01, momentum 0.9, MSE):
///
/// - without regularization the net threads the curve through every noisy point;
/// - with weight decay `1e-2` (PyTorch's `weight_decay`, on every parameter as in the seed) the fit
///   is smoother and the weights concentrate around zero;
/// - with dropout `p = 0.5` before every hidden and the output layer the fit is smoother too.
public enum SeedLineStudy {
    /// The runs, predictions and data of the line experiments.
    public struct Result: Sendable {
        /// No regularization, weight decay 1e-2, dropout 0.5.
        public var runs: [StudyRun]
        /// Each run's prediction (evaluation mode) at ``grid`` after training, by run key.
        public var predictions: [String: [Double]]
        /// A dense grid over the data's x range.
        public var grid: [Double]
        /// The training data `(x, y)`.
        public var trainPoints: [(x: Double, y: Double)]
        /// The test data `(x, y)`.
        public var testPoints: [(x: Double, y: Double)]
    }

    static let learningRate = 0.01, momentum = 0.9, weightDecay = 1e-2, dropout = 0.5

    /// The three runs' plans.
    public static func plans(epochs: Int, seed: UInt64) throws -> [StudyRunPlan] {
        func model(_ p: Double) throws -> ModelDescription {
            try BuiltinModels.description("line-mlp", inputShape: [1], outputCount: 1, options: .init(dropout: p))!
        }
        func sgd(_ decay: Double?) -> OptimizerSpecification {
            var o = OptimizerSpecification(name: "sgd")
            o.learningRate = learningRate
            o.hyperparameters["momentum"] = .number(momentum)
            o.weightDecay = decay
            return o
        }
        let cases: [(String, String, String, Double, Double?)] = [
            ("line-plain", "no regularization", "The line-mlp with dropout 0 and no weight decay: it fits the noise.", 0, nil),
            ("line-weight-decay", "weight decay 1e-2", "SGD weight_decay = 0.01 on every parameter, as in the seed.", 0, weightDecay),
            ("line-dropout", "dropout 0.5", "Dropout p = 0.5 before each of the last three Linear layers.", dropout, nil),
        ]
        return try cases.map { key, name, summary, p, decay in
            var plan = StudyRunPlan(key: key, name: name, summary: summary, model: try model(p), optimizer: sgd(decay),
                                    epochs: epochs, batchSize: 10, seed: seed)
            plan.loss = .meanSquaredError
            plan.logsHistogramsEveryEpoch = false
            return plan
        }
    }

    /// Trains the three runs on `synthetic:line` generated from `seed`.
    public static func run(epochs: Int, seed: UInt64, runsDirectory: URL?, progress: StudyProgress) throws -> Result {
        let (train, test) = SyntheticDataset.line(count: 10, sigma: 0.5, testSigma: 0.3, slope: 1.5, uniform: false).generate(seed: seed)
        let runner = StudyRunner(train: train, test: test, dataSpec: "synthetic:line", runsDirectory: runsDirectory, progress: progress)
        let grid = (0...200).map { -1.1 + 2.2 * Double($0) / 200 }
        let gridTensor = Tensor<Float>(shape: [grid.count, 1], scalars: grid.map(Float.init))
        let plans = try self.plans(epochs: epochs, seed: seed)
        progress.section("Noisy line: \(plans.count) runs of \(epochs) full-batch steps")
        var runs: [StudyRun] = []
        var predictions: [String: [Double]] = [:]
        for (i, plan) in plans.enumerated() {
            runs.append(try runner.run(plan, index: i + 1, of: plans.count) { epoch, model in
                guard epoch == plan.epochs else { return }
                let y = model.evaluating { model(Variable(gridTensor)).value }
                predictions[plan.key] = y.scalars.map(Double.init)
            })
        }
        func points(_ d: Dataset?) -> [(x: Double, y: Double)] {
            guard let d, case .values(let y) = d.targets else { return [] }
            return zip(d.inputs.scalars, y.scalars).map { (Double($0), Double($1)) }
        }
        return Result(runs: runs, predictions: predictions, grid: grid, trainPoints: points(train), testPoints: points(test))
    }
}
