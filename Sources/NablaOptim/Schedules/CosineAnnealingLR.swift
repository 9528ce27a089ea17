import Foundation
import NablaTensor

/// Cosine annealing from each group's base learning rate down to `minimumLearningRate` over
/// `maximumSteps` epochs — PyTorch's `CosineAnnealingLR` (SGDR without restarts):
///
///     lr(epoch) = η_min + (base_lr − η_min) · (1 + cos(π · epoch / T_max)) / 2
///
/// Like PyTorch, each ``EpochSchedule/step()`` applies the *recursive* form, which equals the closed form above
/// when nothing else changes the learning rate and composes with other schedules when something does:
///
///     lr ← η_min + (lr − η_min) · (1 + cos(π·e/T_max)) / (1 + cos(π·(e−1)/T_max))
///     lr ← lr + (base_lr − η_min) · (1 − cos(π/T_max)) / 2      when (e − 1 − T_max) mod 2T_max = 0
///
/// The second line handles the epochs where the cosine restarts from its minimum, so past `T_max`
/// the rate climbs back up and the schedule is periodic with period `2·T_max`, exactly as PyTorch's.
///
/// Reference: Loshchilov, Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts" (ICLR 2017).
public final class CosineAnnealingLR: EpochSchedule {
    /// `T_max`: the number of epochs from the base rate to the minimum.
    public let maximumSteps: Int
    /// `eta_min`: the learning rate reached at epoch `T_max`.
    public let minimumLearningRate: Double

    /// - Throws: ``/NablaTensor/NablaError`` when `maximumSteps < 1` or `minimumLearningRate` is negative.
    public init(_ optimizer: any Optimizer, maximumSteps: Int, minimumLearningRate: Double = 0) throws {
        guard maximumSteps >= 1 else {
            throw NablaError(.invalidArgument, "CosineAnnealingLR maximum steps (T_max) must be at least 1, got \(maximumSteps)")
        }
        guard minimumLearningRate >= 0 && minimumLearningRate.isFinite else {
            throw NablaError(.invalidArgument, "CosineAnnealingLR minimum learning rate (eta_min) must be non-negative, got \(minimumLearningRate)")
        }
        self.maximumSteps = maximumSteps
        self.minimumLearningRate = minimumLearningRate
        super.init(optimizer)
    }

    /// PyTorch's recursive `get_lr`, as described above.
    public override func nextLearningRates() -> [Double] {
        let tMax = Double(maximumSteps), etaMin = minimumLearningRate, epoch = Double(lastEpoch)
        if isInitial { return currentLearningRates }
        if stepCount == 1 && lastEpoch > 0 {
            return baseLearningRates.map { etaMin + ($0 - etaMin) * (1 + cos(epoch * Double.pi / tMax)) / 2 }
        }
        if pythonModulo(lastEpoch - 1 - maximumSteps, 2 * maximumSteps) == 0 {
            return zip(currentLearningRates, baseLearningRates).map { lr, base in
                lr + (base - etaMin) * (1 - cos(Double.pi / tMax)) / 2
            }
        }
        return currentLearningRates.map { lr in
            (1 + cos(Double.pi * epoch / tMax)) / (1 + cos(Double.pi * (epoch - 1) / tMax)) * (lr - etaMin) + etaMin
        }
    }

    /// PyTorch's `_get_closed_form_lr`, as described above.
    public override func closedFormLearningRates() -> [Double] {
        let tMax = Double(maximumSteps), etaMin = minimumLearningRate
        return baseLearningRates.map { etaMin + ($0 - etaMin) * (1 + cos(Double.pi * Double(lastEpoch) / tMax)) / 2 }
    }
}
