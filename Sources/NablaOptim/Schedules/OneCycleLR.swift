import Foundation
import NablaTensor

/// The one-cycle policy: the learning rate rises from `max_lr/div_factor` to `max_lr` and anneals
/// to `initial_lr/final_div_factor`, while the momentum (or Adam's β₁) moves the opposite way
/// between `max_momentum` and `base_momentum` — PyTorch's `OneCycleLR`, stepped after every
/// optimizer step for `totalSteps` steps.
///
/// Two phases, each annealed from its start to its end value as `pct` goes from 0 to 1:
///
///     phase 1, steps 0 … pct_start·T − 1:   lr initial → max,  momentum max → base
///     phase 2, … T − 1:                     lr max → min,      momentum base → max
///     cos:    end + (start − end)/2·(cos(π·pct) + 1);    linear: (end − start)·pct + start
///
/// with `pct = (step − phase start)/(phase end − phase start)` and the phase ends as floats (37
/// steps with pct_start 0.3 end phase 1 at step 10.1, so the peak is never hit exactly).
/// `threePhase` uses initial → max, max → initial, initial → min (momentum max → base → max → max).
/// Like PyTorch, `T` steps are accepted (the last one extrapolates the cosine past `min_lr`) and
/// a step after that is a precondition failure. Construction sets each group's `initial_lr` to
/// `max_lr/div_factor` (overwriting an earlier schedule's) and, when cycling, the momentum to
/// `max_momentum`. Defaults: `percentStart` 0.3, cosine, `divisionFactor` 25,
/// `finalDivisionFactor` 1e4, momentum 0.85–0.95.
///
/// Reference: Smith, Topin, "Super-Convergence: Very Fast Training of Neural Networks Using Large
/// Learning Rates" (2019); Smith, "A disciplined approach to neural network hyper-parameters" (2018).
public final class OneCycleLR: EpochSchedule {
    /// How a phase moves from its start to its end value.
    public enum Annealing: String, Sendable {
        case cosine = "cos", linear
    }

    /// `total_steps`, T.
    public let totalSteps: Int
    /// Each group's `max_lr`.
    public let maximumLearningRates: [Double]
    /// Each group's `initial_lr` (`max_lr/div_factor`).
    public let startLearningRates: [Double]
    /// Each group's `min_lr` (`initial_lr/final_div_factor`).
    public let minimumLearningRates: [Double]
    /// `anneal_strategy`.
    public let annealing: Annealing
    /// `base_momentum` and `max_momentum` per group, when the momentum is cycled.
    public let momentumRange: (base: [Double], maximum: [Double])?
    /// `_schedule_phases`: each phase's last step and its start and end points.
    private let phases: [(end: Double, lr: (Int, Int), momentum: (Int, Int))]
    private let cycling: MomentumCycling?

    /// One-cycle over `totalSteps` optimizer steps peaking at `maximumLearningRates` (one value, or
    /// one per group).
    /// - Throws: ``NablaError`` with PyTorch's messages for `totalSteps < 1`, `percentStart` outside
    ///   `[0, 1]`, a list of the wrong length, or cycling an optimizer without momentum or betas;
    ///   momenta outside `[0, 1)`.
    public init(_ optimizer: any Optimizer, maximumLearningRates: [Double], totalSteps: Int, percentStart: Double = 0.3,
                annealing: Annealing = .cosine, cycleMomentum: Bool = true, baseMomentum: Double = 0.85,
                maximumMomentum: Double = 0.95, divisionFactor: Double = 25, finalDivisionFactor: Double = 1e4,
                threePhase: Bool = false) throws {
        guard totalSteps > 0 else { throw NablaError(.invalidArgument, "Expected positive integer total_steps, but got \(totalSteps)") }
        guard percentStart >= 0 && percentStart <= 1 else {
            throw NablaError(.invalidArgument, "Expected float between 0 and 1 pct_start, but got \(percentStart)")
        }
        let groups = optimizer.learningRates.count
        let maximum = try perGroup(maximumLearningRates, "max_lr", groups: groups)
        guard maximum.allSatisfy({ $0 >= 0 && $0.isFinite }), divisionFactor > 0, finalDivisionFactor > 0 else {
            throw NablaError(.invalidArgument, "OneCycleLR needs non-negative max_lr and positive division factors, got max_lr \(maximum), div_factor \(divisionFactor), final_div_factor \(finalDivisionFactor)")
        }
        let t = Double(totalSteps)
        // Points: 0 initial, 1 max, 2 min for the learning rate; 0 max, 1 base for the momentum.
        phases = threePhase
            ? [(percentStart * t - 1, (0, 1), (0, 1)), (2 * percentStart * t - 2, (1, 0), (1, 0)), (t - 1, (0, 2), (0, 0))]
            : [(percentStart * t - 1, (0, 1), (0, 1)), (t - 1, (1, 2), (1, 0))]
        self.totalSteps = totalSteps
        self.annealing = annealing
        self.maximumLearningRates = maximum
        startLearningRates = maximum.map { $0 / divisionFactor }
        minimumLearningRates = startLearningRates.map { $0 / finalDivisionFactor }
        if cycleMomentum {
            guard let cycling = MomentumCycling(optimizer) else { throw MomentumCycling.unsupported() }
            for value in [baseMomentum, maximumMomentum] where !(value >= 0 && value < 1) {
                throw NablaError(.invalidArgument, "OneCycleLR momentum must be in [0, 1), got \(value)")
            }
            self.cycling = cycling
            momentumRange = (Array(repeating: baseMomentum, count: groups), Array(repeating: maximumMomentum, count: groups))
            cycling.set(momentumRange!.maximum, on: optimizer)
        } else {
            cycling = nil
            momentumRange = nil
        }
        optimizer.initialLearningRates = startLearningRates
        super.init(optimizer)
    }

    /// PyTorch's `get_lr` (not recursive), which also sets the momentum.
    public override func nextLearningRates() -> [Double] {
        precondition(lastEpoch <= totalSteps, "Tried to step \(lastEpoch) times. The specified number of total steps is \(totalSteps)")
        let step = Double(lastEpoch)
        var start = 0.0
        var chosen = phases[phases.count - 1], chosenStart = 0.0
        for (i, phase) in phases.enumerated() {
            if step <= phase.end || i == phases.count - 1 {
                chosen = phase
                chosenStart = start
                break
            }
            start = phase.end
        }
        let pct = (step - chosenStart) / (chosen.end - chosenStart)
        let points = [startLearningRates, maximumLearningRates, minimumLearningRates]
        let rates = optimizer.learningRates.indices.map { g in anneal(points[chosen.lr.0][g], points[chosen.lr.1][g], pct) }
        if let cycling, let range = momentumRange {
            let momentumPoints = [range.maximum, range.base]
            cycling.set(rates.indices.map { g in anneal(momentumPoints[chosen.momentum.0][g], momentumPoints[chosen.momentum.1][g], pct) },
                        on: optimizer)
        }
        return rates
    }

    /// The same as ``nextLearningRates()``: one-cycle has no recursive form.
    public override func closedFormLearningRates() -> [Double] { nextLearningRates() }

    private func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        switch annealing {
        case .cosine: return end + (start - end) / 2.0 * (cos(Double.pi * pct) + 1)
        case .linear: return (end - start) * pct + start
        }
    }
}
