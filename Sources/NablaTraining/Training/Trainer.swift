import Foundation
import NablaTensor
import NablaIO
import NablaNN
import NablaOptim
import NablaData

/// The training loop: epochs (or a step budget) of mini-batch gradient descent, evaluation after each
/// epoch, parameter penalties, clipping and constraints, learning-rate schedules, early stopping,
/// divergence detection, checkpoints, and logs.
///
/// One step is PyTorch's canonical order — `zero_grad`, forward, loss (+ penalty), `backward`,
/// clip, `step`, constraint (a ``ClosureOptimizer`` such as SAM gets `step(closure)`, whose closure
/// repeats forward, loss, backward and clipping at the weights it chooses) — so a run with `shuffle: false` and no dropout can be reproduced in
/// PyTorch step for step. Schedules step once per epoch (`ReduceLROnPlateau` on the validation loss,
/// else the test loss, else the training loss). With ``TrainerConfiguration/accumulationSteps`` `N > 1`
/// the gradients of `N` consecutive batches, each loss weighted by its share of the group's samples,
/// add up before one step (`zero_grad` at the group's first batch, the step after its last).
///
/// **Checkpoints and resume.** With a checkpoint directory, `checkpoint.safetensors` (weights,
/// optimizer and schedule state, every dropout generator, progress, configuration) and
/// `model.safetensors` (the PyTorch-readable state dict) are written atomically after every epoch
/// (and every ``TrainerConfiguration/checkpointEverySteps``). ``resume(from:)`` restores all of it;
/// since the data order and augmentation of batch `b` of epoch `e` depend only on `(seed, e, b)`, the
/// resumed run takes exactly the steps the uninterrupted run would have taken.
///
/// **Divergence.** A non-finite loss or gradient stops training with an error naming the step and the
/// parameter before the optimizer touches the weights, leaving the last checkpoint as it was (or, with
/// ``TrainerConfiguration/skipNonFinite``, the step is skipped).
public final class Trainer {
    /// The model being trained (in place).
    public let model: Module<Float>
    /// The optimizer over the model's parameters.
    public let optimizer: any Optimizer<Float>
    /// The learning-rate schedule, stepped once per finished epoch; `nil` keeps the learning rate fixed.
    public let schedule: (any LearningRateSchedule)?
    /// The training batches (order, batch size and augmentation).
    public let trainLoader: DataLoader
    /// Evaluated after every epoch when given: `val_loss`, `val_accuracy`; early stopping and
    /// `ReduceLROnPlateau` monitor its loss.
    public let validation: Dataset?
    /// Evaluated after every epoch when given: `test_loss`, `test_accuracy`, `test_top5_accuracy`.
    public let test: Dataset?
    /// Budget, loss, penalty, clipping, checkpoints and logs.
    public let configuration: TrainerConfiguration
    /// Identifies the run for resume (canonical JSON of what must not change between the halves).
    public let runIdentity: String
    /// Called after every epoch with its report.
    public var onEpochEnd: [(EpochReport) -> Void] = []
    /// Code that runs at fixed points of every step and epoch (``TrainingCallback``), in order.
    /// Add callbacks before ``fit()`` and before ``resume(from:)``, which restores their state.
    public var callbacks: [any TrainingCallback] = [] {
        didSet {
            let names = callbacks.map(\.name)
            precondition(Set(names).count == names.count, "Trainer: callback names must be unique, got \(names)")
        }
    }
    /// Set by ``requestStop(reason:)``: training ends after the current step.
    public private(set) var stopRequest: String?
    /// Where the run stands.
    public private(set) var progress = TrainingProgress()
    /// Steps skipped because their loss or gradients were not finite.
    public private(set) var skippedSteps = 0
    /// Written into the `__metadata__` of `model.safetensors` and `best.safetensors` (what
    /// ``TrainingSession/metadata`` describes: layers, input shape, normalization, class names).
    public var modelMetadata: [String: String] = [:]

    private let decayable: [Variable<Float>]
    private let earlyStopping: EarlyStopping<Float>?
    private var logger: TrainingLogger?

