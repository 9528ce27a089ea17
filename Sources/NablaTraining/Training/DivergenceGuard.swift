import Foundation
import NablaTensor

/// Stops a run whose training loss grows far above where it started, with advice, instead of letting
/// it drift on at chance accuracy: a finite loss that explodes (too high a learning rate, no
/// clipping) is caught here; a non-finite one already stops ``Trainer/fit()`` before the step.
///
/// The reference is the mean data loss of the first ``warmupSteps`` optimizer steps (by default the
/// first step's: the untrained model's loss). Every step updates a bias-corrected exponential moving
/// average of the loss,
///
///     m_t = β·m_{t−1} + (1 − β)·loss_t,   smoothed_t = m_t / (1 − β^t),
///
/// (β = ``smoothing``; the smoothing of Smith 2017's range test, which `nabla lr-find` runs with β = 0.98) and training stops with
/// ``NablaError/Kind/nonFinite`` once `smoothed_t > factor · reference`. The factor 4 is the range
/// test's divergence threshold (fastai's `lr_find`, Smith 2017); a loss that legitimately rises
/// four-fold above its untrained value does not occur in ordinary training. A reference ≤ 0 (a loss
/// that starts at its minimum) disables the check. Its state is checkpointed
/// (`callback.divergence.*`), so a resumed run checks exactly as an uninterrupted one.
/// `TrainingPlan.allowDivergence` (`nabla train --allow-divergence`) leaves it out.
public final class DivergenceGuard: TrainingCallback {
    /// `"divergence"`: the checkpoint key prefix.
    public let name = "divergence"
    /// How far above its starting value the smoothed loss may grow (4).
    public let factor: Double
    /// The steps whose mean loss is the starting value (1).
    public let warmupSteps: Int
    /// β of the exponential moving average of the loss (0.9).
    public let smoothing: Double
    /// Steps seen so far.
    public private(set) var steps = 0
    /// The sum of the first ``warmupSteps`` losses (then fixed).
    public private(set) var warmupSum = 0.0
    /// The un-corrected moving average `m_t`.
    public private(set) var average = 0.0

    /// A guard that stops training once the smoothed loss exceeds `factor` times the mean of the
    /// first `warmupSteps` losses.
    /// - Precondition: `factor > 1`, `warmupSteps ≥ 1`, `0 ≤ smoothing < 1`.
    public init(factor: Double = 4, warmupSteps: Int = 1, smoothing: Double = 0.9) {
        precondition(factor > 1 && warmupSteps >= 1 && smoothing >= 0 && smoothing < 1, "DivergenceGuard: invalid settings")
        self.factor = factor
        self.warmupSteps = warmupSteps
        self.smoothing = smoothing
    }

    /// The starting value once ``warmupSteps`` steps are seen: the mean of their losses.
    public var reference: Double? { steps >= warmupSteps ? warmupSum / Double(warmupSteps) : nil }

    /// The bias-corrected moving average of the loss, `nil` before the first step.
    public var smoothedLoss: Double? { steps == 0 ? nil : average / (1 - pow(smoothing, Double(steps))) }

    /// Updates the average with `loss` and throws when it exceeds ``factor`` times ``reference``.
    /// - Throws: ``/NablaTensor/NablaError`` (`.nonFinite`) naming the step, the two losses and what to try.
    public func stepDidEnd(_ trainer: Trainer, loss: Double) throws {
        steps += 1
        if steps <= warmupSteps { warmupSum += loss }
        average = smoothing * average + (1 - smoothing) * loss
        guard let reference, reference > 0, let smoothed = smoothedLoss, smoothed > factor * reference else { return }
        let progress = trainer.progress
        throw NablaError(.nonFinite, "training diverged at epoch \(progress.epoch + 1), step \(progress.stepInEpoch) (global step \(progress.globalStep)): "
            + "the smoothed training loss \(Self.format(smoothed)) is over \(Self.format(factor))× its starting value \(Self.format(reference)); "
            + "lower the learning rate (--lr) or clip the gradients (--clip-norm), or pass --allow-divergence to continue")
    }

    /// `steps`, `warmup_sum` and `average`.
    public func checkpointState() -> [String: Tensor<Double>] {
        ["steps": Tensor(Double(steps)), "warmup_sum": Tensor(warmupSum), "average": Tensor(average)]
    }

    /// Restores ``checkpointState()``; a checkpoint written without this guard starts it afresh.
    /// - Throws: ``/NablaTensor/NablaError`` for a malformed entry.
    public func restore(checkpointState: [String: Tensor<Double>]) throws {
        guard !checkpointState.isEmpty else { return }
        guard let steps = checkpointState["steps"], let sum = checkpointState["warmup_sum"], let average = checkpointState["average"],
              steps.count == 1, sum.count == 1, average.count == 1, steps.scalar >= 0, steps.scalar == steps.scalar.rounded() else {
            throw NablaError(.invalidFile, "checkpoint: callback.divergence needs scalar steps, warmup_sum and average")
        }
        self.steps = Int(steps.scalar)
        self.warmupSum = sum.scalar
        self.average = average.scalar
    }

    static func format(_ x: Double) -> String {
        abs(x) >= 1e4 ? String(format: "%.3g", x) : String(format: "%.4g", x)
    }
}
