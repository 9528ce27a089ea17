import ArgumentParser
import Foundation
import Nabla

/// `nabla study`: the experiments of the seeds, each with an HTML report and TensorBoard logs.
struct StudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Run a study: regularization (default), optimizers, a hyper-parameter search, or replications of published results.",
        discussion: """
            Each study trains its runs with the library's Trainer, prints its results, and writes DIR/report.html \
            (self-contained: inline SVG charts, tables, configurations and reproduce commands), DIR/results.json \
            (every per-seed number and verdict), DIR/results.csv and TensorBoard logs under DIR/runs/ \
            (DIR: --output, default nabla-out/<study>). Seeded studies run every variant on several paired seeds \
            in worker processes (--seeds, --jobs) and cache every finished run in DIR/cache, so an interrupted \
            study resumes and a re-run with more seeds trains only the new ones.
            """,
        subcommands: [StudyRegularizationCommand.self, StudyOptimizersCommand.self, StudySearchCommand.self,
                      StudyReplicateCommand.self, StudyWorkerCommand.self],
        defaultSubcommand: StudyRegularizationCommand.self)
}

/// Flags shared by the studies. Sizes left unset take the study's default for the chosen budget.
struct StudyOptions: ParsableArguments {
    @Option(name: .long, help: "Output directory (default: nabla-out/<study>).")
    var output: String?
    @Option(name: .long, help: "The first seed: runs use seeds SEED, SEED+1, … (tuning runs SEED+1000, …).")
    var seed: UInt64 = 0
    @Flag(name: .long, help: "A first look in a few minutes: smaller data, fewer variants and epochs.")
    var quick = false
    @Flag(name: .long, help: "The full protocol: whole training set where the study uses it, full grids.")
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
    @Flag(name: .long, help: "Train on the raw inputs (default: standardized per channel with the training part's statistics).")
    var noNormalize = false
    @Flag(name: .long, help: "No progress output (the results are still printed).")
    var quiet = false

    @Option(name: .long, help: "Final seeds per variant and setting (paired across variants; at least 2 for statistics).")
    var seeds: Int?
    @Option(name: .long, help: "Runs trained at once, in worker processes (default: cores ÷ --threads-per-run; 1 trains in this process).")
    var jobs: Int?
    @Option(name: .long, help: "Threads of each run.")
    var threadsPerRun: Int = 1
    @Option(name: .long, help: "Where finished runs are cached (default: DIR/cache).")
    var cache: String?
    @Flag(name: .long, help: "Cache nothing: train every run.")
    var noCache = false

    func validate() throws {
        if quick && full { throw ValidationError("--quick and --full are exclusive") }
        if full && trainSubset != nil { throw ValidationError("--full uses the whole training set; drop --train-subset") }
        for (flag, value) in [("train-subset", trainSubset), ("test-subset", testSubset), ("epochs", epochs), ("batch-size", batchSize),
                              ("jobs", jobs), ("threads-per-run", threadsPerRun)] {
            if let value, value < 1 { throw ValidationError("--\(flag) \(value) must be at least 1") }
        }
        if let data, data != StudyData.syntheticSpec { _ = try DatasetSource.parse(data) }
        if let seeds, seeds < 2 { throw ValidationError("--seeds \(seeds) must be at least 2: one seed has no spread, so no interval and no test") }
        if noCache && cache != nil { throw ValidationError("--cache and --no-cache are exclusive") }
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
        if let notice = data.notice { StandardStreams.note("nabla: \(notice)\n") }
        return data
    }

    /// Rank 0's executor when the study runs on the ranks of an MPI job (``runOnRanks(_:)``).
    nonisolated(unsafe) static var rankExecutor: ProcessGroupStudyExecutor?

