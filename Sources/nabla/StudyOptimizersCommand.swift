import ArgumentParser
import Foundation
import Nabla

/// `nabla study optimizers`.
struct StudyOptimizersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimizers",
        abstract: "Does another optimizer beat SGD with momentum? 13 optimizers and 3 schedules, each with its learning rate tuned on validation, on paired seeds with verdicts — plus their paths on f(x,y) = x²/20 + y².",
        discussion: """
            Default: an MLP 256-256-256 on the first 2000 Fashion-MNIST training images (a quarter held out for \
            validation per seed), 15 epochs; every optimizer's learning rate tuned over ×0.3, ×1, ×3 of its textbook \
            rate on one tuning seed, then 5 paired seeds at the tuned and the textbook rate, each evaluated once on \
            the whole test set; compared with Momentum (paired t-test, Holm over the 15 comparisons). About 200 runs, \
            roughly 10–15 minutes on 2 cores. --full: the 5-point grid ×0.1 … ×10 and 2 tuning seeds. \
            --quick: 1000/2000 images, 8 epochs, 6 optimizers.
            """)

    @OptionGroup var options: StudyOptions

    @Option(name: .long, help: "Optimizer steps on f(x, y) (the book uses 30).")
    var pathSteps: Int = 30
    @Option(name: .long, help: "Learning-rate grid: small (×0.3, ×1, ×3 of each textbook rate) or full (×0.1 … ×10) (default: small; --full: full).")
    var grid: String?
    @Flag(name: .long, help: "Skip tuning: run only the textbook learning rates.")
    var noTune = false
    @Option(name: .long, help: "Tuning seeds per grid point (default 1; --full: 2).")
    var tuningSeeds: Int?
    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Run only these optimizers (comma or space separated; momentum, the reference, always runs).",
        discussion: OptimizerStudy.variantKeys.joined(separator: ", ")))
    var optimizers: [String] = []
    @Option(name: .long, help: "Hidden widths of the MLP, e.g. 256,256,256.")
    var hidden: String?

    func validate() throws {
        guard pathSteps >= 1 else { throw ValidationError("--path-steps \(pathSteps) must be at least 1") }
        if let tuningSeeds, tuningSeeds < 1 { throw ValidationError("--tuning-seeds \(tuningSeeds) must be at least 1") }
        if let grid, OptimizerStudy.Grid(rawValue: grid) == nil { throw ValidationError("--grid \(grid): expected small or full") }
        for key in selected ?? [] where !OptimizerStudy.variantKeys.contains(key) {
            throw ValidationError("--optimizers \(key): unknown optimizer; expected some of \(OptimizerStudy.variantKeys.joined(separator: ", "))")
        }
        _ = try widths()
    }

    func widths() throws -> [Int]? {
        guard let hidden else { return nil }
        let widths = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--hidden \(hidden): expected positive widths like 256,256,256")
        }
        return widths.map { $0! }
    }

    var selected: [String]? {
        let keys = optimizers.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        return keys.isEmpty ? nil : keys
    }

    /// The configuration the flags describe, and the flags that spell it out for the report.
    func configuration() throws -> (OptimizerStudy.Configuration, [String]) {
        var c = OptimizerStudy.Configuration()
        c.seed = options.seed
        c.grid = grid.flatMap(OptimizerStudy.Grid.init) ?? (options.full ? .full : .small)
        c.seedCount = options.seeds ?? 5
        c.tuningSeedCount = tuningSeeds ?? (options.full ? 2 : 1)
        c.tunes = !noTune
        c.epochs = options.epochs ?? (options.quick ? 8 : c.epochs)
        c.batchSize = options.batchSize ?? c.batchSize
        c.hidden = try widths() ?? c.hidden
        c.variants = selected ?? (options.quick ? ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"] : nil)
        c.pathSteps = pathSteps
        var words = ["--grid", c.grid.rawValue, "--seeds", String(c.seedCount)]
        words += c.tunes ? ["--tuning-seeds", String(c.tuningSeedCount)] : ["--no-tune"]
        words += ["--hidden", c.hidden.map(String.init).joined(separator: ",")]
        if let keys = c.variants { words += ["--optimizers", keys.joined(separator: ",")] }
        words += ["--path-steps", String(pathSteps)]
        return (c, words)
    }

    func run() throws { try options.runOnRanks(study) }

    private func study() throws {
        let progress = StudyProgress(quiet: options.quiet)
        let directory = options.outputDirectory("optimizers")
        let (c, extra) = try configuration()
        // The study compares optimizers on a small subset; --full widens the grid, not the data.
        let sizes = options.sizes(trainDefault: 2000, testDefault: nil, quickTrain: 1000, quickTest: 2000)
        let trainSizes = (train: options.full ? 2000 : sizes.train, test: sizes.test)
        let data = try options.loadData(trainSizes, directory: directory)
        let command = options.command("optimizers", sizes: (options.full ? nil : trainSizes.train, sizes.test), epochs: c.epochs,
                                      batchSize: c.batchSize, extra: extra)
        let engine = options.engine(study: "optimizers", progress: progress)
        let result = try OptimizerStudy.run(c, data: data, engine: engine, outputDirectory: directory)
        try SeededStudyReport.writeRunFiles(result.outcome)
        let comparisons = try result.comparisons()
        try options.finish(report: try result.report(command: command, outputDirectory: directory, comparisons: comparisons),
                           csv: SeededStudyReport.csv([result.outcome]), summary: result.plainText(comparisons: comparisons),
                           study: "optimizers", results: result.resultsFile(command: command, comparisons: comparisons))
    }
}
