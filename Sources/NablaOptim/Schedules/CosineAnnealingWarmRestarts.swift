import Foundation
import NablaTensor

/// Cosine annealing from each group's base learning rate to `eta_min` over `T_i` epochs, restarting
/// at the base rate with periods `T_0, T_0·T_mult, T_0·T_mult², …` — SGDR, PyTorch's
/// `CosineAnnealingWarmRestarts` (stepped without an explicit epoch):
///
///     T_cur ← T_cur + 1;  if T_cur ≥ T_i: T_cur ← T_cur − T_i, T_i ← T_i·T_mult
///     lr = η_min + (base_lr − η_min)·(1 + cos(π·T_cur/T_i))/2
///
/// The restart is the step on which `T_cur` returns to 0 (lr = base_lr); no step reports `η_min`
/// exactly. With `T_0` 5 and `T_mult` 2 the restarts fall at epochs 0, 5, 15, 35. State:
/// `T_i` and `T_cur` beside the common entries.
///
/// Reference: Loshchilov, Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts" (ICLR 2017).
public final class CosineAnnealingWarmRestarts: EpochSchedule {
    /// `T_0`: the length of the first period.
    public let firstPeriod: Int
    /// `T_mult`: the factor each period grows by.
    public let periodMultiplier: Int
    /// `eta_min`.
    public let minimumLearningRate: Double
    /// `T_i`: the length of the current period.
    public private(set) var period: Int
    /// `T_cur`: epochs since the last restart.
    public private(set) var epochsSinceRestart = 0

    /// - Throws: ``NablaError`` with PyTorch's messages unless `T_0 ≥ 1` and `T_mult ≥ 1`; for a
    ///   negative or non-finite `eta_min`.
    public init(_ optimizer: any Optimizer, firstPeriod: Int, periodMultiplier: Int = 1, minimumLearningRate: Double = 0) throws {
        guard firstPeriod > 0 else { throw NablaError(.invalidArgument, "Expected positive integer T_0, but got \(firstPeriod)") }
        guard periodMultiplier >= 1 else { throw NablaError(.invalidArgument, "Expected integer T_mult >= 1, but got \(periodMultiplier)") }
        guard minimumLearningRate >= 0 && minimumLearningRate.isFinite else {
            throw NablaError(.invalidArgument, "CosineAnnealingWarmRestarts eta_min must be non-negative, got \(minimumLearningRate)")
        }
        self.firstPeriod = firstPeriod
        self.periodMultiplier = periodMultiplier
        self.minimumLearningRate = minimumLearningRate
        period = firstPeriod
        super.init(optimizer)
    }

    /// PyTorch's `step()` without an epoch: the first call (at construction) starts at epoch 0.
    public override func step() {
        if lastEpoch < 0 {
            stepCount = 1
            lastEpoch = 0
            period = firstPeriod
            epochsSinceRestart = 0
        } else {
            lastEpoch += 1
            epochsSinceRestart += 1
            if epochsSinceRestart >= period {
                epochsSinceRestart %= period
                period *= periodMultiplier
            }
        }
        let rates = nextLearningRates()
        optimizer.learningRates = rates
        lastLearningRates = rates
    }

    /// The learning rates at the current `T_cur` and `T_i`.
    public override func nextLearningRates() -> [Double] {
        let etaMin = minimumLearningRate
        let phase = 1 + cos(Double.pi * Double(epochsSinceRestart) / Double(period))
        return baseLearningRates.map { etaMin + ($0 - etaMin) * phase / 2 }
    }

    /// PyTorch's `step(epoch)` for the integer epoch ``lastEpoch``.
    public override func closedFormLearningRates() -> [Double] {
        let epoch = lastEpoch
        if epoch < firstPeriod {
            (period, epochsSinceRestart) = (firstPeriod, epoch)
        } else if periodMultiplier == 1 {
            (period, epochsSinceRestart) = (firstPeriod, epoch % firstPeriod)
        } else {
            let m = periodMultiplier, mult = Double(m)
            let n = Int(log(Double(epoch) / Double(firstPeriod) * (mult - 1) + 1) / log(mult))
            var power = 1
            for _ in 0..<n { power *= m }
            (period, epochsSinceRestart) = (firstPeriod * power, epoch - firstPeriod * (power - 1) / (m - 1))
        }
        return nextLearningRates()
    }

    /// The common entries plus `T_i` and `T_cur`.
    public override func stateDict() -> [String: Tensor<Double>] {
        var dict = super.stateDict()
        dict["T_i"] = Tensor(Double(period))
        dict["T_cur"] = Tensor(Double(epochsSinceRestart))
        return dict
    }

    public override func loadStateDict(_ dict: [String: Tensor<Double>]) throws {
        let reader = ScheduleStateReader(dict: dict, prefix: "", owner: "CosineAnnealingWarmRestarts")
        let period = try reader.integer("T_i"), current = try reader.integer("T_cur")
        guard period >= 1, current >= 0, current < period else {
            throw NablaError(.invalidArgument, "CosineAnnealingWarmRestarts state has T_cur \(current) outside [0, T_i = \(period))")
        }
        var rest = dict
        rest["T_i"] = nil
        rest["T_cur"] = nil
        try super.loadStateDict(rest)
        (self.period, epochsSinceRestart) = (period, current)
    }
}
