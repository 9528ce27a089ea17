import Foundation
import NablaTensor
import NablaIO
import NablaNN
import NablaData
import NablaTraining

/// Trains the runs of a study with the library's ``/NablaTraining/Trainer`` — no second training loop — and records
/// them as ``StudyRun``s: per-epoch train and test metrics in evaluation mode, weight sparsity,
/// time, TensorBoard logs, the model file, and the `nabla train` command that repeats the run.
///
/// A run builds its model from `RandomGenerator(seed:)` and shuffles, drops out and augments with
/// the plan's seed exactly as `nabla train --seed` does, so the command reproduces it step for step.
public struct StudyRunner {
    /// The training data (before any validation split).
    public var train: Dataset
    /// The test data; runs with a validation split are measured on the validation part instead.
    public var test: Dataset?
    /// The `--data` spec of ``train`` for the reproduce commands.
    public var dataSpec: String
    /// The `--train-subset` of the reproduce commands.
    public var trainSubset: Int?
    /// Standardize inputs per channel with the statistics of each run's training part, after any
    /// validation split (as `nabla train --normalize`).
    public var normalizes = false
    /// `runs/` under the study's output directory: one directory per run key (replaced when a run
    /// starts) with TensorBoard events, `metrics.csv`, `metrics.jsonl` and `model.yaml`. `nil`
    /// keeps everything in memory.
    public var runsDirectory: URL?
    /// Where each run's progress line goes.
    public var progress: StudyProgress

    /// A runner over `train` and `test` (`nil` only when every plan holds out a validation split); `dataSpec` and
    /// `trainSubset` are what `nabla train` needs to load the same data.
    public init(train: Dataset, test: Dataset?, dataSpec: String, trainSubset: Int? = nil, runsDirectory: URL?,
                progress: StudyProgress) {
        self.train = train
        self.test = test
        self.dataSpec = dataSpec
        self.trainSubset = trainSubset
        self.runsDirectory = runsDirectory
        self.progress = progress
    }

    /// A runner for image data loaded by ``StudyData/load(spec:trainSubset:testSubset:seed:syntheticFile:fashionDirectory:)``.
    public init(data: StudyData, runsDirectory: URL?, progress: StudyProgress) {
        self.init(train: data.train, test: data.test, dataSpec: data.dataSpec, trainSubset: data.trainSubset,
                  runsDirectory: runsDirectory, progress: progress)
        normalizes = data.normalizes
    }

    /// The directory of a run's logs.
    public func directory(of plan: StudyRunPlan) -> URL? { runsDirectory?.appendingPathComponent(plan.key) }

