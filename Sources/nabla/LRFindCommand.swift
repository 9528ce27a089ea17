import ArgumentParser
import Foundation
import Nabla

/// `nabla lr-find`: the learning-rate range test (Smith 2017) for a model, data and optimizer.
struct LRFindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lr-find",
        abstract: "Sweep the learning rate exponentially and suggest one (Smith 2017's range test).",
        discussion: """
            Trains for --steps optimizer steps with lr growing from --start-lr to --end-lr, records the \
            smoothed training loss, and restores the model and optimizer afterwards. Prints the curve \
            and ends with one line: suggestion<TAB>lr=…<TAB>min_over_10=…<TAB>steps=… . \
            Rule: \(LearningRateFinder.rule).
            """)

    @OptionGroup(title: "Model") var modelOptions: ModelOptions
    @OptionGroup(title: "Data") var dataOptions: DataOptions
    @Option(name: .long, help: "Initial weights: a .safetensors state dict (PyTorch keys).")
    var `init`: String?
    @Option(name: .long, help: "Mini-batch size.")
    var batchSize: Int = 128
    @Flag(name: .long, help: "Keep the data order (no shuffling).")
    var noShuffle = false
    @Option(name: .long, help: "Seed of initialization, shuffling and dropout.")
    var seed: UInt64 = 0
    @Option(name: .long, help: "Loss: cross-entropy, mse, l1, smooth-l1, bce, hinge.")
    var loss: String = "cross-entropy"
    @OptionGroup(title: "Optimizer") var optimizerOptions: OptimizerOptions
    @OptionGroup(title: "Performance") var threadOptions: ThreadOptions
    @OptionGroup(title: "Performance") var convolution: ConvolutionOptions

    @Option(name: .long, help: "The first learning rate of the sweep.")
    var startLr: Double = 1e-7
    @Option(name: .long, help: "The last learning rate of the sweep.")
    var endLr: Double = 10
    @Option(name: .long, help: "Optimizer steps (points on the curve).")
    var steps: Int = 100
    @Option(name: .long, help: "β of the exponential smoothing of the loss.")
    var smoothing: Double = 0.98
    @Option(name: .long, help: "Write the curve as an SVG chart here.")
    var svg: String?
    @Option(name: .long, help: "Write the curve, the suggestion and the table of points as an HTML page here.")
    var html: String?
    @Option(name: .long, help: "Write lr,loss,smoothed_loss rows here.")
    var csv: String?

    var finder: LearningRateFinder {
        var finder = LearningRateFinder()
        finder.start = startLr
        finder.end = endLr
        finder.steps = steps
        finder.smoothing = smoothing
        return finder
    }

    var plan: TrainingPlan {
        var plan = TrainingPlan(model: modelOptions.selection, data: dataOptions.selection)
        plan.model.initialWeights = `init`
        plan.loss = loss
        plan.optimizer = optimizerOptions.specification
        (plan.sam, plan.lookahead) = optimizerOptions.wrappers
        plan.batchSize = batchSize
        plan.shuffle = !noShuffle
        plan.seed = seed
        plan.output.quiet = true
        return plan
    }

    func validate() throws {
        try modelOptions.require()
        try dataOptions.require()
        if optimizerOptions.schedule != nil { throw ValidationError("--schedule does not apply to lr-find (the sweep sets the learning rate)") }
        if optimizerOptions.lr != nil { throw ValidationError("--lr does not apply to lr-find (use --start-lr and --end-lr)") }
        do {
            try plan.validate()
            try finder.validate()
        } catch let error as NablaError {
            throw ValidationError(error.message)
        }
    }

    func run() throws {
        threadOptions.apply()
        let session = try plan.prepare()
        let sweep = try convolution.apply {
            try finder.run(model: session.model, optimizer: session.trainer.optimizer, loader: session.trainer.trainLoader, loss: session.loss)
        }
        print(sweep.terminalPlot(), terminator: "")
        if let reason = sweep.stopReason { print("stopped early: \(reason)") }
        print("rule: \(sweep.rule)")
        let report = LearningRateSweepReport(sweep, command: (["nabla", "lr-find"] + CommandLine.arguments.dropFirst(2)).map(shellQuoted).joined(separator: " "))
        if let svg { try Data(report.chart.svg(standalone: true).utf8).write(to: URL(fileURLWithPath: svg), options: .atomic) }
        if let html { try Data(report.html().utf8).write(to: URL(fileURLWithPath: html), options: .atomic) }
        if let csv { try Data(sweep.csv.utf8).write(to: URL(fileURLWithPath: csv), options: .atomic) }
        let format = { (x: Double?) in x.map { String(format: "%.4g", $0) } ?? "none" }
        print(["suggestion", "lr=\(format(sweep.suggestion))", "min_over_10=\(format(sweep.minimumOverTen))",
               "steps=\(sweep.learningRates.count)"].joined(separator: "\t"))
    }
}
