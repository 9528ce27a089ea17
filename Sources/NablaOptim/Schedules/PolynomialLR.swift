import Foundation
import NablaTensor

/// Polynomial decay of each group's learning rate to zero over `total_iters` epochs — PyTorch's
/// `PolynomialLR`. Each ``step()`` applies the recursive form, as PyTorch does (so the rounding
/// accumulates exactly as PyTorch's):
///
///     lr ← lr · ((1 − e/T) / (1 − (e − 1)/T))^power          for 1 ≤ e ≤ T
///
/// which equals `base_lr·(1 − min(e, T)/T)^power`; at `e = T` the rate is 0 and stays 0. PyTorch
/// validates nothing: `T = 0` keeps the rate constant and a negative power is accepted. Defaults:
/// `totalIterations` 5, `power` 1.
public final class PolynomialLR: EpochSchedule {
    /// `total_iters`, T.
    public let totalIterations: Int
    /// `power`.
    public let power: Double

    /// - Throws: ``NablaError`` for a negative `totalIterations` or a non-finite `power`.
    public init(_ optimizer: any Optimizer, totalIterations: Int = 5, power: Double = 1) throws {
        guard totalIterations >= 0 && power.isFinite else {
            throw NablaError(.invalidArgument, "PolynomialLR needs total_iters ≥ 0 and a finite power, got \(totalIterations) and \(power)")
        }
        self.totalIterations = totalIterations
        self.power = power
        super.init(optimizer)
    }

    /// PyTorch's recursive `get_lr`, as described above.
    public override func nextLearningRates() -> [Double] {
        if isInitial || lastEpoch > totalIterations { return currentLearningRates }
        let t = Double(totalIterations), e = Double(lastEpoch)
        let factor = Foundation.pow((1.0 - e / t) / (1.0 - (e - 1) / t), power)
        return currentLearningRates.map { $0 * factor }
    }

    /// PyTorch's `_get_closed_form_lr`: `base_lr·(1 − min(e, T)/T)^power`.
    public override func closedFormLearningRates() -> [Double] {
        let t = Double(totalIterations), e = Double(min(totalIterations, lastEpoch))
        return baseLearningRates.map { $0 * Foundation.pow(1.0 - e / t, power) }
    }
}