    /// A trainer of `model` with `optimizer` on `trainLoader`'s batches.
    /// - Parameters:
    ///   - model: The model; ``fit()`` updates its parameters and buffers in place.
    ///   - optimizer: An optimizer over `model.parameters`.
    ///   - schedule: Stepped after each finished epoch (with the monitored loss if it requires a metric).
    ///   - trainLoader: The training batches.
    ///   - validation: Evaluated each epoch; its loss is the monitored metric when present.
    ///   - test: Evaluated each epoch; its loss is monitored when there is no validation set.
    ///   - configuration: Everything else; ``TrainerConfiguration/steps`` or
    ///     ``TrainerConfiguration/epochs`` must be at least 1.
    ///   - runIdentity: Canonical JSON of what must not change across a resume; ``resume(from:)``
    ///     rejects a checkpoint written with another one.
    /// - Throws: ``/NablaTensor/NablaError`` (`.invalidArgument`) for an epoch or step budget below 1 or
    ///   an invalid early-stopping patience.
    public init(model: Module<Float>, optimizer: any Optimizer<Float>, schedule: (any LearningRateSchedule)? = nil,
                trainLoader: DataLoader, validation: Dataset? = nil, test: Dataset? = nil,
                configuration: TrainerConfiguration, runIdentity: String = "{}") throws {
        self.model = model
        self.optimizer = optimizer
        self.schedule = schedule
        self.trainLoader = trainLoader
        self.validation = validation
        self.test = test
        self.configuration = configuration
        self.runIdentity = runIdentity
        decayable = model.decayableParameters()
        if let patience = configuration.earlyStoppingPatience {
            try EarlyStopping<Float>.validate(patience: patience, minDelta: 0)
            earlyStopping = EarlyStopping(mode: .min, patience: patience)
        } else {
            earlyStopping = nil
        }
        if let steps = configuration.steps, steps < 1 {
            throw NablaError(.invalidArgument, "--steps \(steps): must be at least 1")
        }
        if configuration.steps == nil && configuration.epochs < 1 {
            throw NablaError(.invalidArgument, "--epochs \(configuration.epochs): must be at least 1")
        }
        if configuration.accumulationSteps < 1 {
            throw NablaError(.invalidArgument, "--accumulate \(configuration.accumulationSteps): must be at least 1")
        }
    }

    // MARK: Checkpoints

    /// `checkpoint.safetensors` in the checkpoint directory, if one is configured.
    public var checkpointURL: URL? { configuration.checkpointDirectory?.appendingPathComponent("checkpoint.safetensors") }
    var bestWeightsURL: URL? { configuration.checkpointDirectory?.appendingPathComponent("best.safetensors") }

    /// The complete state of the run.
    public func checkpoint() -> Checkpoint {
        var progress = self.progress
        if let state = earlyStopping?.state {
            progress.bestMetric = state.bestMetric
            progress.bestEpoch = state.bestEpoch
            progress.epochsWithoutImprovement = state.epochsWithoutImprovement
        }
        var checkpoint = Checkpoint(model: model.stateDict(), integerModelKeys: model.integerStateKeys,
                                    optimizer: optimizer.stateDict(), schedule: schedule?.stateDict() ?? [:],
                                    generators: model.randomGeneratorStates().mapValues(\.words), progress: progress,
                                    configuration: runIdentity)
        for callback in callbacks {
            let state = callback.checkpointState()
            if !state.isEmpty { checkpoint.callbacks[callback.name] = state }
        }
        return checkpoint
    }

    /// Writes `checkpoint.safetensors` and `model.safetensors` (atomically) if a directory is configured.
    public func saveCheckpoint() throws {
        guard let url = checkpointURL, let directory = configuration.checkpointDirectory else { return }
        try checkpoint().write(to: url)
        try model.save(to: directory.appendingPathComponent("model.safetensors"), metadata: modelMetadata)
    }

