import NablaTensor

/// Runs epoch schedules one after another, switching at milestone epochs — PyTorch's `SequentialLR`,
/// the usual way to write "linear warm-up, then cosine decay":
///
/// ```swift
/// let warmUp = try LinearLR(optimizer, startFactor: 0.1, totalSteps: 5)
/// let decay = try CosineAnnealingLR(optimizer, maximumSteps: 95)
/// let schedule = try SequentialLR(optimizer, schedules: [warmUp, decay], milestones: [5])
/// ```
///
/// Semantics are PyTorch's: construction restores every group's `initial_lr`, rewinds each child by
/// the step it took at its own construction, and makes the initial step of the child active at
/// epoch 0. At epoch `k`, the active child is the one after the last milestone `≤ k`; on the epoch
/// of a milestone the new child starts at its own epoch 0 through its closed form (so it starts
/// from the base learning rates, not from where the previous child stopped), and otherwise the
/// active child steps normally.
public final class SequentialLR: LearningRateSchedule {
    /// The optimizer all children belong to.
    public let optimizer: any Optimizer
    /// The child schedules, in order.
    public let schedules: [EpochSchedule]
    /// The epochs at which the next child takes over (`schedules.count − 1` increasing values).
    public let milestones: [Int]
    /// The number of ``step()`` calls so far (`last_epoch`).
    public private(set) var lastEpoch: Int
    /// The learning rates after the last step, one per group (`_last_lr`).
    public private(set) var lastLearningRates: [Double]

    /// - Throws: ``/NablaTensor/NablaError`` when `schedules` is empty, a child belongs to another optimizer, or
    ///   `milestones` is not `schedules.count − 1` strictly increasing positive epochs.
    public init(_ optimizer: any Optimizer, schedules: [EpochSchedule], milestones: [Int]) throws {
        guard !schedules.isEmpty else {
            throw NablaError(.invalidArgument, "SequentialLR expects at least one schedule, got none")
        }
        if let index = schedules.firstIndex(where: { $0.optimizer !== optimizer }) {
            throw NablaError(.invalidArgument, "SequentialLR expects all schedules to belong to the same optimizer, but the schedule at index \(index) (\(type(of: schedules[index]))) has another one")
        }
        guard milestones.count == schedules.count - 1 else {
            throw NablaError(.invalidArgument, "SequentialLR expects one milestone fewer than schedules, got \(schedules.count) schedules and \(milestones.count) milestones")
        }
        guard milestones.allSatisfy({ $0 > 0 }), zip(milestones, milestones.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw NablaError(.invalidArgument, "SequentialLR milestones must be strictly increasing positive epochs, got \(milestones)")
        }
        self.optimizer = optimizer
        self.schedules = schedules
        self.milestones = milestones
        lastEpoch = 0
        // Every child recorded initial_lr at construction, so it is set for every group.
        optimizer.learningRates = optimizer.initialLearningRates.map { $0! }
        for schedule in schedules { schedule.lastEpoch -= 1 }
        let first = schedules[bisectRight(milestones, 0)]
        first.initialStep()
        lastLearningRates = first.lastLearningRates
    }

    /// Advances one epoch: on a milestone the next child starts at its epoch 0 (closed form), otherwise the active child steps.
    public func step() {
        lastEpoch += 1
        let index = bisectRight(milestones, lastEpoch)
        let schedule = schedules[index]
        if index > 0 && milestones[index - 1] == lastEpoch {
            schedule.updateLearningRates(epoch: 0)
        } else {
            schedule.step()
        }
        lastLearningRates = schedule.lastLearningRates
    }

    /// `last_epoch`, `_last_lr`, and each child's entries under `_schedulers.<i>.`.
    public func stateDict() -> [String: Tensor<Double>] {
        var dict: [String: Tensor<Double>] = ["last_epoch": Tensor(Double(lastEpoch)), "_last_lr": Tensor(lastLearningRates)]
        for (i, schedule) in schedules.enumerated() {
            for (key, value) in schedule.stateDict() { dict["_schedulers.\(i).\(key)"] = value }
        }
        return dict
    }

    /// Restores ``stateDict()``'s entries, its own and every child's; nothing changes unless all are valid.
    /// - Throws: ``/NablaTensor/NablaError`` for a missing, unexpected or malformed entry.
    public func loadStateDict(_ dict: [String: Tensor<Double>]) throws {
        let reader = ScheduleStateReader(dict: dict, prefix: "", owner: "SequentialLR")
        let epoch = try reader.integer("last_epoch")
        let last = try reader.rates("_last_lr", count: optimizer.learningRates.count)
        let known = Set(schedules.indices.map { "_schedulers.\($0)." })
        for key in dict.keys.sorted() where key.hasPrefix("_schedulers.") && !known.contains(where: { key.hasPrefix($0) }) {
            throw NablaError(.unexpectedKey, "SequentialLR state dict has unexpected entry '\(key)' (it has \(schedules.count) schedules)")
        }
        try reader.requireOnly(["last_epoch", "_last_lr"], nested: "_schedulers.")
        let commits = try schedules.enumerated().map { try $1.restore(dict, prefix: "_schedulers.\($0).") }
        for commit in commits { commit() }
        lastEpoch = epoch
        lastLearningRates = last
        optimizer.learningRates = last
    }
}
