import NablaTensor

/// Linear warm-up (or decay): scales each group's base learning rate by a factor that moves
/// linearly from `startFactor` to `endFactor` over `totalSteps` epochs, then stays — PyTorch's `LinearLR`:
///
///     lr(epoch) = base_lr · (s + (e − s) · min(epoch, N) / N)
///
/// with `s = startFactor`, `e = endFactor`, `N = totalSteps`. Each ``EpochSchedule/step()`` applies PyTorch's
/// recursive form, `lr ← lr · (1 + (e − s) / (N·s + (epoch − 1)·(e − s)))` for `0 < epoch ≤ N`,
/// which composes with other schedules acting on the same optimizer.
///
/// Reference: Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour" (2017),
/// gradual warm-up.
public final class LinearLR: EpochSchedule {
    /// `s`, the factor of epoch 0 (PyTorch's `start_factor`, in `(0, 1]`).
    public let startFactor: Double
    /// `e`, the factor from epoch `totalSteps` on (PyTorch's `end_factor`, in `[0, 1]`).
    public let endFactor: Double
    /// `total_iters`: the number of epochs the factor takes to reach `endFactor`.
    public let totalSteps: Int

    /// - Throws: ``/NablaTensor/NablaError`` unless `0 < startFactor ≤ 1`, `0 ≤ endFactor ≤ 1` and `totalSteps ≥ 1`.
    public init(_ optimizer: any Optimizer, startFactor: Double = 1.0 / 3, endFactor: Double = 1, totalSteps: Int = 5) throws {
        guard startFactor > 0 && startFactor <= 1 else {
            throw NablaError(.invalidArgument, "LinearLR start factor expected to be greater than 0 and less or equal to 1, got \(startFactor)")
        }
        guard endFactor >= 0 && endFactor <= 1 else {
            throw NablaError(.invalidArgument, "LinearLR end factor expected to be between 0 and 1, got \(endFactor)")
        }
        guard totalSteps >= 1 else {
            throw NablaError(.invalidArgument, "LinearLR total steps must be at least 1, got \(totalSteps)")
        }
        self.startFactor = startFactor
        self.endFactor = endFactor
        self.totalSteps = totalSteps
        super.init(optimizer)
    }

    /// PyTorch's recursive `get_lr`, as described above.
    public override func nextLearningRates() -> [Double] {
        if lastEpoch == 0 { return currentLearningRates.map { $0 * startFactor } }
        if isInitial || lastEpoch > totalSteps { return currentLearningRates }
        let change = endFactor - startFactor
        let factor = 1.0 + change / (Double(totalSteps) * startFactor + Double(lastEpoch - 1) * change)
        return currentLearningRates.map { $0 * factor }
    }

    /// PyTorch's `_get_closed_form_lr`, as described above.
    public override func closedFormLearningRates() -> [Double] {
        let progress = (endFactor - startFactor) * Double(min(totalSteps, lastEpoch)) / Double(totalSteps)
        return baseLearningRates.map { $0 * (startFactor + progress) }
    }
}