    /// Restores a run from a checkpoint written by ``saveCheckpoint()``.
    /// - Throws: ``/NablaTensor/NablaError`` if the file is unreadable or malformed, or was written by a run with a
    ///   different configuration (model, data, optimizer, …), naming the file.
    public func resume(from url: URL) throws {
        let saved = try Checkpoint.read(from: url)
        guard saved.configuration == runIdentity else {
            throw NablaError(.invalidArgument, "\(url.path): checkpoint was written by a run with a different configuration; resume with the same flags (epochs/steps may change)")
        }
        do {
            try model.loadStateDict(saved.model)
            try optimizer.loadStateDict(saved.optimizer)
            if let schedule { try schedule.loadStateDict(saved.schedule) }
            try model.restoreRandomGenerators(saved.generators.mapValues { RandomGenerator(words: $0) })
            for callback in callbacks { try callback.restore(checkpointState: saved.callbacks[callback.name] ?? [:]) }
            if let unknown = Set(saved.callbacks.keys).subtracting(callbacks.map(\.name)).sorted().first {
                throw NablaError(.unexpectedKey, "checkpoint holds the state of '\(unknown)', which this run does not have")
            }
        } catch let error as NablaError {
            throw NablaError(error.kind, "\(url.path): \(error.message)")
        }
        progress = saved.progress
        if let earlyStopping {
            earlyStopping.state = .init(bestMetric: saved.progress.bestMetric, bestEpoch: saved.progress.bestEpoch,
                                        epochsWithoutImprovement: saved.progress.epochsWithoutImprovement, stopped: false)
            if let bestURL = bestWeightsURL, FileManager.default.fileExists(atPath: bestURL.path) {
                let best = try SafeTensorsFile.read(from: bestURL)
                earlyStopping.setBestStateDict(best.tensors.mapValues { $0.tensor(as: Float.self) })
            }
        }
    }

    // MARK: Evaluation

    /// Loss and accuracy of the model in evaluation mode on `dataset`, without recording gradients.
    public func evaluate(_ dataset: Dataset) -> MetricAccumulator {
        NablaTraining.evaluate(model, on: dataset, loss: configuration.loss, batchSize: configuration.evaluationBatchSize)
    }

    // MARK: Training

    /// Ends training after the current step: ``fit()`` finishes the step, writes the checkpoint (when
    /// a directory is configured), and returns with `reason` as its stop reason. Callable from a
    /// callback or a signal handler's polling code (not thread-safe: call it on the training thread).
    public func requestStop(reason: String) {
        if stopRequest == nil { stopRequest = reason }
    }

