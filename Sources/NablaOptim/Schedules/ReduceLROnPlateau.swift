import NablaTensor

/// Lowers the learning rates when a monitored metric stops improving — PyTorch's `ReduceLROnPlateau`.
///
/// Each ``step(metric:)`` (once per epoch, with the validation loss or accuracy):
///
///     better  = metric < best·(1 − threshold)   mode min, relative      (mode max: > best·(1 + threshold))
///               metric < best − threshold       mode min, absolute      (mode max: > best + threshold)
///     if better: best ← metric; badEpochs ← 0  else: badEpochs += 1
///     if cooldownCounter > 0: cooldownCounter −= 1; badEpochs ← 0
///     if badEpochs > patience:
///         for each group: new = max(lr·factor, minLR[g]); if lr − new > eps: lr ← new
///         cooldownCounter ← cooldown; badEpochs ← 0
///
/// `best` starts at +∞ (min) or −∞ (max). Construction does not change the learning rates.
/// Defaults: `mode` min, `factor` 0.1, `patience` 10, `threshold` 1e-4, `thresholdMode` relative,
/// `cooldown` 0, minimum learning rate 0, `eps` 1e-8.
public final class ReduceLROnPlateau: LearningRateSchedule {
    /// Whether the metric should decrease (a loss) or increase (an accuracy).
    public enum Mode: String, Sendable {
        /// The metric should decrease (a loss).
        case min
        /// The metric should increase (an accuracy).
        case max
    }
    /// How `threshold` measures a significant improvement: relative to `best`, or in absolute units.
    public enum ThresholdMode: String, Sendable {
        /// Better means beyond `best·(1 ∓ threshold)` (`rel`).
        case relative = "rel"
        /// Better means beyond `best ∓ threshold` (`abs`).
        case absolute = "abs"
    }

    /// The optimizer whose learning rates this schedule lowers.
    public let optimizer: any Optimizer
    /// Whether the metric should decrease or increase.
    public let mode: Mode
    /// The multiplier of a reduction, in `[0, 1)` (default 0.1).
    public let factor: Double
    /// Epochs without improvement tolerated before a reduction (default 10).
    public let patience: Int
    /// The margin of a significant improvement (default 1e-4), read per ``thresholdMode``.
    public let threshold: Double
    /// Whether ``threshold`` is relative to `best` or absolute.
    public let thresholdMode: ThresholdMode
    /// Epochs after a reduction during which bad epochs are not counted (default 0).
    public let cooldown: Int
    /// The floor of each group's learning rate (`min_lrs`).
    public let minimumLearningRates: [Double]
    /// The smallest change worth applying (`eps`).
    public let epsilon: Double

    /// The best metric so far.
    public private(set) var best: Double
    /// Epochs since the last significant improvement (`num_bad_epochs`).
    public private(set) var badEpochCount = 0
    /// Epochs of cooldown left (`cooldown_counter`).
    public private(set) var cooldownCounter = 0
    /// The number of ``step(metric:)`` calls so far (`last_epoch`).
    public private(set) var lastEpoch = 0
    /// The learning rates after the last step, one per group (`_last_lr`).
    public private(set) var lastLearningRates: [Double]
    /// `true`: the trainer must call ``step(metric:)`` with the monitored metric.
    public var requiresMetric: Bool { true }

