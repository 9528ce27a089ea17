import Foundation
import NablaTensor

/// A learning-rate schedule that adjusts an ``Optimizer``'s per-group learning rates, with
/// PyTorch's `torch.optim.lr_scheduler` stepping semantics: constructing a schedule sets the
/// learning rates of epoch 0, and each ``step()`` — called after the optimizer's `step()`, once per
/// epoch (or per iteration, as the caller chooses) — advances to the next epoch.
///
/// ```swift
/// let optimizer = try SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
/// let schedule = try CosineAnnealingLR(optimizer, maximumSteps: epochs)
/// for _ in 0..<epochs {
///     trainOneEpoch(model, optimizer)
///     schedule.step()
/// }
/// ```
///
/// ``ReduceLROnPlateau`` is driven by a metric instead: ``requiresMetric`` is `true` and it must be
/// stepped with ``step(metric:)``.
public protocol LearningRateSchedule: AnyObject {
    /// The learning rate of each parameter group after the last step (PyTorch's `get_last_lr()`).
    var lastLearningRates: [Double] { get }

    /// The index of the current epoch (PyTorch's `last_epoch`): 0 after construction.
    var lastEpoch: Int { get }

    /// Whether the schedule must be stepped with ``step(metric:)``.
    var requiresMetric: Bool { get }

    /// Advances one epoch and sets the optimizer's learning rates.
    func step()

    /// Advances one epoch given the epoch's metric; schedules that need none ignore it.
    func step(metric: Double)

    /// The schedule's progress (counters, base and last learning rates) as tensors under PyTorch's
    /// attribute names (`last_epoch`, `_step_count`, `base_lrs`, `_last_lr`, …). Hyper-parameters
    /// are not included: a resumed run constructs the schedule with the same configuration.
    func stateDict() -> [String: Tensor<Double>]

    /// Restores progress saved by ``stateDict()`` and sets the optimizer's learning rates to the
    /// restored ``lastLearningRates`` (so resuming does not depend on whether the optimizer's state
    /// was loaded before or after the schedule was constructed).
    /// - Throws: ``/NablaTensor/NablaError`` for a missing, unexpected or malformed entry; nothing changes then.
    func loadStateDict(_ dict: [String: Tensor<Double>]) throws
}

extension LearningRateSchedule {
    /// `false`: the schedule steps without a metric.
    public var requiresMetric: Bool { false }
    /// Calls ``step()``, ignoring `metric`.
    public func step(metric: Double) { step() }
}

/// The base of the epoch-driven schedules (PyTorch's `LRScheduler`): it records each group's base
/// learning rate, performs the initial step at construction, and on every ``step()`` asks the
/// subclass for the next learning rates.
///
/// Subclasses implement PyTorch's two formulas: ``nextLearningRates()`` (`get_lr`, usually
/// recursive — the new rate is computed from the optimizer's current one, which is what PyTorch
/// does and what makes chained schedules compose) and ``closedFormLearningRates()``
/// (`_get_closed_form_lr`, used by ``SequentialLR`` when it switches to a schedule). A subclass
/// outside Nabla works like the built-ins (checkpoints, `A+B` specs) once its kind is registered
/// with the ``ScheduleRegistry``.
open class EpochSchedule: LearningRateSchedule {
    /// The optimizer whose learning rates this schedule sets.
    public let optimizer: any Optimizer
    /// Each group's learning rate at epoch 0: its `initial_lr`, which the first schedule attached to
    /// the optimizer records (PyTorch's `group.setdefault("initial_lr", lr)`).
    public internal(set) var baseLearningRates: [Double]
    /// The epoch of the current learning rates (`last_epoch`): 0 after construction, +1 per ``step()``.
    public internal(set) var lastEpoch: Int
    /// The learning rates ``step()`` last set, one per group (`_last_lr`).
    public internal(set) var lastLearningRates: [Double]
    /// The number of ``step()`` calls including the one made at construction (`_step_count`).
    public internal(set) var stepCount = 0
    /// True during the step made at construction (`_is_initial`).
    public internal(set) var isInitial = false

    /// Attaches to `optimizer`: records each group's `initial_lr` if no schedule has, and makes the
    /// step of epoch 0 (so a subclass sets every stored property it reads before calling this).
    public init(_ optimizer: any Optimizer) {
        self.optimizer = optimizer
        var initial = optimizer.initialLearningRates
        let current = optimizer.learningRates
        for g in initial.indices where initial[g] == nil { initial[g] = current[g] }
        optimizer.initialLearningRates = initial
        baseLearningRates = initial.map { $0! }
        lastEpoch = -1
        lastLearningRates = current
        initialStep()
    }

    /// The learning rates of epoch ``lastEpoch`` from the optimizer's current ones (`get_lr`).
    open func nextLearningRates() -> [Double] { preconditionFailure("\(type(of: self)) does not override nextLearningRates()") }

    /// The learning rates of epoch ``lastEpoch`` from ``baseLearningRates`` alone (`_get_closed_form_lr`).
    open func closedFormLearningRates() -> [Double] { preconditionFailure("\(type(of: self)) does not override closedFormLearningRates()") }

    /// PyTorch's `_initial_step`: resets the step count and makes the step of epoch 0.
    func initialStep() {
        stepCount = 0
        isInitial = true
        step()
        isInitial = false
    }

