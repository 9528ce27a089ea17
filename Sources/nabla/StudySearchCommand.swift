import ArgumentParser
import Foundation
import Nabla

/// `nabla study search`.
struct StudySearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Random search of learning rate and weight decay (log-uniform) on a validation split.",
        discussion: """
            Default: 40 trials on the first 1000 training images (20% held out for validation), 50 epochs each. \
            --quick: 12 trials of 15 epochs.
            """)

    @OptionGroup var options: StudyOptions

    @Option(name: .long, help: "Number of sampled configurations.")
    var trials: Int?
    @Option(name: .long, help: "Learning-rate range LOW,HIGH (sampled log-uniformly).")
    var lrRange: String = "1e-4,1"
    @Option(name: .long, help: "Weight-decay range LOW,HIGH (sampled log-uniformly).")
    var wdRange: String = "1e-8,1e-1"
    @Option(name: .long, help: "Fraction of the training images held out for validation.")
    var valSplit: Double = 0.2

    func validate() throws {
        if let trials, trials < 1 { throw ValidationError("--trials \(trials) must be at least 1") }
        _ = try range(lrRange, flag: "lr-range")
        _ = try range(wdRange, flag: "wd-range")
        guard valSplit > 0 && valSplit < 1 else { throw ValidationError("--val-split \(valSplit) is out of range (0, 1)") }
    }

    func range(_ text: String, flag: String) throws -> ClosedRange<Double> {
        let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let low = parts[0], let high = parts[1], low > 0, low <= high, high.isFinite else {
            throw ValidationError("--\(flag) \(text): expected two positive numbers LOW,HIGH with LOW ≤ HIGH")
        }
        return low...high
    }

    func run() throws {
        Parallelism.setThreadCount(Parallelism.availableCoreCount)
        let progress = StudyProgress(quiet: options.quiet)
        let directory = options.outputDirectory("search")
        let sizes = options.sizes(trainDefault: 1000, testDefault: 1, quickTrain: 1000, quickTest: 1)
        let data = try options.loadData(sizes, directory: directory)
        var c = RandomSearch.Configuration()
        c.seed = options.seed
        c.trials = trials ?? (options.quick ? 12 : 40)
        c.epochs = options.epochs ?? (options.quick ? 15 : 50)
        c.batchSize = options.batchSize ?? c.batchSize
        c.learningRateRange = try range(lrRange, flag: "lr-range")
        c.weightDecayRange = try range(wdRange, flag: "wd-range")
        c.validationFraction = valSplit
        let command = options.command("search", sizes: (sizes.train, nil), epochs: c.epochs, batchSize: c.batchSize,
                                      extra: ["--trials", String(c.trials), "--lr-range", lrRange, "--wd-range", wdRange,
                                              "--val-split", String(valSplit)])
        let result = try RandomSearch.run(c, data: data, outputDirectory: directory, progress: progress)
        try options.finish(report: result.report(command: command, outputDirectory: directory),
                           csv: StudyReport.csv(result.runs), summary: result.plainText, study: "search")
    }
}
