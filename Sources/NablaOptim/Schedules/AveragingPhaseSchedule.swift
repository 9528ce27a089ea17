import NablaTensor

/// The learning-rate schedule of a stochastic-weight-averaging run: the run's own schedule (or a
/// constant rate) until the averaging phase, then ``SWALR`` — the loop of PyTorch's SWA recipe
/// (`torch.optim.swa_utils.AveragedModel`'s example) as one schedule a trainer steps after every epoch:
///
///     for epoch in 1...E:
///         train one epoch
///         if epoch >= start: swa_model.update_parameters(model); swa_scheduler.step()
///         else:              scheduler.step()
///
/// The ``SWALR`` is constructed once the regular phase is over — after the regular schedule's
/// `start − 1`-th step (at construction when `start = 1`) — so its construction-time step (which
/// with `annealingEpochs = 0` already sets the SWA rate) happens when the averaging phase begins,
/// not at the start of training; its first ``step()`` comes at the end of epoch `start`, and the
/// regular schedule is never stepped again. Checkpoints hold both children's state.
public final class AveragingPhaseSchedule: LearningRateSchedule {
    /// The optimizer whose learning rates the schedule sets.
    public let optimizer: any Optimizer
    /// The schedule of the first `start − 1` epochs (`nil`: the optimizer's rate stays constant).
    public let regular: (any LearningRateSchedule)?
    /// The first epoch (1-based) whose end steps ``SWALR`` instead of the regular schedule.
    public let startEpoch: Int
    /// `swa_lr` of the ``SWALR``: one rate for all groups, or one per group.
    public let swaLearningRates: [Double]
    /// `anneal_epochs` of the ``SWALR``.
    public let annealingEpochs: Int
    /// `anneal_strategy` of the ``SWALR``.
    public let annealing: SWALR.Annealing
    /// The SWA schedule, once the averaging phase has begun.
    public private(set) var averagingSchedule: SWALR?
    /// The number of ``step()`` calls (epochs ended).
    public private(set) var lastEpoch = 0
    /// The learning rate of each parameter group after the last step.
    public private(set) var lastLearningRates: [Double]

    /// The regular schedule until epoch `startEpoch`, then a ``SWALR`` with these arguments.
    /// - Throws: ``/NablaTensor/NablaError`` for `startEpoch < 1` or invalid ``SWALR`` arguments.
    public init(_ optimizer: any Optimizer, regular: (any LearningRateSchedule)?, startEpoch: Int, swaLearningRates: [Double],
                annealingEpochs: Int = 10, annealing: SWALR.Annealing = .cosine) throws {
        guard startEpoch >= 1 else { throw NablaError(.invalidArgument, "the averaging phase must start at epoch 1 or later, got \(startEpoch)") }
        try SWALR.validate(swaLearningRates: swaLearningRates, groupCount: optimizer.learningRates.count, annealingEpochs: annealingEpochs)
        self.optimizer = optimizer
        self.regular = regular
        self.startEpoch = startEpoch
        self.swaLearningRates = swaLearningRates
        self.annealingEpochs = annealingEpochs
        self.annealing = annealing
        lastLearningRates = optimizer.learningRates
        if startEpoch == 1 { averagingSchedule = try makeAveragingSchedule() }
        lastLearningRates = optimizer.learningRates
    }

    private func makeAveragingSchedule() throws -> SWALR {
        try SWALR(optimizer, swaLearningRates: swaLearningRates, annealingEpochs: annealingEpochs, annealing: annealing)
    }

    /// The regular schedule's: a ``ReduceLROnPlateau`` needs the epoch's metric in its phase.
    public var requiresMetric: Bool { regular?.requiresMetric ?? false }

    /// Ends an epoch: steps the regular schedule (constructing the ``SWALR`` after the regular
    /// phase's last epoch) or, in the averaging phase, the ``SWALR``.
    public func step() { advance(metric: nil) }

    /// ``step()`` with the epoch's metric, which a metric-driven regular schedule reads.
    public func step(metric: Double) { advance(metric: metric) }

    private func advance(metric: Double?) {
        lastEpoch += 1
        if let averagingSchedule {
            averagingSchedule.step()
        } else {
            if let regular { if let metric { regular.step(metric: metric) } else { regular.step() } }
            if lastEpoch == startEpoch - 1 {
                do { averagingSchedule = try makeAveragingSchedule() } catch {
                    preconditionFailure("AveragingPhaseSchedule: SWALR arguments validated at construction failed: \(error)")
                }
            }
        }
        lastLearningRates = optimizer.learningRates
    }

    /// `last_epoch`, `_last_lr`, the regular schedule's entries under `regular.` and, in the
    /// averaging phase, the ``SWALR``'s under `swa.`.
    public func stateDict() -> [String: Tensor<Double>] {
        var dict: [String: Tensor<Double>] = ["last_epoch": Tensor(Double(lastEpoch)), "_last_lr": Tensor(lastLearningRates)]
        for (key, value) in regular?.stateDict() ?? [:] { dict["regular." + key] = value }
        for (key, value) in averagingSchedule?.stateDict() ?? [:] { dict["swa." + key] = value }
        return dict
    }

    /// Restores what ``stateDict()`` returned — constructing the ``SWALR`` when the saved run was in
    /// its averaging phase — and sets the optimizer's learning rates to the saved ones.
    /// - Throws: ``/NablaTensor/NablaError`` for a missing, unexpected or malformed entry, or a phase
    ///   that does not fit the saved epoch.
    public func loadStateDict(_ dict: [String: Tensor<Double>]) throws {
        let reader = ScheduleStateReader(dict: dict, prefix: "", owner: "AveragingPhaseSchedule")
        let epoch = try reader.integer("last_epoch")
        let last = try reader.rates("_last_lr", count: optimizer.learningRates.count)
        for key in dict.keys.sorted() where !["last_epoch", "_last_lr"].contains(key) && !key.hasPrefix("swa.")
            && !(regular != nil && key.hasPrefix("regular.")) {
            throw NablaError(.unexpectedKey, "AveragingPhaseSchedule state dict has unexpected entry '\(key)'")
        }
        func entries(_ prefix: String) -> [String: Tensor<Double>] {
            Dictionary(uniqueKeysWithValues: dict.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
        }
        let saved = entries("swa.")
        guard saved.isEmpty == (epoch < startEpoch - 1) else {
            throw NablaError(.invalidArgument, "AveragingPhaseSchedule state at epoch \(epoch) \(saved.isEmpty ? "lacks" : "has") the SWA schedule's state (the phase starts after epoch \(startEpoch - 1))")
        }
        if let regular { try regular.loadStateDict(entries("regular.")) }
        if !saved.isEmpty {
            let schedule = try averagingSchedule ?? makeAveragingSchedule()
            try schedule.loadStateDict(saved)
            averagingSchedule = schedule
        }
        lastEpoch = epoch
        lastLearningRates = last
        optimizer.learningRates = last
    }
}