    /// Advances one epoch: ``lastEpoch`` += 1, then the optimizer's learning rates become ``nextLearningRates()``.
    public func step() {
        stepCount += 1
        updateLearningRates(epoch: nil)
    }

    /// PyTorch's `_update_lr`: advance one epoch with the recursive formula, or jump to `epoch`
    /// with the closed form.
    func updateLearningRates(epoch: Int?) {
        let rates: [Double]
        if let epoch {
            lastEpoch = epoch
            rates = closedFormLearningRates()
        } else {
            lastEpoch += 1
            rates = nextLearningRates()
        }
        optimizer.learningRates = rates
        lastLearningRates = rates
    }

    /// The optimizer's current learning rates (`group["lr"]` for every group).
    public var currentLearningRates: [Double] { optimizer.learningRates }

    /// `last_epoch`, `_step_count`, `base_lrs` and `_last_lr` (one value per group for the last two).
    public func stateDict() -> [String: Tensor<Double>] {
        ["last_epoch": Tensor(Double(lastEpoch)), "_step_count": Tensor(Double(stepCount)),
         "base_lrs": Tensor(baseLearningRates), "_last_lr": Tensor(lastLearningRates)]
    }

    /// Restores ``stateDict()``'s entries and sets the optimizer's learning rates to `_last_lr`.
    /// - Throws: ``/NablaTensor/NablaError`` for a missing, unexpected or malformed entry, or a rate
    ///   count that does not match the optimizer's groups; nothing changes then.
    public func loadStateDict(_ dict: [String: Tensor<Double>]) throws {
        try restore(dict, prefix: "")()
        optimizer.learningRates = lastLearningRates
    }

    /// Validates the entries under `prefix` and returns the closure that applies them.
    func restore(_ dict: [String: Tensor<Double>], prefix: String) throws -> () -> Void {
        let reader = ScheduleStateReader(dict: dict, prefix: prefix, owner: String(describing: type(of: self)))
        let groups = optimizer.learningRates.count
        let epoch = try reader.integer("last_epoch"), count = try reader.integer("_step_count")
        let base = try reader.rates("base_lrs", count: groups), last = try reader.rates("_last_lr", count: groups)
        try reader.requireOnly(["last_epoch", "_step_count", "base_lrs", "_last_lr"])
        return { [self] in
            lastEpoch = epoch
            stepCount = count
            baseLearningRates = base
            lastLearningRates = last
        }
    }
}

/// Reads schedule state entries with one-line errors naming the entry.
struct ScheduleStateReader {
    let dict: [String: Tensor<Double>]
    let prefix: String
    let owner: String

    func value(_ name: String) throws -> Double {
        guard let tensor = dict[prefix + name] else {
            throw NablaError(.missingKey, "\(owner) state dict is missing '\(prefix + name)'")
        }
        guard tensor.count == 1 else {
            throw NablaError(.shapeMismatch, "\(owner) state entry '\(prefix + name)' has shape \(tensor.shape), expected []")
        }
        return tensor.scalars[0]
    }

    func integer(_ name: String) throws -> Int {
        let value = try value(name)
        guard value == value.rounded(), abs(value) < 1e15 else {
            throw NablaError(.invalidArgument, "\(owner) state entry '\(prefix + name)' must be a whole number, got \(value)")
        }
        return Int(value)
    }

    func rates(_ name: String, count: Int) throws -> [Double] {
        guard let tensor = dict[prefix + name] else {
            throw NablaError(.missingKey, "\(owner) state dict is missing '\(prefix + name)'")
        }
        guard tensor.shape == [count] else {
            throw NablaError(.shapeMismatch, "\(owner) state entry '\(prefix + name)' has shape \(tensor.shape), the optimizer has \(count) parameter group(s)")
        }
        guard tensor.scalars.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw NablaError(.invalidArgument, "\(owner) state entry '\(prefix + name)' holds an invalid learning rate: \(tensor.scalars)")
        }
        return tensor.scalars
    }

    /// Throws for any entry under `prefix` that is not in `names` (nested prefixes excepted).
    func requireOnly(_ names: Set<String>, nested: String? = nil) throws {
        for key in dict.keys.sorted() where key.hasPrefix(prefix) {
            let name = String(key.dropFirst(prefix.count))
            if names.contains(name) || (nested.map { name.hasPrefix($0) } ?? false) { continue }
            throw NablaError(.unexpectedKey, "\(owner) state dict has unexpected entry '\(key)'")
        }
    }
}

/// Python's `bisect.bisect_right`: the number of elements of the sorted `values` that are `≤ x`.
func bisectRight(_ values: [Int], _ x: Int) -> Int {
    var low = 0, high = values.count
    while low < high {
        let mid = (low + high) / 2
        if x < values[mid] { high = mid } else { low = mid + 1 }
    }
    return low
}

/// Python's `%` for integers: the result has the sign of the divisor.
func pythonModulo(_ a: Int, _ n: Int) -> Int { ((a % n) + n) % n }

/// Python's `float ** int` (`pow` of two doubles).
func power(_ base: Double, _ exponent: Int) -> Double { Foundation.pow(base, Double(exponent)) }
