import ArgumentParser
import Foundation
import Nabla

/// `nabla study search`.
struct StudySearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Random search of learning rate and weight decay on a validation split; the best re-run on several seeds; the winner tested once.",
        discussion: """
            Default: 24 configurations on the first 1000 training images (20% held out for validation), 20 epochs each; \
            --halving: successive halving (η = 3) from short runs to the full budget. The best 3 are re-run on 3 seeds, the \
            winner (best mean validation accuracy) is retrained on training + validation data on 3 seeds and evaluated on the \
            test split once per run. --quick: 12 configurations of 8 epochs.
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
    @Flag(name: .long, help: "Successive halving: all configurations briefly, the best third three times longer, … up to --epochs.")
    var halving = false
    @Option(name: .long, help: "Configurations re-run on several seeds.")
    var top: Int = 3

    func validate() throws {
        if let trials, trials < 1 { throw ValidationError("--trials \(trials) must be at least 1") }
        if top < 1 { throw ValidationError("--top \(top) must be at least 1") }
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
        let progress = StudyProgress(quiet: options.quiet)
        let directory = options.outputDirectory("search")
        let sizes = options.sizes(trainDefault: 1000, testDefault: nil, quickTrain: 1000, quickTest: 2000)
        let data = try options.loadData(sizes, directory: directory)
        var c = RandomSearch.Configuration()
        c.seed = options.seed
        c.trials = trials ?? (options.quick ? 12 : 24)
        c.epochs = options.epochs ?? (options.quick ? 8 : 20)
        c.batchSize = options.batchSize ?? c.batchSize
        c.learningRateRange = try range(lrRange, flag: "lr-range")
        c.weightDecayRange = try range(wdRange, flag: "wd-range")
        c.validationFraction = valSplit
        c.halving = halving
        c.topCount = min(top, c.trials)
        c.reseeds = options.seeds ?? 3
        var extra = ["--trials", String(c.trials), "--lr-range", lrRange, "--wd-range", wdRange, "--val-split", String(valSplit),
                     "--top", String(c.topCount), "--seeds", String(c.reseeds)]
        if halving { extra.append("--halving") }
        let command = options.command("search", sizes: sizes, epochs: c.epochs, batchSize: c.batchSize, extra: extra)
        let engine = options.engine(study: "search", progress: progress)
        let result = try RandomSearch.run(c, data: data, engine: engine, runsDirectory: directory.appendingPathComponent("runs"))
        try options.finish(report: result.report(command: command, outputDirectory: directory), csv: result.csv,
                           summary: result.plainText, study: "search", results: result.resultsFile(command: command))
    }
}
