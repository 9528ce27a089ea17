import Foundation
import NablaTensor

/// What a run is, for checking a checkpoint's progress against it before resuming.
struct RunGeometry {
    /// Batches in one epoch (the loader's batch count).
    var batchesPerEpoch: Int
    /// Samples per batch (bounds the metric counts of a partial epoch).
    var batchSize: Int
    /// The epoch budget, when the run has no step budget.
    var epochs: Int?
    /// The step budget.
    var steps: Int?
    /// Batches per optimizer step (`--accumulate`).
    var accumulationSteps = 1

    /// Optimizer steps taken after `batches` batches of an epoch: one per group of
    /// ``accumulationSteps`` batches begun (the epoch's last group may be short).
    func steps(afterBatches batches: Int) -> Int { (batches + accumulationSteps - 1) / accumulationSteps }
}

extension TrainingProgress {
    /// Checks every field for range and consistency with `run` and with each other, before any of it
    /// is used: a hostile or corrupted checkpoint gets one line naming the field instead of a trap, a
    /// loop over a negative count, or a segfault in the data loader.
    ///
    /// - `epoch` ≥ 0 and, under an epoch budget, at most `--epochs`;
    /// - `stepInEpoch` in `0...batchesPerEpoch` (equal: the epoch's steps are done, its end-of-epoch
    ///   work is not);
    /// - `globalStep` = `epoch × steps per epoch + steps of stepInEpoch batches` (one per batch, or
    ///   per group of `--accumulate` batches), at most `--steps` under a step budget;
    /// - `history`: one entry per completed epoch (plus the current one after a step budget ended
    ///   inside it), entry `i` for epoch `i + 1`, steps increasing up to `globalStep`;
    /// - early stopping's `bestEpoch` among the history's epochs, `epochsWithoutImprovement` at most
    ///   the history's length, `bestMetric` present exactly with `bestEpoch`;
    /// - `epochMetrics` counts at most the samples of `stepInEpoch` batches, hits at most the count;
    /// - `firstLoss` finite.
    /// - Throws: ``/NablaTensor/NablaError`` (`.invalidFile`) `"<source>: checkpoint progress: <field> …"`.
    func validate(against run: RunGeometry, source: String) throws {
        func fail(_ why: String) -> NablaError { NablaError(.invalidFile, "\(source): checkpoint progress: \(why)") }
        let batches = run.batchesPerEpoch
        guard epoch >= 0 else { throw fail("epoch \(epoch) is negative") }
        guard stepInEpoch >= 0, stepInEpoch <= batches else {
            throw fail("stepInEpoch \(stepInEpoch) is outside 0...\(batches) (the batches per epoch)")
        }
        guard globalStep >= 0 else { throw fail("globalStep \(globalStep) is negative") }
        guard run.accumulationSteps >= 1 else { throw fail("accumulation of \(run.accumulationSteps) batches") }
        let perEpoch = run.steps(afterBatches: batches), partial = run.steps(afterBatches: stepInEpoch)
        let (done, overflow) = epoch.multipliedReportingOverflow(by: perEpoch)
        guard !overflow, !done.addingReportingOverflow(partial).overflow, done + partial == globalStep else {
            let per = run.accumulationSteps == 1 ? "\(batches) batches" : "\(perEpoch) steps of \(run.accumulationSteps) batches"
            throw fail("globalStep \(globalStep) does not match epoch \(epoch) × \(per) + stepInEpoch \(stepInEpoch)")
        }
        if let steps = run.steps {
            guard globalStep <= steps else {
                throw fail("the run has taken \(globalStep) steps, beyond --steps \(steps); resume with at least --steps \(globalStep)")
            }
        } else if let epochs = run.epochs {
            guard epoch < epochs || (epoch == epochs && stepInEpoch == 0) else {
                throw fail("the run is at epoch \(epoch + (stepInEpoch > 0 ? 1 : 0)), beyond --epochs \(epochs); resume with at least --epochs \(epoch + (stepInEpoch > 0 ? 1 : 0))")
            }
        }
        try validateHistory(fail: fail)
        if let bestEpoch {
            guard bestEpoch >= 1, bestEpoch <= history.count else {
                throw fail("bestEpoch \(bestEpoch) is outside the \(history.count) epoch(s) of the history")
            }
            guard let bestMetric, !bestMetric.isNaN else { throw fail("bestEpoch \(bestEpoch) has no bestMetric") }
        } else if bestMetric != nil {
            throw fail("bestMetric is set without a bestEpoch")
        }
        guard epochsWithoutImprovement >= 0, epochsWithoutImprovement <= history.count else {
            throw fail("epochsWithoutImprovement \(epochsWithoutImprovement) is outside 0...\(history.count) (the epochs of the history)")
        }
        if let metrics = epochMetrics {
            let (samples, tooMany) = stepInEpoch.multipliedReportingOverflow(by: run.batchSize)
            guard metrics.count >= 0, tooMany || metrics.count <= samples else {
                throw fail("epochMetrics.count \(metrics.count) is outside 0...\(samples) (the samples of \(stepInEpoch) batches)")
            }
            guard metrics.correct >= 0, metrics.correct <= metrics.count, metrics.correctTop5 >= metrics.correct,
                  metrics.correctTop5 <= metrics.count else {
                throw fail("epochMetrics counts \(metrics.correct) top-1 and \(metrics.correctTop5) top-5 hits of \(metrics.count) samples")
            }
        }
        if let firstLoss, !firstLoss.isFinite { throw fail("firstLoss \(firstLoss) is not finite") }
    }

    /// One history entry per completed epoch, plus possibly the current one; numbered 1, 2, …;
    /// steps increasing and at most ``globalStep``.
    private func validateHistory(fail: (String) -> NablaError) throws {
        let partial = stepInEpoch > 0 && history.count == epoch + 1
        guard history.count == epoch || partial else {
            throw fail("history has \(history.count) entries for \(epoch) completed epoch(s)")
        }
        var previousStep = -1.0
        for (index, entry) in history.enumerated() {
            guard let number = entry["epoch"], number == Double(index + 1) else {
                throw fail("history entry \(index) is for epoch \(entry["epoch"].map { "\($0)" } ?? "(none)"), expected \(index + 1)")
            }
            guard let step = entry["step"], step == step.rounded(), step > previousStep, step <= Double(globalStep) else {
                throw fail("history entry \(index) has step \(entry["step"].map { "\($0)" } ?? "(none)"), expected \(Int(previousStep) + 1)...\(globalStep)")
            }
            guard entry["train_loss"] != nil else { throw fail("history entry \(index) has no train_loss") }
            previousStep = step
        }
    }
}
