import Foundation
import NablaTensor
import NablaNN
import NablaOptim
import NablaData

/// The toolbox settings of a plan — class weights, mixup/CutMix, weight averaging, gradient
/// accumulation, keep-best checkpoints — checked and turned into the pieces ``TrainingPlan/prepare(loaded:)``
/// builds.
extension TrainingPlan {
    /// Checks the toolbox settings on their own and against the rest of the plan (what needs no data).
    /// - Throws: ``/NablaTensor/NablaError`` naming the flag and the bad value.
    func validateToolbox() throws {
        func fail(_ message: String) -> NablaError { NablaError(.invalidArgument, message) }
        for (flag, alpha) in [("mixup", mixupAlpha), ("cutmix", cutMixAlpha)] {
            guard let alpha else { continue }
            try BatchMixing.validate(alpha: alpha, flag: flag)
            guard try lossFunction().acceptsProbabilities else {
                throw fail("--\(flag) makes soft targets, which --loss \(loss) cannot train on (use cross-entropy or bce)")
            }
        }
        if let emaDecay, !(emaDecay >= 0 && emaDecay <= 1) { throw fail("--ema \(emaDecay): the decay must lie in [0, 1]") }
        if let spec = try swaSpecification() {
            if emaDecay != nil { throw fail("--ema and --swa are exclusive: both would be the final weights") }
            if steps == nil && spec.startEpoch > epochs {
                throw fail("--swa \(swa!): averaging would start after the last epoch (--epochs \(epochs))")
            }
        }
        guard accumulationSteps >= 1 else { throw fail("--accumulate \(accumulationSteps) must be at least 1") }
        if let keepTopK, keepTopK < 1 { throw fail("--keep-top-k \(keepTopK) must be at least 1") }
        if keepTopK != nil && keepBest == nil { throw fail("--keep-top-k needs --keep-best METRIC (the metric to rank epochs by)") }
        if let keepBest {
            _ = try BestCheckpointCallback.Metric(parsing: keepBest)
            if data.validationFraction == 0 { throw fail("--keep-best \(keepBest) needs a validation split (--val-split): weights are never selected on the test set") }
            if output.checkpointDirectory == nil { throw fail("--keep-best needs --checkpoint-dir (where the kept weights go)") }
        }
    }

    /// ``swa`` parsed, or `nil` without stochastic weight averaging.
    public func swaSpecification() throws -> StochasticWeightAveragingSpecification? {
        try swa.map { try StochasticWeightAveragingSpecification(parsing: $0) }
    }

    /// The batch mixing of ``mixupAlpha`` and ``cutMixAlpha`` for training data of `sampleShape`.
    /// - Throws: ``/NablaTensor/NablaError`` when the data has no class labels or CutMix gets non-image samples.
    func batchMixing(for train: Dataset) throws -> BatchMixing? {
        guard mixupAlpha != nil || cutMixAlpha != nil else { return nil }
        let flag = mixupAlpha != nil ? "--mixup" : "--cutmix"
        guard case .classes = train.targets else { throw NablaError(.invalidArgument, "\(flag) needs class labels, but the data has real-valued targets") }
        if cutMixAlpha != nil && train.sampleShape.count != 3 {
            throw NablaError(.shapeMismatch, "--cutmix needs images [C, H, W], the data has samples of shape \(train.sampleShape)")
        }
        return BatchMixing(mixupAlpha: mixupAlpha, cutMixAlpha: cutMixAlpha)
    }

    /// The run's schedule, wrapped in the SWA phase when ``swa`` sets an SWA learning rate.
    func averagingSchedule(_ schedule: (any LearningRateSchedule)?, optimizer: any Optimizer) throws -> (any LearningRateSchedule)? {
        guard let spec = try swaSpecification(), let rate = spec.learningRate else { return schedule }
        return try AveragingPhaseSchedule(optimizer, regular: schedule, startEpoch: spec.startEpoch, swaLearningRates: [rate],
                                          annealingEpochs: spec.annealingEpochs, annealing: spec.annealing)
    }

    /// The callbacks the plan asks for: weight averaging (``emaDecay``, ``swa``) and keep-best.
    func toolboxCallbacks(model: Module<Float>) throws -> [any TrainingCallback] {
        var callbacks: [any TrainingCallback] = []
        if let emaDecay { callbacks.append(try WeightAveragingCallback(method: .exponential(decay: emaDecay), model: model)) }
        if let spec = try swaSpecification() {
            callbacks.append(try WeightAveragingCallback(method: .stochastic(startEpoch: spec.startEpoch), model: model))
        }
        if let keepBest, let directory = output.checkpointDirectory {
            callbacks.append(try BestCheckpointCallback(metric: try .init(parsing: keepBest), count: keepTopK ?? 1,
                                                        directory: URL(fileURLWithPath: directory)))
        }
        return callbacks
    }
}

extension TrainingSession {
    /// The weight-averaging callback of a plan with `--ema` or `--swa`.
    public var weightAveraging: WeightAveragingCallback? {
        trainer.callbacks.lazy.compactMap { $0 as? WeightAveragingCallback }.first
    }
}
