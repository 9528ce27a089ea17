import ArgumentParser
import Foundation
import Nabla

/// `nabla study optimizers`.
struct StudyOptimizersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimizers",
        abstract: "SGD, Momentum, Nesterov, AdaGrad, RMSProp, Adam and AdamW on f(x,y) = x²/20 + y² (paths over the contours) and on the same network and data (loss curves).",
        discussion: "Default: the first 2000 training images, the whole test set, 20 epochs. --quick: 1000/2000 images, 8 epochs.")

    @OptionGroup var options: StudyOptions

    @Option(name: .long, help: "Optimizer steps on f(x, y) (the book uses 30).")
    var pathSteps: Int = 30

    func validate() throws {
        guard pathSteps >= 1 else { throw ValidationError("--path-steps \(pathSteps) must be at least 1") }
    }

    func run() throws { try options.runOnRanks(study) }

    private func study() throws {
        Parallelism.setThreadCount(Parallelism.availableCoreCount)
        let progress = StudyProgress(quiet: options.quiet)
        let directory = options.outputDirectory("optimizers")
        let sizes = options.sizes(trainDefault: 2000, testDefault: nil, quickTrain: 1000, quickTest: 2000)
        let data = try options.loadData(sizes, directory: directory)
        var c = OptimizerStudy.Configuration()
        c.seed = options.seed
        c.epochs = options.epochs ?? (options.quick ? 8 : options.full ? 5 : 20)
        c.batchSize = options.batchSize ?? c.batchSize
        c.pathSteps = pathSteps
        let command = options.command("optimizers", sizes: sizes, epochs: c.epochs, batchSize: c.batchSize,
                                      extra: ["--path-steps", String(pathSteps)])
        let result = try OptimizerStudy.run(c, data: data, outputDirectory: directory, progress: progress)
        try options.finish(report: try result.report(command: command, outputDirectory: directory),
                           csv: StudyReport.csv(result.runs), summary: result.plainText, study: "optimizers")
    }
}
