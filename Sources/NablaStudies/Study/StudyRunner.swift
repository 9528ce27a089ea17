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
        let training = trainingPlan(for: plan)
        precondition(plan.validationFraction > 0 || test != nil,
                     "StudyRunner: run '\(plan.key)' has neither a test set nor a validation split")
        let directory = self.directory(of: plan)
        if let directory {
            try? FileManager.default.removeItem(at: directory)
            try AtomicFile.write(Data(plan.model.yaml.utf8), to: directory.appendingPathComponent("model.yaml"))
        }
        // With a validation split the run is measured on the validation part, not on the test set.
        let session = try training.prepare(loaded: (train, plan.validationFraction > 0 ? nil : test))
        let trainer = session.trainer, model = session.model, trainSet = session.data.train

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

    /// The training plan of `plan` on this runner's data: what `nabla train` runs to repeat it.
    public func trainingPlan(for plan: StudyRunPlan) -> TrainingPlan {
        var training = TrainingPlan(model: .init(description: plan.model), data: .init(spec: dataSpec))
        training.model.dropoutMode = plan.dropoutMode
        training.model.initialization = plan.initialization
        training.data.trainSubset = trainSubset
        training.data.validationFraction = plan.validationFraction
        training.data.normalize = normalizes
        training.loss = plan.loss.name
        training.labelSmoothing = plan.loss.labelSmoothing
        training.optimizer = plan.optimizer
        training.schedule = plan.schedule?.spec
        training.penalty = plan.penalty == .none ? nil : plan.penalty.description
        training.clipNorm = plan.clipNorm
        training.augmentation = plan.augmentation?.description
        training.epochs = plan.epochs
        training.batchSize = plan.batchSize
        training.seed = plan.seed
        training.output.logDirectory = directory(of: plan)?.path
        training.output.logHistograms = plan.logsHistogramsEveryEpoch
        training.output.quiet = true
        return training
    }

    /// The `nabla train` command that repeats `plan` on its own: its ``trainingPlan(for:)`` with the
    /// model read from the run's `model.yaml` and no outputs.
    public func trainCommand(for plan: StudyRunPlan) -> String {
        var training = trainingPlan(for: plan)
        training.output = TrainingPlan.Output()
        let directory = self.directory(of: plan)?.relativePath ?? plan.key
        return training.commandLine(modelFile: "\(directory)/model.yaml")
    }
}