    /// Trains until the epoch or step budget is spent, early stopping triggers, or training diverges.
    /// - Throws: ``/NablaTensor/NablaError`` (`.nonFinite`) naming the step when the loss or a gradient is not
    ///   finite (unless skipping), or an I/O error from checkpoints and logs.
    public func fit() throws -> TrainingResult {
        let start = Date()
        if let directory = configuration.logDirectory, logger == nil {
            logger = try TrainingLogger(directory: directory, resuming: progress.globalStep > 0)
        }
        defer { logger?.close() }
        var reports: [EpochReport] = []
        var stopReason: String?
        var restoredBestEpoch: Int?
        for callback in callbacks { try callback.trainingWillBegin(self) }
        let names = Dictionary(uniqueKeysWithValues: model.namedParameters().map { (ObjectIdentifier($0.variable), $0.name) })
        let parameters = model.parameters
        let accumulation = configuration.accumulationSteps

        while stopReason == nil && !budgetSpent {
            let epoch = progress.epoch
            let epochStart = Date()
            model.train()
            var metrics = MetricAccumulator()
            let batches = trainLoader.epoch(epoch, startingAtBatch: progress.stepInEpoch)
            let total = configuration.steps.map { min(batches.count, ($0 - progress.globalStep) * accumulation) } ?? batches.count
            let label = configuration.steps == nil ? "epoch \(epoch + 1)/\(configuration.epochs)" : "epoch \(epoch + 1)"
            let reporter = ProgressReporter(label: label, total: total, quiet: configuration.quiet)
            var done = 0
            // Gradient accumulation: batches [k·N, (k+1)·N) of the epoch make one optimizer step.
            var groupLoss = 0.0, skippingGroup = false
            for batch in batches {
                if let steps = configuration.steps, progress.globalStep >= steps { break }
                let startsGroup = batch.index % accumulation == 0
                let endsGroup = (batch.index + 1) % accumulation == 0 || batch.index == trainLoader.batchCount - 1
                if stopRequest != nil && startsGroup { break }
                for callback in callbacks { try callback.batchWillBegin(self, batch: batch) }
                if startsGroup { optimizer.zeroGrad(); groupLoss = 0; skippingGroup = false }
                if skippingGroup {
                    // The rest of a group whose step is skipped.
                    progress.stepInEpoch += 1
                    if endsGroup { progress.globalStep += 1 }
                    continue
                }
                let output = model(Variable(batch.inputs))
                let dataLoss = configuration.loss(output, batch.targets)
                let loss = configuration.penalty == .none ? dataLoss : dataLoss + configuration.penalty(decayable)
                let lossValue = loss.value.scalar
                let share = accumulation == 1 ? 1 : Double(batch.indices.count) / Double(groupSampleCount(containing: batch.index))
                var problem: String? = lossValue.isFinite ? nil : "the loss is \(lossValue)"
                if problem == nil {
                    (accumulation == 1 ? loss : loss * Float(share)).backward()
                    if let bad = parameters.first(where: { !($0.grad?.isFinite ?? true) }) {
                        problem = "the gradient of '\(names[ObjectIdentifier(bad)] ?? "?")' is not finite"
                    }
                }
                if let problem {
                    guard configuration.skipNonFinite else {
                        let kept = checkpointURL.map { "; the last good checkpoint is \($0.path)" } ?? ""
                        throw NablaError(.nonFinite, "training diverged at epoch \(epoch + 1), step \(progress.stepInEpoch + 1) (global step \(progress.globalStep + 1)): \(problem)\(kept); lower the learning rate (--lr) or clip the gradients (--clip-norm), or pass --skip-nonfinite to skip such steps")
                    }
                    optimizer.zeroGrad()
                    skippedSteps += 1
                    skippingGroup = true
                    progress.stepInEpoch += 1
                    if endsGroup { progress.globalStep += 1 }
                    continue
                }
                groupLoss += share * Double(dataLoss.value.scalar)
                guard endsGroup else {
                    metrics.add(loss: Double(dataLoss.value.scalar), output: output.value, targets: batch.targets)
                    progress.stepInEpoch += 1
                    done += 1
                    reporter.update(done: done, runningLoss: metrics.loss)
                    continue
                }
                for callback in callbacks { try callback.gradientsDidCompute(self) }
                if let clipNorm = configuration.clipNorm { clipGradientNorm(parameters, maxNorm: clipNorm) }
                if let clipValue = configuration.clipValue { clipGradientValues(parameters, clipValue: clipValue) }
                if let closureOptimizer = optimizer as? any ClosureOptimizer<Float> {
                    try closureOptimizer.step { try recomputeGradients(batch, epoch: epoch) }
                } else {
                    optimizer.step()
                }
                if let maxNorm = configuration.maxNorm { MaxNormConstraint(maxNorm: maxNorm).apply(to: model) }
                progress.stepInEpoch += 1
                progress.globalStep += 1
                metrics.add(loss: Double(dataLoss.value.scalar), output: output.value, targets: batch.targets)
                for callback in callbacks { try callback.stepDidEnd(self, loss: groupLoss) }
                done += 1
                reporter.update(done: done, runningLoss: metrics.loss)
                if let every = configuration.checkpointEverySteps, progress.globalStep % every == 0 { try saveCheckpoint() }
            }
            let epochFinished = progress.stepInEpoch >= trainLoader.batchCount
            if let request = stopRequest, !epochFinished {
                // Stopped inside an epoch: the checkpoint continues it where it stopped.
                try saveCheckpoint()
                stopReason = request
                break
            }
            guard epochFinished || budgetSpent else { continue }

            var report = EpochReport(epoch: epoch + 1, globalStep: progress.globalStep, learningRate: optimizer.learningRate,
                                     trainLoss: metrics.loss, trainAccuracy: metrics.accuracy,
                                     seconds: Date().timeIntervalSince(epochStart))
            if let validation {
                let m = evaluate(validation)
                report.validationLoss = m.loss
                report.validationAccuracy = m.accuracy
            }
            if let test {
                let m = evaluate(test)
                report.testLoss = m.loss
                report.testAccuracy = m.accuracy
                report.testTop5Accuracy = m.top5Accuracy
            }
            report.seconds = Date().timeIntervalSince(epochStart)
            let monitored = report.validationLoss ?? report.testLoss ?? report.trainLoss
            if epochFinished {
                // A step budget that ends mid-epoch leaves the epoch open, so a resumed run with a
                // larger budget continues it instead of skipping its remaining batches.
                if let schedule { schedule.requiresMetric ? schedule.step(metric: monitored) : schedule.step() }
                progress.epoch += 1
                progress.stepInEpoch = 0
            }
            progress.history.append(report.values)
            if let earlyStopping {
                let improved = earlyStopping.isImprovement(monitored)
                if earlyStopping.update(metric: monitored, epoch: epoch + 1, module: model) {
                    stopReason = "early stopping after epoch \(epoch + 1): no improvement for \(earlyStopping.patience) epochs; restored the weights of epoch \(earlyStopping.bestEpoch ?? 0)"
                    try earlyStopping.restoreBest(into: model)
                    restoredBestEpoch = earlyStopping.bestEpoch
                } else if improved, let url = bestWeightsURL {
                    try model.save(to: url, metadata: modelMetadata)
                }
            }
            for callback in callbacks { try callback.epochDidEnd(self, report: report) }
            try logger?.log(report, model: model, histograms: configuration.logHistograms)
            try saveCheckpoint()
            reports.append(report)
            for callback in onEpochEnd { callback(report) }
            if let request = stopRequest, stopReason == nil { stopReason = request }
        }
        let result = TrainingResult(epochs: reports, stopReason: stopReason, seconds: Date().timeIntervalSince(start), progress: progress,
                                    restoredBestEpoch: restoredBestEpoch)
        for callback in callbacks { try callback.trainingDidEnd(self, result: result) }
        return result
    }

