import Foundation
import NablaTensor

/// Anneals every group's learning rate to a fixed SWA learning rate over `annealingEpochs` epochs and
/// keeps it there — PyTorch's `torch.optim.swa_utils.SWALR`, the schedule of stochastic weight
/// averaging's averaging phase (Izmailov et al., 2018).
///
/// PyTorch's rule (`get_lr`), which this follows operation for operation: with
/// `s = _step_count − 1` (so 0 at construction; `s = max(1, s)` when `annealingEpochs = 0`) and the
/// annealing function `f` (cosine `(1 − cos(π·t))/2`, or linear `t`),
///
///     α' = f(clamp((s − 1)/max(1, A), 0, 1)),   α = f(clamp(s/max(1, A), 0, 1))
///     lr₀ = swa_lr if α' = 1, else (lr − α'·swa_lr)/(1 − α')     (the rate before annealing,
///                                                                 rebuilt from the current one)
///     lr ← swa_lr·α + lr₀·(1 − α)
///
/// so the rate reaches `swa_lr` exactly at step `A` and stays; with `A = 0` it is `swa_lr` already
/// at construction. It indexes by the step count, not by ``lastEpoch``, and rebuilds the starting
/// rate from the optimizer's current one each step (so it continues from whatever rate another
/// schedule left).
public final class SWALR: EpochSchedule {
    /// How the rate moves from its starting value to the SWA rate.
    public enum Annealing: String, Sendable, CaseIterable {
        /// `f(t) = (1 − cos(π·t))/2` (PyTorch's `"cos"`, the default).
        case cosine = "cos"
        /// `f(t) = t` (`"linear"`).
        case linear
    }

    /// The SWA learning rate of each parameter group (PyTorch's `group["swa_lr"]`).
    public let swaLearningRates: [Double]
    /// `anneal_epochs`: the steps from the starting rate to the SWA rate.
    public let annealingEpochs: Int
    /// `anneal_strategy`.
    public let annealing: Annealing

    /// - Parameters:
    ///   - optimizer: the optimizer whose learning rates the schedule sets.
    ///   - swaLearningRates: one rate for every group, or one per group.
    ///   - annealingEpochs: PyTorch's default is 10.
    ///   - annealing: PyTorch's default is cosine.
    /// - Throws: ``/NablaTensor/NablaError`` when the rates do not fit the groups, a rate is negative or not
    ///   finite, or `annealingEpochs` is negative (PyTorch's messages).
    public init(_ optimizer: any Optimizer, swaLearningRates: [Double], annealingEpochs: Int = 10,
                annealing: Annealing = .cosine) throws {
        let groups = optimizer.learningRates.count
        try Self.validate(swaLearningRates: swaLearningRates, groupCount: groups, annealingEpochs: annealingEpochs)
        self.swaLearningRates = swaLearningRates.count == 1 ? Array(repeating: swaLearningRates[0], count: groups) : swaLearningRates
        self.annealingEpochs = annealingEpochs
        self.annealing = annealing
        super.init(optimizer)
    }

    /// Checks the arguments of ``init(_:swaLearningRates:annealingEpochs:annealing:)`` for an
    /// optimizer with `groupCount` parameter groups (the same arguments, the same messages).
    /// - Throws: ``/NablaTensor/NablaError`` with PyTorch's messages.
    public static func validate(swaLearningRates: [Double], groupCount: Int, annealingEpochs: Int) throws {
        guard swaLearningRates.count == 1 || swaLearningRates.count == groupCount else {
            throw NablaError(.invalidArgument, "swa_lr must have the same length as optimizer.param_groups. swa_lr has \(swaLearningRates.count) values, param_groups has \(groupCount).")
        }
        guard swaLearningRates.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw NablaError(.invalidArgument, "swa_lr must be finite and non-negative, got \(swaLearningRates)")
        }
        guard annealingEpochs >= 0 else {
            throw NablaError(.invalidArgument, "anneal_epochs must be equal or greater than 0, got \(annealingEpochs)")
        }
    }

    private func anneal(_ t: Double) -> Double {
        switch annealing {
        case .cosine: return (1 - cos(Double.pi * t)) / 2
        case .linear: return t
        }
    }

    /// PyTorch's `get_lr`, as described above.
    public override func nextLearningRates() -> [Double] {
        var step = stepCount - 1
        if annealingEpochs == 0 { step = max(1, step) }
        let span = Double(max(1, annealingEpochs))
        let previousAlpha = anneal(max(0, min(1, Double(step - 1) / span)))
        let starting = zip(currentLearningRates, swaLearningRates).map { lr, swa in
            previousAlpha == 1 ? swa : (lr - previousAlpha * swa) / (1 - previousAlpha)
        }
        let alpha = anneal(max(0, min(1, Double(step) / span)))
        return zip(swaLearningRates, starting).map { swa, lr in swa * alpha + lr * (1 - alpha) }
    }

    /// PyTorch's SWALR has no closed form; `step(epoch)` falls back to `get_lr`, and so does this.
    public override func closedFormLearningRates() -> [Double] { nextLearningRates() }
}