    /// A schedule that watches the metric passed to ``step(metric:)``; the learning rates are unchanged until then.
    /// - Parameters:
    ///   - optimizer: the optimizer whose learning rates are lowered.
    ///   - mode: `.min` for a loss, `.max` for an accuracy.
    ///   - factor: the multiplier of a reduction, in `[0, 1)`.
    ///   - patience: epochs without improvement tolerated before a reduction.
    ///   - threshold: the margin of a significant improvement.
    ///   - thresholdMode: whether `threshold` is relative to `best` or absolute.
    ///   - cooldown: epochs after a reduction during which bad epochs are not counted.
    ///   - minimumLearningRate: the floor of every group's learning rate (`min_lr`).
    ///   - minimumLearningRates: one floor per parameter group; overrides `minimumLearningRate`.
    ///   - epsilon: a reduction smaller than this is not applied (`eps`).
    /// - Throws: ``/NablaTensor/NablaError`` when `factor` is not in `[0, 1)`, `patience`, `cooldown`, `threshold`,
    ///   `epsilon` or a minimum learning rate is negative, or the floors do not match the groups.
    public init(
        _ optimizer: any Optimizer, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10,
        threshold: Double = 1e-4, thresholdMode: ThresholdMode = .relative, cooldown: Int = 0,
        minimumLearningRate: Double = 0, minimumLearningRates: [Double]? = nil, epsilon: Double = 1e-8
    ) throws {
        guard factor < 1.0 else { throw NablaError(.invalidArgument, "Factor should be < 1.0, got \(factor)") }
        guard factor >= 0 else { throw NablaError(.invalidArgument, "ReduceLROnPlateau factor must be non-negative, got \(factor)") }
        guard patience >= 0 else { throw NablaError(.invalidArgument, "ReduceLROnPlateau patience must be non-negative, got \(patience)") }
        guard cooldown >= 0 else { throw NablaError(.invalidArgument, "ReduceLROnPlateau cooldown must be non-negative, got \(cooldown)") }
        guard threshold >= 0 && threshold.isFinite else {
            throw NablaError(.invalidArgument, "ReduceLROnPlateau threshold must be non-negative, got \(threshold)")
        }
        guard epsilon >= 0 else { throw NablaError(.invalidArgument, "ReduceLROnPlateau eps must be non-negative, got \(epsilon)") }
        let groups = optimizer.learningRates.count
        let floors = minimumLearningRates ?? Array(repeating: minimumLearningRate, count: groups)
        guard floors.count == groups else {
            throw NablaError(.invalidArgument, "expected \(groups) min_lrs, got \(floors.count)")
        }
        if let bad = floors.first(where: { !($0 >= 0 && $0.isFinite) }) {
            throw NablaError(.invalidArgument, "ReduceLROnPlateau minimum learning rate must be non-negative, got \(bad)")
        }
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.minimumLearningRates = floors
        self.epsilon = epsilon
        best = mode == .min ? .infinity : -.infinity
        lastLearningRates = optimizer.learningRates
    }

    /// Whether `metric` is a significant improvement over `best`.
    func isBetter(_ metric: Double) -> Bool {
        switch (mode, thresholdMode) {
        case (.min, .relative): return metric < best * (1.0 - threshold)
        case (.min, .absolute): return metric < best - threshold
        case (.max, .relative): return metric > best * (threshold + 1.0)
        case (.max, .absolute): return metric > best + threshold
        }
    }

    /// Records one epoch's `metric` and reduces the learning rates when it has not improved for more
    /// than ``patience`` epochs (see the type's pseudo-code).
    public func step(metric: Double) {
        lastEpoch += 1
        if isBetter(metric) {
            best = metric
            badEpochCount = 0
        } else {
            badEpochCount += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            badEpochCount = 0
        }
        if badEpochCount > patience {
            optimizer.learningRates = zip(optimizer.learningRates, minimumLearningRates).map { old, floor in
                let new = Swift.max(old * factor, floor)
                return old - new > epsilon ? new : old
            }
            cooldownCounter = cooldown
            badEpochCount = 0
        }
        lastLearningRates = optimizer.learningRates
    }

    /// ReduceLROnPlateau needs the epoch's metric: call ``step(metric:)``.
    public func step() {
        preconditionFailure("ReduceLROnPlateau.step() needs the monitored metric: call step(metric:)")
    }

    /// `best`, `num_bad_epochs`, `cooldown_counter`, `last_epoch`, `_last_lr`.
    public func stateDict() -> [String: Tensor<Double>] {
        ["best": Tensor(best), "num_bad_epochs": Tensor(Double(badEpochCount)),
         "cooldown_counter": Tensor(Double(cooldownCounter)), "last_epoch": Tensor(Double(lastEpoch)),
         "_last_lr": Tensor(lastLearningRates)]
    }

    /// Restores ``stateDict()``'s entries and sets the optimizer's learning rates to `_last_lr`.
    /// - Throws: ``/NablaTensor/NablaError`` for a missing, unexpected or malformed entry; nothing changes then.
    public func loadStateDict(_ dict: [String: Tensor<Double>]) throws {
        let reader = ScheduleStateReader(dict: dict, prefix: "", owner: "ReduceLROnPlateau")
        let best = try reader.value("best")
        let bad = try reader.integer("num_bad_epochs"), counter = try reader.integer("cooldown_counter")
        let epoch = try reader.integer("last_epoch")
        let last = try reader.rates("_last_lr", count: optimizer.learningRates.count)
        try reader.requireOnly(["best", "num_bad_epochs", "cooldown_counter", "last_epoch", "_last_lr"])
        self.best = best
        badEpochCount = bad
        cooldownCounter = counter
        lastEpoch = epoch
        lastLearningRates = last
        optimizer.learningRates = last
    }
}
