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
/// else the training loss). With ``TrainerConfiguration/accumulationSteps`` `N > 1`
/// the gradients of `N` consecutive batches, each loss weighted by its share of the group's samples,
/// add up before one step (`zero_grad` at the group's first batch, the step after its last).
///
/// **The test set is reported, never selected on.** Early stopping, its best-weights selection and
/// `ReduceLROnPlateau` monitor the validation loss, or the training loss when there is no
/// validation set (``TrainingPlan`` carves one from the training data when they are requested).
///
/// **Checkpoints and resume.** With a checkpoint directory, `checkpoint.safetensors` (weights,
/// optimizer and schedule state, every dropout generator, progress with the partial epoch's metrics,
/// early stopping's best weights, callback state, configuration) and `model.safetensors` (the
/// PyTorch-readable state dict) are written atomically after every epoch (and every
/// ``TrainerConfiguration/checkpointEverySteps``). ``resume(from:)`` validates and restores all of
/// it; since the data order and augmentation of batch `b` of epoch `e` depend only on `(seed, e, b)`,
/// the resumed run takes exactly the steps the uninterrupted run would have taken, and a run killed at
/// any instant resumes to bitwise-identical weights. The checkpoint and log directories are locked
/// (``DirectoryLock``) while the trainer uses them, and the logs are rebuilt to match the checkpoint.
///
/// **Divergence.** A non-finite loss or gradient, or a step's loss above
/// ``TrainerConfiguration/divergenceFactor`` (1000) × max(1, the first step's loss), stops training
/// with an error naming the step, with advice, before the optimizer touches the weights; an epoch
/// whose mean training loss ends above ``TrainerConfiguration/epochDivergenceFactor`` (5) ×
/// max(1, the first step's loss) stops it before that epoch's evaluation and checkpoint. Either way
/// the last checkpoint stays as it was. With ``TrainerConfiguration/skipNonFinite`` a non-finite step
/// is skipped instead; `nil` factors turn the growth checks off (`--allow-divergence`).
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
    /// Evaluated after every epoch when given: `test_loss`, `test_accuracy`, `test_top5_accuracy`;
    /// reported, never monitored.
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
    /// Data-parallel training with other processes (``DataParallel``): gradients, the loss check,
    /// metrics and evaluation go through it. `nil` (the default) trains in this process alone.
    public var dataParallel: (any DataParallelStrategy)?
    /// Set by ``requestStop(reason:)``: training ends after the current step.
    public private(set) var stopRequest: String?
    /// Where the run stands.
    public internal(set) var progress = TrainingProgress()
    /// Steps skipped because their loss or gradients were not finite.
    public private(set) var skippedSteps = 0
    /// Written into the `__metadata__` of `model.safetensors` and `best.safetensors` (what
    /// ``TrainingSession/metadata`` describes: layers, input shape, normalization, class names).
    public var modelMetadata: [String: String] = [:]

    private let decayable: [Variable<Float>]
    let earlyStopping: EarlyStopping<Float>?
    private var logger: TrainingLogger?
    /// The locks on the checkpoint and log directories, held from ``resume(from:)`` or the start
    /// of ``fit()`` to the end of ``fit()``.
    var locks: [DirectoryLock] = []

    /// A trainer of `model` with `optimizer` on `trainLoader`'s batches.
    /// - Parameters:
    ///   - model: The model; ``fit()`` updates its parameters and buffers in place.
    ///   - optimizer: An optimizer over `model.parameters`.
    ///   - schedule: Stepped after each finished epoch (with the monitored loss if it requires a metric).
    ///   - trainLoader: The training batches.
    ///   - validation: Evaluated each epoch; its loss is the monitored metric when present.
    ///   - test: Evaluated each epoch and reported; never monitored (the training loss is, without
    ///     a validation set).
    ///   - configuration: Everything else; ``TrainerConfiguration/steps`` or
    ///     ``TrainerConfiguration/epochs`` must be at least 1.
    ///   - runIdentity: Canonical JSON of what must not change across a resume; ``resume(from:)``
    ///     rejects a checkpoint written with another one.
    /// - Throws: ``/NablaTensor/NablaError`` (`.invalidArgument`) for an epoch or step budget below 1,
    ///   an invalid early-stopping patience, accumulation or divergence factor.
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
        for factor in [configuration.divergenceFactor, configuration.epochDivergenceFactor].compactMap({ $0 }) where !(factor > 1 && factor.isFinite) {
            throw NablaError(.invalidArgument, "divergence factor \(factor) must be a finite number above 1")
        }
        if configuration.accumulationSteps < 1 {
            throw NablaError(.invalidArgument, "--accumulate \(configuration.accumulationSteps): must be at least 1")
        }
    }

    // MARK: Evaluation

    /// Loss and accuracy of the model in evaluation mode on `dataset`, without recording gradients.
    /// Runs in ``TrainerConfiguration/precision``, like ``fit()``.
    public func evaluate(_ dataset: Dataset) -> MetricAccumulator {
        withPrecision(configuration.precision) { evaluateInPrecision(dataset) }
    }

    private func evaluateInPrecision(_ dataset: Dataset) -> MetricAccumulator {
        if let dataParallel {
            return dataParallel.evaluate(model, on: dataset, loss: configuration.loss, batchSize: configuration.evaluationBatchSize)
        }
        return NablaTraining.evaluate(model, on: dataset, loss: configuration.loss, batchSize: configuration.evaluationBatchSize)
    }

    // MARK: Training

    /// Ends training after the current step: ``fit()`` finishes the step, writes the checkpoint (when
    /// a directory is configured), and returns with `reason` as its stop reason. Callable from a
    /// callback or a signal handler's polling code (not thread-safe: call it on the training thread).
    public func requestStop(reason: String) {
        if stopRequest == nil { stopRequest = reason }
    }

    /// Trains until the epoch or step budget is spent, early stopping triggers, or training diverges.
    /// - Throws: ``/NablaTensor/NablaError`` (`.nonFinite`) naming the step when training diverges (unless
    ///   skipping), `.invalidArgument` before any step when a batch-normalization layer would get a
    ///   single value per channel (``checkBatchNormalizationBatches()``), `.io` when a directory is locked by another run or a checkpoint or log cannot be
    ///   written (the previous checkpoint then stays intact).
    /// Every forward and backward pass runs in ``TrainerConfiguration/precision`` (``withPrecision(_:_:)``).
    public func fit() throws -> TrainingResult {
        try withPrecision(configuration.precision) { try fitInPrecision() }
    }

    private func fitInPrecision() throws -> TrainingResult {
        let start = Date()
        try checkBatchNormalizationBatches()
        try lockDirectories()
        defer { releaseLocks() }
        if let directory = configuration.logDirectory, logger == nil {
            logger = try TrainingLogger(directory: directory, progress: progress)
        }
        defer {
            logger?.close()
            logger = nil
        }
        var reports: [EpochReport] = []
        var stopReason: String?
        var restoredBestEpoch: Int?
        if progress.earlyStopped == true {
            stopReason = "early stopping already ended this run after epoch \(progress.epoch); nothing left to train"
        }
        for callback in callbacks { try callback.trainingWillBegin(self) }
        let names = Dictionary(uniqueKeysWithValues: model.namedParameters().map { (ObjectIdentifier($0.variable), $0.name) })
        let parameters = model.parameters
        let accumulation = configuration.accumulationSteps

        while stopReason == nil && !budgetSpent {
            let epoch = progress.epoch
            let epochStart = Date()
            model.train()
            var metrics = progress.epochMetrics ?? MetricAccumulator()
            let batches = trainLoader.epoch(epoch, startingAtBatch: progress.stepInEpoch)
            let total = configuration.steps.map { min(batches.count, ($0 - progress.globalStep) * accumulation) } ?? batches.count
            var label = configuration.steps == nil ? "epoch \(epoch + 1)/\(configuration.epochs)" : "epoch \(epoch + 1)"
            if let replicas = dataParallel?.replicaCount, replicas > 1 { label += " (\(replicas) ranks)" }
            let reporter = ProgressReporter(label: label, total: total, quiet: configuration.quiet)
            var done = 0
            // Gradient accumulation: batches [k·N, (k+1)·N) of the epoch make one optimizer step.
            // Checkpoints fall between groups (after a step, or on a stop at a group's start).
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
                let lossValue = dataParallel?.globalLoss(loss.value.scalar, of: batch) ?? loss.value.scalar
                // Replicas use the global batch's loss, so every rank takes the same decisions.
                let dataLossValue = configuration.penalty == .none ? Double(lossValue)
                    : Double(dataParallel?.globalLoss(dataLoss.value.scalar, of: batch) ?? dataLoss.value.scalar)
                // The group's gradient is Σ (n_b / n_group)·∇L_b over its batches (n_b: the global batch's samples).
                let share = accumulation == 1 ? 1 : Double(trainLoader.globalSampleCount(ofBatch: batch.index)) / Double(groupSampleCount(containing: batch.index))
                if dataLossValue.isFinite && progress.firstLoss == nil { progress.firstLoss = dataLossValue }
                var problem = lossValue.isFinite ? divergence(of: dataLossValue) : Problem.nonFinite("the loss is \(lossValue)")
                if problem == nil {
                    let weighted = accumulation == 1 ? loss : loss * Float(share)
                    if let dataParallel {
                        // Replicas reduce once per optimizer step, the group's local sum (DDP's no_sync).
                        if endsGroup { dataParallel.backward(weighted, of: batch) } else { dataParallel.accumulate(weighted, of: batch) }
                    } else {
                        weighted.backward()
                    }
                }
                // Replicas check only reduced gradients (identical everywhere, so all decide alike).
                if problem == nil && (dataParallel == nil || endsGroup) {
                    if let bad = parameters.first(where: { !($0.grad?.isFinite ?? true) }) {
                        problem = .nonFinite("the gradient of '\(names[ObjectIdentifier(bad)] ?? "?")' is not finite")
                    }
                }
                KillPoint.reach("step")
                if let problem {
                    guard configuration.skipNonFinite, case .nonFinite = problem else {
                        throw diverged(problem, at: "epoch \(epoch + 1), step \(progress.stepInEpoch + 1) (global step \(progress.globalStep + 1))")
                    }
                    optimizer.zeroGrad()
                    skippedSteps += 1
                    skippingGroup = true
                    progress.stepInEpoch += 1
                    if endsGroup { progress.globalStep += 1 }
                    progress.epochMetrics = metrics
                    continue
                }
                groupLoss += share * dataLossValue
                guard endsGroup else {
                    metrics.add(loss: dataLossValue, output: output.value, targets: batch.targets)
                    progress.stepInEpoch += 1
                    progress.epochMetrics = metrics
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
                metrics.add(loss: dataLossValue, output: output.value, targets: batch.targets)
                progress.epochMetrics = metrics
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
            // The window between the last step (and its step checkpoint) and the end-of-epoch work.
            KillPoint.reach("epoch-end")
            // Replicas decide on the combined metrics, the same on every rank.
            if let dataParallel { metrics = dataParallel.combine(metrics) }
            if let problem = divergence(ofEpochMean: metrics.loss) { throw diverged(problem, at: "epoch \(epoch + 1)") }

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
            // Never the test set: it is reported, not selected on.
            let monitored = report.validationLoss ?? report.trainLoss
            // An epoch a step budget ended inside stays open, so a resumed run with a larger budget
            // continues it; its history entry is replaced when it ends.
            if progress.history.count > epoch { progress.history.removeLast(progress.history.count - epoch) }
            progress.history.append(report.values)
            var improved = false
            if epochFinished {
                if let schedule { schedule.requiresMetric ? schedule.step(metric: monitored) : schedule.step() }
                progress.epoch += 1
                progress.stepInEpoch = 0
                progress.epochMetrics = nil
                if let earlyStopping {
                    improved = earlyStopping.isImprovement(monitored)
                    if earlyStopping.update(metric: monitored, epoch: epoch + 1, module: model) {
                        stopReason = "early stopping after epoch \(epoch + 1): no improvement for \(earlyStopping.patience) epochs; restored the weights of epoch \(earlyStopping.bestEpoch ?? 0)"
                        try earlyStopping.restoreBest(into: model)
                        restoredBestEpoch = earlyStopping.bestEpoch
                        progress.earlyStopped = true
                    }
                }
            }
            for callback in callbacks { try callback.epochDidEnd(self, report: report) }
            try logger?.log(report, model: model, histograms: configuration.logHistograms)
            try saveCheckpoint()
            if improved, stopReason == nil, let url = bestWeightsURL { try model.save(to: url, metadata: modelMetadata) }
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
    /// - Throws: ``/NablaTensor/NablaError`` (`.nonFinite`) when the loss or a gradient is not finite.
    private func recomputeGradients(_ batch: Batch, epoch: Int) throws {
        optimizer.zeroGrad()
        let output = model(Variable(batch.inputs))
        let dataLoss = configuration.loss(output, batch.targets)
        let loss = configuration.penalty == .none ? dataLoss : dataLoss + configuration.penalty(decayable)
        let value = dataParallel?.globalLoss(loss.value.scalar, of: batch) ?? loss.value.scalar
        let parameters = model.parameters
        let location = "epoch \(epoch + 1), step \(progress.stepInEpoch + 1) (global step \(progress.globalStep + 1))"
        guard value.isFinite else { throw diverged(.nonFinite("the loss at the perturbed weights is \(value)"), at: location) }
        // Replicas average this pass's gradients as they did the first's: the same step as one process.
        if let dataParallel { dataParallel.backward(loss, of: batch) } else { loss.backward() }
        if parameters.contains(where: { !($0.grad?.isFinite ?? true) }) {
            throw diverged(.nonFinite("a gradient at the perturbed weights is not finite"), at: location)
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

    // MARK: Divergence

    /// Why a step cannot be taken.
    enum Problem {
        /// A non-finite loss or gradient.
        case nonFinite(String)
        /// A loss far above the first step's.
        case growth(String)
    }

    /// A ``Problem/growth`` when a step's data loss exceeds ``TrainerConfiguration/divergenceFactor``
    /// × max(1, ``TrainingProgress/firstLoss``).
    func divergence(of loss: Double) -> Problem? {
        guard let factor = configuration.divergenceFactor, let first = progress.firstLoss else { return nil }
        guard loss > factor * max(1, first) else { return nil }
        return .growth(String(format: "the loss %.4g is above %g × max(1, the first step's loss %.4g)", loss, factor, first))
    }

    /// A ``Problem/growth`` when an epoch's mean training loss exceeds
    /// ``TrainerConfiguration/epochDivergenceFactor`` × max(1, ``TrainingProgress/firstLoss``).
    func divergence(ofEpochMean loss: Double) -> Problem? {
        guard let factor = configuration.epochDivergenceFactor, let first = progress.firstLoss, loss > factor * max(1, first) else { return nil }
        return .growth(String(format: "its mean training loss %.4g is above %g × max(1, the first step's loss %.4g)", loss, factor, first))
    }

    /// The error that stops a diverged run: where, the problem, advice, the checkpoint kept.
    func diverged(_ problem: Problem, at location: String) -> NablaError {
        let kept = checkpointURL.map { "; the last good checkpoint is \($0.path)" } ?? ""
        let (what, way) = switch problem {
        case .nonFinite(let what): (what, "or skip such steps with --skip-nonfinite")
        case .growth(let what): (what, "or keep training with --allow-divergence")
        }
        return NablaError(.nonFinite, "training diverged at \(location): \(what); lower the learning rate (--lr) or clip gradients (--clip-norm 1), \(way)\(kept)")
    }
}
