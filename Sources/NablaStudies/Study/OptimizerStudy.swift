import Foundation
import NablaTraining

/// `nabla study optimizers`: SGD, Momentum, Nesterov, AdaGrad, RMSProp, Adam, AdamW, Adadelta, Adamax,
/// NAdam, RAdam, Lion and LAMB — and Momentum with one-cycle and cyclic schedules, Adam with warm
/// restarts — training the same network on the same data from the same initial weights, and racing
/// on `f(x, y) = x²/20 + y²`.
public enum OptimizerStudy {
    /// The settings of `nabla study optimizers`.
    public struct Configuration: Sendable {
        /// Hidden widths of the MLP every optimizer trains.
        public var hidden = [256, 256, 256]
        /// Epochs of every network run.
        public var epochs = 20
        /// Mini-batch size of every network run.
        public var batchSize = 64
        /// The seed of the initial weights (the same for every optimizer), data order and dropout.
        public var seed: UInt64 = 0
        /// Steps on `f(x, y)`.
        public var pathSteps = 30
        /// The defaults of `nabla study optimizers`.
        public init() {}
    }

    /// The network runs' optimizers: the book's chapter 6 MNIST comparison uses lr 0.01 for SGD,
    /// Momentum and AdaGrad and 0.001 for Adam; RMSProp and AdamW take PyTorch's usual 0.001.
    public static var networkOptimizers: [OptimizerPaths.Entry] {
        return [
            .init("SGD", "sgd", learningRate: 0.01),
            .init("Momentum", "sgd", learningRate: 0.01) { $0.hyperparameters["momentum"] = 0.9 },
            .init("Nesterov", "sgd", learningRate: 0.01) { $0.hyperparameters["momentum"] = 0.9; $0.hyperparameters["nesterov"] = true },
            .init("AdaGrad", "adagrad", learningRate: 0.01),
            .init("RMSProp", "rmsprop", learningRate: 0.001),
            .init("Adam", "adam", learningRate: 0.001),
            .init("AdamW", "adamw", learningRate: 0.001) { $0.weightDecay = 0.01 },
            .init("Adadelta", "adadelta", learningRate: 1),
            .init("Adamax", "adamax", learningRate: 0.002),
            .init("NAdam", "nadam", learningRate: 0.002),
            .init("RAdam", "radam", learningRate: 0.001),
            .init("Lion", "lion", learningRate: 0.0001),
            .init("LAMB", "lamb", learningRate: 0.001) { $0.weightDecay = 0.01 },
        ]
    }

    /// Runs with a learning-rate schedule (PyTorch's defaults): one-cycle and triangular cyclic
    /// (per optimizer step, cycling the momentum) around Momentum, and warm restarts around Adam.
    public static var scheduledOptimizers: [(entry: OptimizerPaths.Entry, schedule: String)] {
        let momentum = OptimizerPaths.Entry("Momentum", "sgd", learningRate: 0.01) { $0.hyperparameters["momentum"] = 0.9 }
        return [
            (OptimizerPaths.Entry("Momentum + one-cycle", momentum.optimizer), "onecycle:0.1"),
            (OptimizerPaths.Entry("Momentum + cyclic", momentum.optimizer), "cyclic:0.001:0.05:200"),
            (OptimizerPaths.Entry("Adam + warm restarts", OptimizerSpecification(name: "adam", hyperparameters: ["lr": 0.001])),
             "cosine-restarts:5:2"),
        ]
    }

    /// The network runs' plans.
    public static func plans(_ c: Configuration, inputShape: [Int], classCount: Int) -> [StudyRunPlan] {
        let runs = networkOptimizers.map { ($0, String?.none) } + scheduledOptimizers.map { ($0.entry, Optional($0.schedule)) }
        return runs.map { entry, schedule in
            let key = entry.name.lowercased().replacingOccurrences(of: " + ", with: "-").replacingOccurrences(of: " ", with: "-")
            let scheduled = schedule.map { " with --schedule \($0)" } ?? ""
            var plan = StudyRunPlan(key: key, name: entry.name,
                                    summary: "The MLP trained with \(StudyRunPlan.describe(entry.optimizer))\(scheduled).",
                                    model: StudyModels.mlp(inputShape: inputShape, outputCount: classCount, hidden: c.hidden),
                                    optimizer: entry.optimizer, epochs: c.epochs, batchSize: c.batchSize, seed: c.seed)
            plan.schedule = schedule.flatMap { try? ScheduleSpecification(parsing: $0) }
            return plan
        }
    }

    /// Everything one `nabla study optimizers` produced.
    public struct Result: Sendable {
        /// The settings the study ran with.
        public var configuration: Configuration
        /// One line on the data, for the report.
        public var dataDescription: String
        /// One network run per optimizer, in ``networkOptimizers`` order.
        public var runs: [StudyRun]
        /// Each optimizer's iterates on `f(x, y)`, by name, in ``OptimizerPaths/book`` order.
        public var paths: [(name: String, settings: String, points: [(x: Double, y: Double)])]
        /// Wall-clock seconds of the whole study.
        public var seconds: Double
    }

