import ArgumentParser
import Foundation
import Nabla

/// `nabla study regularization` — the main job (`make run`).
struct StudyRegularizationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regularization",
        abstract: "Does each regularizer help? Baseline vs weight decay, L1, dropout, BatchNorm, augmentation, … — tuned on validation, paired seeds, verdicts with intervals.",
        discussion: """
            Default (make run): the overfitting regime — an MLP on the first 2000 Fashion-MNIST training images \
            (a quarter held out for validation per seed), 7 variants each tuned on a 4-point grid, then 5 paired \
            seeds at the tuned and the textbook setting, each evaluated once on the whole test set; plus the \
            noisy-line, initialization and dropout-scale demos. --full: all 13 MLP variants on 9-point grids, and the CNN regime on the whole training \
            set (BatchNorm, dropout, augmentation, stochastic depth on a residual net, Adam + L2 vs AdamW); about \
            an hour on 2 cores. --quick: 1000 images, 10 epochs, 4 variants.
            """)

    @OptionGroup var options: StudyOptions

    @Option(name: .long, help: "Which regimes: mlp (overfitting MLP on a subset), cnn (CNNs on the whole training set) or both (default: mlp; --full: both).")
    var regime: String?
    @Option(name: .long, help: "Tuning grid: small (4 points per variant) or full (9) (default: small; --full: full).")
    var grid: String?
    @Flag(name: .long, help: "Skip tuning: run only the textbook settings.")
    var noTune = false
    @Option(name: .long, help: "Tuning seeds per grid point.")
    var tuningSeeds: Int = 1
    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Run only these MLP variants (comma or space separated).",
        discussion: MLPRegime.allVariantKeys.joined(separator: ", ")))
    var variants: [String] = []
    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Run only these CNN variants.",
        discussion: CNNRegime.variantKeys.joined(separator: ", ")))
    var cnnVariants: [String] = []
    @Option(name: .long, help: "Epochs of every CNN run.")
    var cnnEpochs: Int?
    @Option(name: .long, help: "Hidden widths of the MLP, e.g. 256,256 (the residual MLP uses the first).")
    var hidden: String?
    @Option(name: .long, help: "The learning rate of the textbook settings (SGD, momentum 0.9, cosine schedule).")
    var lr: Double?
    @Option(name: .long, help: "Steps (epochs of one full batch) of the noisy-line demo.")
    var lineEpochs: Int?
    @Option(name: .long, help: "Epochs of the initialization demo.")
    var initEpochs: Int?
    @Flag(name: .long, help: "Skip the noisy-line, initialization and dropout-scale demos.")
    var noDemos = false

    func validate() throws {
        for (flag, value) in [("line-epochs", lineEpochs), ("init-epochs", initEpochs), ("cnn-epochs", cnnEpochs), ("tuning-seeds", tuningSeeds)] {
            if let value, value < 1 { throw ValidationError("--\(flag) \(value) must be at least 1") }
        }
        if let regime, RegularizationStudyConfiguration.Regime(rawValue: regime) == nil {
            throw ValidationError("--regime \(regime): expected mlp, cnn or both")
        }
        if let grid, RegularizationStudyConfiguration.Grid(rawValue: grid) == nil { throw ValidationError("--grid \(grid): expected small or full") }
        for key in selected(variants) ?? [] where !MLPRegime.allVariantKeys.contains(key) {
            throw ValidationError("--variants \(key): unknown variant; expected some of \(MLPRegime.allVariantKeys.joined(separator: ", "))")
        }
        for key in selected(cnnVariants) ?? [] where !CNNRegime.variantKeys.contains(key) {
            throw ValidationError("--cnn-variants \(key): unknown variant; expected some of \(CNNRegime.variantKeys.joined(separator: ", "))")
        }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr \(lr) must be a positive number") }
        _ = try widths()
    }

    func widths() throws -> [Int]? {
        guard let hidden else { return nil }
        let widths = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--hidden \(hidden): expected positive widths like 256,256")
        }
        return widths.map { $0! }
    }

    func selected(_ values: [String]) -> [String]? {
        let keys = values.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        return keys.isEmpty ? nil : keys
    }

    /// The configuration the flags describe, and the flags that spell it out for the report.
    func configuration() throws -> (RegularizationStudyConfiguration, [String]) {
        var c = RegularizationStudyConfiguration()
        c.seed = options.seed
        c.regime = regime.flatMap(RegularizationStudyConfiguration.Regime.init) ?? (options.full ? .both : .mlp)
        c.grid = grid.flatMap(RegularizationStudyConfiguration.Grid.init) ?? (options.full ? .full : .small)
        c.seedCount = options.seeds ?? 5
        c.tuningSeedCount = tuningSeeds
        c.tunes = !noTune
        c.epochs = options.epochs ?? (options.quick ? 10 : 20)
        c.batchSize = options.batchSize ?? c.batchSize
        c.hidden = try widths() ?? c.hidden
        c.learningRate = lr ?? c.learningRate
        c.variants = selected(variants) ?? (options.quick ? ["baseline", "l2-decay", "dropout", "batchnorm"] : nil)
        c.cnnVariants = selected(cnnVariants)
        c.cnnEpochs = cnnEpochs ?? c.cnnEpochs
        c.lineEpochs = lineEpochs ?? (options.quick ? 1000 : c.lineEpochs)
        c.initializationEpochs = initEpochs ?? (options.quick ? 5 : c.initializationEpochs)
        c.includesLine = !noDemos
        c.includesInitialization = !noDemos
        var words = ["--regime", c.regime.rawValue, "--grid", c.grid.rawValue, "--seeds", String(c.seedCount)]
        words += c.tunes ? ["--tuning-seeds", String(c.tuningSeedCount)] : ["--no-tune"]
        words += ["--hidden", c.hidden.map(String.init).joined(separator: ","), "--lr", "\(c.learningRate)"]
        if let keys = c.variants { words += ["--variants", keys.joined(separator: ",")] }
        if c.regime != .mlp {
            words += ["--cnn-epochs", String(c.cnnEpochs)]
            if let keys = c.cnnVariants { words += ["--cnn-variants", keys.joined(separator: ",")] }
        }
        words += noDemos ? ["--no-demos"] : ["--line-epochs", String(c.lineEpochs), "--init-epochs", String(c.initializationEpochs)]
        return (c, words)
    }

    func run() throws { try options.runOnRanks(study) }

    private func study() throws {
        let progress = StudyProgress(quiet: options.quiet)
        let directory = options.outputDirectory("regularization")
        let (c, extra) = try configuration()
        let sizes = options.sizes(trainDefault: 2000, testDefault: nil, quickTrain: 1000, quickTest: 2000)
        // The MLP regime keeps its subset under --full; the CNN regime always uses every training image.
        let mlpSizes = (train: options.full ? (options.trainSubset ?? 2000) : sizes.train, test: sizes.test)
        let mlpData = c.regime != .cnn ? try options.loadData(mlpSizes, directory: directory) : nil
        let cnnData = c.regime != .mlp ? try options.loadData((nil, sizes.test), directory: directory) : nil
        let command = options.command("regularization", sizes: (options.full ? nil : mlpSizes.train, sizes.test), epochs: c.epochs,
                                      batchSize: c.batchSize, extra: extra)
        let engine = options.engine(study: "regularization", progress: progress)
        let result = try RegularizationStudy.run(c, mlpData: mlpData, cnnData: cnnData, engine: engine, outputDirectory: directory)
        for outcome in result.regimes { try SeededStudyReport.writeRunFiles(outcome) }
        let comparisons = try result.comparisons()
        try options.finish(report: result.report(command: command, outputDirectory: directory, comparisons: comparisons),
                           csv: SeededStudyReport.csv(result.regimes), summary: result.plainText(comparisons: comparisons),
                           study: "regularization", results: result.resultsFile(command: command, comparisons: comparisons))
    }
}
