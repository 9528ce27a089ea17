import ArgumentParser
import Foundation
import Nabla

/// `nabla study`: the experiments of the seeds, each with an HTML report and TensorBoard logs.
struct StudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Run a study: regularization (default), optimizers, or a random hyper-parameter search.",
        discussion: """
            Each study trains its runs with the library's Trainer, prints a results table, and writes \
            DIR/report.html (self-contained: inline SVG charts, tables, the configuration and a `nabla train` \
            command for every run), DIR/results.csv and TensorBoard logs under DIR/runs/<run>/ \
            (DIR: --output, default nabla-out/<study>).
            """,
        subcommands: [StudyRegularizationCommand.self, StudyOptimizersCommand.self, StudySearchCommand.self],
        defaultSubcommand: StudyRegularizationCommand.self)
}

/// Flags shared by the studies. Sizes left unset take the study's default for the chosen budget.
struct StudyOptions: ParsableArguments {
    @Option(name: .long, help: "Output directory (default: nabla-out/<study>).")
    var output: String?
    @Option(name: .long, help: "Seed of data subsets, initialization, shuffling, dropout and augmentation.")
    var seed: UInt64 = 0
    @Flag(name: .long, help: "A first look in under two minutes: smaller data and fewer epochs.")
    var quick = false
    @Flag(name: .long, help: "Use the whole training set.")
    var full = false
    @Option(name: .long, help: ArgumentHelp("Image dataset with a test split (default: fashion-mnist, or generated images when it is not installed).",
                                            discussion: "\(DatasetSource.acceptedForms), or \(StudyData.syntheticSpec)"))
    var data: String?
    @Option(name: .long, help: "Use the first N training images.")
    var trainSubset: Int?
    @Option(name: .long, help: "Use the first N test images.")
    var testSubset: Int?
    @Option(name: .long, help: "Epochs of every image run.")
    var epochs: Int?
    @Option(name: .long, help: "Mini-batch size.")
    var batchSize: Int?
    @Flag(name: .long, help: "Train on the raw inputs (default: standardized per channel with the training set's statistics).")
    var noNormalize = false
    @Flag(name: .long, help: "No progress output (the results table is still printed).")
    var quiet = false

    func validate() throws {
        if quick && full { throw ValidationError("--quick and --full are exclusive") }
        if full && trainSubset != nil { throw ValidationError("--full uses the whole training set; drop --train-subset") }
        for (flag, value) in [("train-subset", trainSubset), ("test-subset", testSubset), ("epochs", epochs), ("batch-size", batchSize)] {
            if let value, value < 1 { throw ValidationError("--\(flag) \(value) must be at least 1") }
        }
        if let data, data != StudyData.syntheticSpec { _ = try DatasetSource.parse(data) }
    }

    /// The output directory of `study`.
    func outputDirectory(_ study: String) -> URL { URL(fileURLWithPath: output ?? "nabla-out/\(study)") }

    /// The effective `(train, test)` subset sizes: the flags, else the budget's defaults (`nil` = all).
    func sizes(trainDefault: Int?, testDefault: Int?, quickTrain: Int, quickTest: Int) -> (train: Int?, test: Int?) {
        (full ? nil : trainSubset ?? (quick ? quickTrain : trainDefault), testSubset ?? (quick ? quickTest : testDefault))
    }

    /// Loads the data with the given subset sizes; a notice (Fashion-MNIST missing) goes to standard error.
    func loadData(_ sizes: (train: Int?, test: Int?), directory: URL) throws -> StudyData {
        var data = try StudyData.load(spec: data, trainSubset: sizes.train, testSubset: sizes.test, seed: seed,
                                      syntheticFile: directory.appendingPathComponent("synthetic-images.safetensors"))
        data.normalizes = !noNormalize
        if let notice = data.notice { FileHandle.standardError.write(Data("nabla: \(notice)\n".utf8)) }
        return data
    }

    /// The explicit command line of a study with every effective value (never `--quick`), for its report.
    func command(_ study: String, sizes: (train: Int?, test: Int?), epochs: Int, batchSize: Int, extra: [String]) -> String {
        var words = ["nabla", "study", study, "--seed", String(seed)]
        if let data { words += ["--data", data] }
        if full { words.append("--full") } else if let n = sizes.train { words += ["--train-subset", String(n)] }
        if let n = sizes.test { words += ["--test-subset", String(n)] }
        words += ["--epochs", String(epochs), "--batch-size", String(batchSize)]
        if noNormalize { words.append("--no-normalize") }
        words += extra + ["--output", outputDirectory(study).relativePath]
        return words.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
    }

    /// Writes the report and the CSV, prints the summary and where the report is.
    func finish(report: HTMLReport, csv: String, summary: String, study: String) throws {
        let directory = outputDirectory(study)
        let reportURL = directory.appendingPathComponent("report.html")
        try report.write(to: reportURL)
        try AtomicFile.write(Data(csv.utf8), to: directory.appendingPathComponent("results.csv"))
        print(summary)
        print("\nreport: \(reportURL.relativePath)")
        print("logs:   \(directory.appendingPathComponent("runs").relativePath) (tensorboard --logdir \(directory.appendingPathComponent("runs").relativePath))")
    }
}