    /// Runs the study, writing logs under `outputDirectory/runs` (nothing when `nil`).
    public static func run(_ c: Configuration, data: StudyData, outputDirectory: URL?, progress: StudyProgress) throws -> Result {
        let start = Date()
        let paths = try OptimizerPaths.book.map { ($0.name, StudyRunPlan.describe($0.optimizer), try OptimizerPaths.path($0.optimizer, steps: c.pathSteps)) }
        let runner = StudyRunner(data: data, runsDirectory: outputDirectory?.appendingPathComponent("runs"), progress: progress)
        let plans = self.plans(c, inputShape: data.train.sampleShape, classCount: data.train.classCount ?? 1)
        progress.section("Optimizers: \(plans.count) runs of \(plans.first?.model.name ?? "the MLP") on \(data.description)")
        var runs: [StudyRun] = []
        for (i, plan) in plans.enumerated() { runs.append(try runner.run(plan, index: i + 1, of: plans.count)) }
        return Result(configuration: c, dataDescription: data.description, runs: runs, paths: paths, seconds: Date().timeIntervalSince(start))
    }
}

extension OptimizerStudy.Result {
    /// The positions on `f(x, y)` after the last step.
    public var pathTable: ReportTable {
        var table = ReportTable(columns: ["optimizer", "settings", "final x", "final y", "f(x, y)"],
                                caption: "After \(configuration.pathSteps) steps from (−7, 2); the minimum is f(0, 0) = 0")
        for path in paths {
            let last = path.points.last!
            table.append([.text(path.name), .text(path.settings), .number(last.x, .fixed(4)), .number(last.y, .fixed(4)),
                          .number(OptimizerPaths.function(last.x, last.y), .significant(3))])
        }
        return table
    }

    /// The self-contained HTML report.
    public func report(command: String, outputDirectory: URL?) throws -> HTMLReport {
        var page = HTMLReport(title: "Optimizer study", subtitle: StudyReport.subtitle(seconds: seconds))
        page.paragraph("\(OptimizerPaths.book.count) optimizers (PyTorch's update rules; Lion and LAMB from their papers) race on f(x, y) = x²/20 + y² from (−7, 2) with the learning rates of "
                       + "\"Deep Learning from Scratch\" §6.1, then train the same MLP from the same initial weights on \(dataDescription) "
                       + "for \(configuration.epochs) epochs (batch \(configuration.batchSize), seed \(configuration.seed)), "
                       + "three of them also with a learning-rate schedule.")
        StudyReport.addReproduction(to: &page, command: command, caption: "Reproduce the whole study",
                                    outputDirectory: outputDirectory, logsCaption: "TensorBoard logs of every run")
        page.heading("Paths on f(x, y) = x²/20 + y²")
        page.chart(try OptimizerPaths.chart(OptimizerPaths.book, steps: configuration.pathSteps),
                   caption: "All paths over the contours of f; the large dot marks each start (all start at (−7, 2)).")
        let small = try OptimizerPaths.charts(OptimizerPaths.book, steps: configuration.pathSteps)
        for i in stride(from: 0, to: small.count, by: 2) {
            page.charts((i..<min(i + 2, small.count)).map { (small[$0], StudyRunPlan.describe(OptimizerPaths.book[$0].optimizer)) })
        }
        page.table(pathTable)
        if !runs.isEmpty {
            page.heading("Training the network")
            page.table(StudyReport.resultsTable(runs, caption: "Final epoch"))
            page.charts([
                (StudyReport.curves(runs, title: "Training loss (evaluation mode)", yTitle: "train loss", logarithmic: true) { $0.trainLoss }, nil),
                (StudyReport.curves(runs, title: "Running mini-batch loss (training mode)", yTitle: "loss", logarithmic: true) { $0.runningTrainLoss }, nil),
            ])
            page.charts([
                (StudyReport.curves(runs, title: "Test loss", yTitle: "test loss") { $0.testLoss }, nil),
                (StudyReport.curves(runs, title: "Test accuracy", yTitle: "test accuracy (%)") { $0.testAccuracy.map { $0 * 100 } }, nil),
            ])
            page.heading("Configuration of every run")
            StudyReport.appendRunDetails(runs, to: &page)
        }
        return page
    }

    /// The terminal summary.
    public var plainText: String {
        var parts = ["Paths on f(x, y) = x²/20 + y²\n" + pathTable.plainText]
        if !runs.isEmpty { parts.append("Optimizers (\(dataDescription))\n" + StudyReport.resultsTable(runs).plainText) }
        return parts.joined(separator: "\n\n")
    }
}