    /// Runs `study` — in this process, or, under `mpirun -np K` (K > 1), on rank 0 with the jobs
    /// spread across all ranks (``ProcessGroupStudyExecutor``): ranks 1…K−1 only train the jobs rank
    /// 0 sends, and rank 0 alone writes the cache, the report and `results.json`. `--jobs` is
    /// ignored on ranks (each rank trains one run at a time with --threads-per-run threads).
    func runOnRanks(_ study: () throws -> Void) throws {
        let job = try TrainingJob.start()
        guard let group = job.group, group.size > 1 else { return try study() }
        let executor = ProcessGroupStudyExecutor(group: group, threadsPerRun: threadsPerRun)
        if group.rank > 0 {
            try executor.serve()
        } else {
            Self.rankExecutor = executor
            // A failure here exits without telling the other ranks; the launcher then stops them.
            try study()
            try executor.finish()
        }
        try job.finish()
    }

    /// Worker processes by default: as many as the cores allow at --threads-per-run each.
    var effectiveJobs: Int { jobs ?? max(1, Parallelism.availableCoreCount / threadsPerRun) }

    /// The engine that runs a study's jobs: in this process with `--jobs 1`, else in worker
    /// processes; with the result cache unless `--no-cache`.
    func engine(study: String, progress: StudyProgress) -> StudyEngine {
        let executor: StudyExecutor
        if let ranks = Self.rankExecutor {
            Parallelism.setThreadCount(threadsPerRun, processesSharingCores: ThreadOptions.ranksSharingCores())
            executor = ranks
        } else if effectiveJobs == 1 {
            Parallelism.setThreadCount(threadsPerRun)
            executor = InProcessStudyExecutor()
        } else {
            executor = WorkerProcessStudyExecutor(executable: WorkerProcessStudyExecutor.currentExecutable,
                                                  arguments: ["study", "worker", "--threads", String(threadsPerRun),
                                                              "--processes", String(effectiveJobs)],
                                                  workerCount: effectiveJobs, threadsPerWorker: threadsPerRun)
        }
        let cacheDirectory = cache.map { URL(fileURLWithPath: $0) } ?? outputDirectory(study).appendingPathComponent("cache")
        return StudyEngine(executor: executor, cache: noCache ? nil : StudyResultCache(directory: cacheDirectory), progress: progress)
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
    func finish(report: HTMLReport, csv: String, summary: String, study: String, results: StudyResultsFile? = nil) throws {
        let directory = outputDirectory(study)
        let reportURL = directory.appendingPathComponent("report.html")
        try report.write(to: reportURL)
        try AtomicFile.write(Data(csv.utf8), to: directory.appendingPathComponent("results.csv"))
        if let results { try results.write(to: directory.appendingPathComponent("results.json")) }
        print(summary)
        print("\nreport: \(reportURL.relativePath)")
        if results != nil { print("data:   \(directory.appendingPathComponent("results.json").relativePath)") }
        print("logs:   \(directory.appendingPathComponent("runs").relativePath) (tensorboard --logdir \(directory.appendingPathComponent("runs").relativePath))")
    }
}

/// `nabla study worker`: runs study jobs read from standard input, one JSON job per line, answering
/// on standard output (``StudyWorkerProtocol``). Started by the studies themselves (`--jobs`).
struct StudyWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run study jobs from standard input (started by the studies; see --jobs).",
        shouldDisplay: false)

    @Option(name: .long, help: "Threads of each run.")
    var threads: Int = 1

    @Option(name: .long, help: "Worker processes of the study sharing this machine's cores.")
    var processes: Int = 1

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads \(threads) must be at least 1") }
        if processes < 1 { throw ValidationError("--processes \(processes) must be at least 1") }
    }

    func run() throws {
        Parallelism.setThreadCount(threads, processesSharingCores: processes)
        // A worker outlives nothing: when the study that started it dies (Ctrl-C, kill), stop at once
        // instead of finishing a run whose result nobody will read.
        let parent = getppid()
        Thread.detachNewThread {
            while getppid() == parent { sleep(1) }
            Foundation.exit(1)
        }
        StudyWorkerProtocol.serve(readLine: { Swift.readLine(strippingNewline: true) }, write: { line in
            print(line)
            fflush(stdout)
        })
    }
}
