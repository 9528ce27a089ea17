import NablaTensor

/// Multiplies each group's learning rate by `gamma` every `stepSize` epochs — PyTorch's `StepLR`:
///
///     lr(epoch) = base_lr · gamma^⌊epoch / stepSize⌋
///
/// computed recursively as PyTorch does (`lr ← lr·gamma` when `epoch > 0` and `epoch % stepSize == 0`).
public final class StepLR: EpochSchedule {
    /// The period in epochs (PyTorch's `step_size`, ≥ 1).
    public let stepSize: Int
    /// The multiplier applied every ``stepSize`` epochs (default 0.1).
    public let gamma: Double

    /// - Throws: ``/NablaTensor/NablaError`` when `stepSize < 1` or `gamma` is negative or not finite.
    public init(_ optimizer: any Optimizer, stepSize: Int, gamma: Double = 0.1) throws {
        guard stepSize >= 1 else { throw NablaError(.invalidArgument, "StepLR step size must be at least 1, got \(stepSize)") }
        try checkGamma(gamma, "StepLR")
        self.stepSize = stepSize
        self.gamma = gamma
        super.init(optimizer)
    }

    /// PyTorch's recursive `get_lr`, as described above.
    public override func nextLearningRates() -> [Double] {
        if lastEpoch == 0 || pythonModulo(lastEpoch, stepSize) != 0 { return currentLearningRates }
        return currentLearningRates.map { $0 * gamma }
    }

    /// PyTorch's `_get_closed_form_lr`, as described above.
    public override func closedFormLearningRates() -> [Double] {
        baseLearningRates.map { $0 * power(gamma, (lastEpoch - pythonModulo(lastEpoch, stepSize)) / stepSize) }
    }
}

/// Multiplies each group's learning rate by `gamma` at each milestone epoch — PyTorch's `MultiStepLR`:
///
///     lr(epoch) = base_lr · gamma^(number of milestones ≤ epoch)
///
/// A milestone listed twice multiplies by `gamma²` (PyTorch counts milestones with a `Counter`).
public final class MultiStepLR: EpochSchedule {
    /// The milestones, sorted, repeats kept.
    public let milestones: [Int]
    /// The multiplier applied at each milestone (default 0.1).
    public let gamma: Double

    /// - Throws: ``/NablaTensor/NablaError`` for a negative milestone or a negative or non-finite `gamma`.
    public init(_ optimizer: any Optimizer, milestones: [Int], gamma: Double = 0.1) throws {
        if let bad = milestones.first(where: { $0 < 0 }) {
            throw NablaError(.invalidArgument, "MultiStepLR milestones must be non-negative, got \(bad)")
        }
        try checkGamma(gamma, "MultiStepLR")
        self.milestones = milestones.sorted()
        self.gamma = gamma
        super.init(optimizer)
    }

    /// PyTorch's recursive `get_lr`, as described above.
    public override func nextLearningRates() -> [Double] {
        let hits = milestones.filter { $0 == lastEpoch }.count
        if hits == 0 { return currentLearningRates }
        return currentLearningRates.map { $0 * power(gamma, hits) }
    }

    /// PyTorch's `_get_closed_form_lr`, as described above.
    public override func closedFormLearningRates() -> [Double] {
        baseLearningRates.map { $0 * power(gamma, bisectRight(milestones, lastEpoch)) }
    }
}

/// Multiplies each group's learning rate by `gamma` every epoch — PyTorch's `ExponentialLR`:
///
///     lr(epoch) = base_lr · gamma^epoch
///
/// computed recursively (`lr ← lr·gamma`), as PyTorch does.
public final class ExponentialLR: EpochSchedule {
    /// The multiplier applied every epoch.
    public let gamma: Double

    /// - Throws: ``/NablaTensor/NablaError`` when `gamma` is negative or not finite.
    public init(_ optimizer: any Optimizer, gamma: Double) throws {
        try checkGamma(gamma, "ExponentialLR")
        self.gamma = gamma
        super.init(optimizer)
    }

    /// PyTorch's recursive `get_lr`, as described above.
    public override func nextLearningRates() -> [Double] {
        isInitial ? currentLearningRates : currentLearningRates.map { $0 * gamma }
    }

    /// PyTorch's `_get_closed_form_lr`, as described above.
    public override func closedFormLearningRates() -> [Double] {
        baseLearningRates.map { $0 * power(gamma, lastEpoch) }
    }
}

/// Throws unless `gamma` is a finite, non-negative factor.
func checkGamma(_ gamma: Double, _ schedule: String) throws {
    guard gamma >= 0 && gamma.isFinite else {
        throw NablaError(.invalidArgument, "\(schedule) gamma must be a non-negative number, got \(gamma)")
    }
}