    /// The gradients of `batch`'s loss at the current weights, clipped as the first pass was — the
    /// second pass of a ``ClosureOptimizer`` (SAM).
    /// - Throws: ``NablaError`` (`.nonFinite`) when the loss or a gradient is not finite.
    private func recomputeGradients(_ batch: Batch, epoch: Int) throws {
        optimizer.zeroGrad()
        let output = model(Variable(batch.inputs))
        let dataLoss = configuration.loss(output, batch.targets)
        let loss = configuration.penalty == .none ? dataLoss : dataLoss + configuration.penalty(decayable)
        let value = loss.value.scalar
        let parameters = model.parameters
        guard value.isFinite else {
            throw NablaError(.nonFinite, "training diverged at epoch \(epoch + 1), step \(progress.stepInEpoch + 1) (global step \(progress.globalStep + 1)): the loss at the perturbed weights is \(value)")
        }
        loss.backward()
        if parameters.contains(where: { !($0.grad?.isFinite ?? true) }) {
            throw NablaError(.nonFinite, "training diverged at epoch \(epoch + 1), step \(progress.stepInEpoch + 1) (global step \(progress.globalStep + 1)): a gradient at the perturbed weights is not finite")
        }
        if let clipNorm = configuration.clipNorm { clipGradientNorm(parameters, maxNorm: clipNorm) }
        if let clipValue = configuration.clipValue { clipGradientValues(parameters, clipValue: clipValue) }
    }

    /// The number of samples in the accumulation group of batch `index` (batches `[k·N, (k+1)·N)` of
    /// an epoch, `N` = ``TrainerConfiguration/accumulationSteps``; only the epoch's last batch may be short).
    func groupSampleCount(containing index: Int) -> Int {
        let n = configuration.accumulationSteps, size = trainLoader.batchSize, count = trainLoader.dataset.count
        let first = index - index % n, last = min(first + n, trainLoader.batchCount) - 1
        return (first...last).reduce(0) { $0 + min(size, count - $1 * size) }
    }

    /// Whether the epoch or step budget is used up.
    var budgetSpent: Bool {
        if let steps = configuration.steps { return progress.globalStep >= steps }
        return progress.epoch >= configuration.epochs
    }
}