    /// Trains `plan` (run `index` of `total`, for the progress line).
    /// - Parameters:
    ///   - plan: the run.
    ///   - index: the run's position among `total`, for the progress line.
    ///   - total: the number of runs of the study.
    ///   - onEpoch: called after each epoch with the model (e.g. to record predictions).
    /// - Throws: ``/NablaTensor/NablaError`` for a model that does not fit the data, an invalid hyper-parameter,
    ///   a diverged run, or logs that cannot be written.
    public func run(_ plan: StudyRunPlan, index: Int = 1, of total: Int = 1,
                    onEpoch: ((Int, Module<Float>) -> Void)? = nil) throws -> StudyRun {
        var trainSet = train
        var evaluationSet = test
        if plan.validationFraction > 0 {
            let parts = train.split(validationFraction: plan.validationFraction, seed: plan.seed)
            (trainSet, evaluationSet) = (parts.train, parts.validation)
        }
        guard var heldOut = evaluationSet else { preconditionFailure("StudyRunner: run '\(plan.key)' has neither a test set nor a validation split") }
        if normalizes {
            let statistics = trainSet.channelStatistics()
            trainSet.normalize(mean: statistics.mean, std: statistics.std)
            heldOut.normalize(mean: statistics.mean, std: statistics.std)
        }

        var generator = RandomGenerator(seed: plan.seed)
        let built = try plan.model.build(inputShape: trainSet.sampleShape, using: &generator)
        try plan.loss.validate(targets: trainSet.targets, outputShape: built.outputShape)
        let model = built.model
        for (_, module) in model.namedModules() {
            if let dropout = module as? Dropout<Float> { dropout.mode = plan.dropoutMode }
        }
        let directory = self.directory(of: plan)
        if let directory {
            try? FileManager.default.removeItem(at: directory)
            try AtomicFile.write(Data(plan.model.yaml.utf8), to: directory.appendingPathComponent("model.yaml"))
        }
        if plan.initialization != .pytorchDefault {
            var initGenerator = RandomGenerator(seed: plan.seed, stream: 0x1417)
            plan.initialization.apply(to: model, using: &initGenerator)
            if let directory { try model.save(to: directory.appendingPathComponent("initial.safetensors")) }
        }

        let optimizer = try plan.optimizer.make(for: model)
        let schedule = try plan.schedule?.make(for: optimizer)
        var loader = DataLoader(dataset: trainSet, batchSize: plan.batchSize, shuffle: true, dropLast: false, seed: plan.seed)
        if let pipeline = plan.augmentation {
            try pipeline.validate(imageShape: trainSet.sampleShape)
            loader.transform = { x, g in x = pipeline(x, using: &g) }
        }
        var configuration = TrainerConfiguration()
        configuration.epochs = plan.epochs
        configuration.loss = plan.loss
        configuration.penalty = plan.penalty
        configuration.clipNorm = plan.clipNorm
        configuration.logDirectory = directory
        configuration.logHistograms = plan.logsHistogramsEveryEpoch
        configuration.quiet = true
        let validation = plan.validationFraction > 0 ? heldOut : nil
        let trainer = try Trainer(model: model, optimizer: optimizer, schedule: schedule, trainLoader: loader, validation: validation,
                                  test: validation == nil ? heldOut : nil, configuration: configuration)

        // Weight histograms about ten times per run when the Trainer does not log them every epoch.
        var histogramWriter: SummaryWriter?
        if let directory, !plan.logsHistogramsEveryEpoch {
            histogramWriter = try SummaryWriter(logDirectory: directory, filenameSuffix: ".weights")
        }
        defer { try? histogramWriter?.close() }
        let histogramEvery = max(1, plan.epochs / 10)

        var epochs: [StudyEpoch] = []
        var failure: Error?
        progress.started(plan, index: index, of: total)
        trainer.onEpochEnd.append { [unowned trainer] report in
            let clean = trainer.evaluate(trainSet)
            epochs.append(StudyEpoch(epoch: report.epoch, trainLoss: clean.loss, trainAccuracy: clean.accuracy,
                                     testLoss: report.testLoss ?? report.validationLoss ?? .nan,
                                     testAccuracy: report.testAccuracy ?? report.validationAccuracy,
                                     runningTrainLoss: report.trainLoss, seconds: report.seconds))
            if let writer = histogramWriter, report.epoch % histogramEvery == 0 || report.epoch == plan.epochs {
                do {
                    for (name, p) in model.namedDecayableParameters() {
                        try writer.addHistogram("weights/\(name)", values: p.value, step: report.globalStep)
                    }
                    try writer.flush()
                } catch { failure = error }
            }
            onEpoch?(report.epoch, model)
            progress.epoch(plan, epochs.last!, index: index, of: total)
        }
        let result = try trainer.fit()
        if let failure { throw failure }
        let weights = model.decayableParameters()
        let run = StudyRun(key: plan.key, name: plan.name, summary: plan.summary, settings: plan.settings,
                           modelYAML: plan.model.yaml, command: trainCommand(for: plan), epochs: epochs,
                           seconds: result.seconds, sparsity: weightSparsity(weights),
                           weights: weights.flatMap { $0.value.scalars.map(Double.init) },
                           logDirectory: directory, note: result.stopReason)
        progress.finished(run, index: index, of: total)
        return run
    }

    /// The `nabla train` command that repeats `plan` on its own (same data, model file, initial
    /// weights, optimizer, penalty, augmentation, budget and seed).
    public func trainCommand(for plan: StudyRunPlan) -> String {
        let directory = self.directory(of: plan)?.relativePath ?? plan.key
        var words = ["nabla", "train", "--model", "\(directory)/model.yaml", "--data", dataSpec]
        if let trainSubset { words += ["--train-subset", String(trainSubset)] }
        if plan.validationFraction > 0 { words += ["--val-split", StudyRunPlan.format(plan.validationFraction)] }
        if normalizes { words.append("--normalize") }
        if plan.initialization != .pytorchDefault { words += ["--init", "\(directory)/initial.safetensors"] }
        if plan.dropoutMode != .inverted { words += ["--dropout-mode", plan.dropoutMode.rawValue] }
        if plan.loss != .crossEntropy(labelSmoothing: 0) { words += ["--loss", plan.loss.description] }
        words += ["--epochs", String(plan.epochs), "--batch-size", String(plan.batchSize), "--seed", String(plan.seed)]
        let f = StudyRunPlan.format
        words += plan.optimizer.commandLineArguments
        if let schedule = plan.schedule { words += ["--schedule", schedule.spec] }
        switch plan.penalty {
        case .none: break
        case .l2(let l): words += ["--l2", f(l)]
        case .l1(let l): words += ["--l1", f(l)]
        case .elasticNet(let l, let b): words += ["--elastic", "\(f(l)),\(f(b))"]
        }
        if let a = plan.augmentation { words += ["--augment", a.description] }
        if let c = plan.clipNorm { words += ["--clip-norm", f(c)] }
        return words.map(shellQuoted).joined(separator: " ")
    }
}

/// `word` quoted for a POSIX shell when it needs it.
func shellQuoted(_ word: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./,:=+@%")
    if !word.isEmpty && word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
