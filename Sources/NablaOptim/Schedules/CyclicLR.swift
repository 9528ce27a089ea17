import Foundation
import NablaTensor

/// A learning rate that cycles between `base_lr` and `max_lr` with a triangular wave, the momentum
/// (or Adam's β₁) moving the opposite way between `max_momentum` and `base_momentum` — PyTorch's
/// `CyclicLR`, stepped after every optimizer step.
///
/// With `e` the step, `up` and `down` the half-cycle lengths and `S = up + down`:
///
///     cycle ← ⌊1 + e/S⌋;   x ← 1 + e/S − cycle
///     f ← x/(up/S)  if x ≤ up/S,  else (x − 1)/(up/S − 1)
///     lr ← base_lr + ((max_lr − base_lr)·f)·scale
///     momentum ← max_momentum − ((max_momentum − base_momentum)·f)·scale
///
/// `scale` is 1 (`triangular`), `1/2^(cycle−1)` (`triangular2`) or `γ^e` (`exp_range`).
/// Construction sets every group's learning rate to `base_lr` and, when cycling, its momentum to
/// `max_momentum` (an SGD without momentum then gets one, as in PyTorch). Defaults: `stepSizeUp`
/// 2000, `stepSizeDown` = up, triangular, momentum 0.8–0.9.
///
/// Reference: Smith, "Cyclical Learning Rates for Training Neural Networks" (WACV 2017).
public final class CyclicLR: EpochSchedule {
    /// The shape of the amplitude over cycles.
    public enum Mode: String, Sendable {
        case triangular, triangular2, exponentialRange = "exp_range"
    }

    /// Each group's `base_lr`.
    public let lowerLearningRates: [Double]
    /// Each group's `max_lr`.
    public let upperLearningRates: [Double]
    /// `total_size` = up + down.
    public let totalSize: Double
    /// `step_ratio` = up / total_size.
    public let stepRatio: Double
    /// `mode`.
    public let mode: Mode
    /// `gamma` of `exp_range`.
    public let gamma: Double
    /// `base_momentum` and `max_momentum` per group, when the momentum is cycled.
    public let momentumRange: (base: [Double], maximum: [Double])?
    private let cycling: MomentumCycling?

    /// A cycle of `stepSizeUp` steps up and `stepSizeDown` (default: up) steps down.
    /// - Throws: ``NablaError`` for non-positive step sizes, lists of the wrong length, or cycling an
    ///   optimizer without momentum or betas (PyTorch's messages); momenta outside `[0, 1)`.
    public init(_ optimizer: any Optimizer, baseLearningRates: [Double], maximumLearningRates: [Double],
                stepSizeUp: Int = 2000, stepSizeDown: Int? = nil, mode: Mode = .triangular, gamma: Double = 1,
                cycleMomentum: Bool = true, baseMomentum: Double = 0.8, maximumMomentum: Double = 0.9) throws {
        let groups = optimizer.learningRates.count
        let lower = try perGroup(baseLearningRates, "base_lr", groups: groups)
        let upper = try perGroup(maximumLearningRates, "max_lr", groups: groups)
        guard (lower + upper).allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw NablaError(.invalidArgument, "CyclicLR learning rates must be non-negative, got base_lr \(lower), max_lr \(upper)")
        }
        let down = stepSizeDown ?? stepSizeUp
        guard stepSizeUp > 0 && down > 0 else {
            throw NablaError(.invalidArgument, "CyclicLR step sizes must be positive, got up \(stepSizeUp), down \(down)")
        }
        lowerLearningRates = lower
        upperLearningRates = upper
        totalSize = Double(stepSizeUp) + Double(down)
        stepRatio = Double(stepSizeUp) / totalSize
        self.mode = mode
        self.gamma = gamma
        if cycleMomentum {
            guard let cycling = MomentumCycling(optimizer) else { throw MomentumCycling.unsupported() }
            for value in [baseMomentum, maximumMomentum] where !(value >= 0 && value < 1) {
                throw NablaError(.invalidArgument, "CyclicLR momentum must be in [0, 1), got \(value)")
            }
            self.cycling = cycling
            momentumRange = (Array(repeating: baseMomentum, count: groups), Array(repeating: maximumMomentum, count: groups))
            cycling.set(momentumRange!.maximum, on: optimizer)
        } else {
            cycling = nil
            momentumRange = nil
        }
        optimizer.learningRates = lower
        super.init(optimizer)
        self.baseLearningRates = lower
    }

    /// PyTorch's `get_lr` (not recursive), which also sets the momentum.
    public override func nextLearningRates() -> [Double] {
        let e = Double(lastEpoch)
        let cycle = (1 + e / totalSize).rounded(.down)
        let x = 1.0 + e / totalSize - cycle
        let factor = x <= stepRatio ? x / stepRatio : (x - 1) / (stepRatio - 1)
        let scale: Double
        switch mode {
        case .triangular: scale = 1
        case .triangular2: scale = 1 / Foundation.pow(2.0, cycle - 1)
        case .exponentialRange: scale = Foundation.pow(gamma, e)
        }
        if let cycling, let range = momentumRange {
            cycling.set(zip(range.base, range.maximum).map { base, maximum in maximum - (maximum - base) * factor * scale }, on: optimizer)
        }
        return zip(lowerLearningRates, upperLearningRates).map { base, maximum in base + (maximum - base) * factor * scale }
    }

    /// The same as ``nextLearningRates()``: the cycle has no recursive form.
    public override func closedFormLearningRates() -> [Double] { nextLearningRates() }
}
