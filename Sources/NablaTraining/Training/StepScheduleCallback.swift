import NablaTensor
import NablaOptim

/// Steps a per-step learning-rate schedule (``SchedulingInterval/step``: one-cycle, cyclic) after
/// every optimizer step — PyTorch's `scheduler.step()` inside the batch loop — and keeps its state
/// in the trainer's checkpoints (under `callback.schedule.`), so a resumed run continues the
/// schedule exactly. ``TrainingPlan/prepare(loaded:)`` installs it for a per-step schedule and
/// gives the trainer no epoch schedule then.
public final class StepScheduleCallback: TrainingCallback {
    /// `"schedule"`.
    public let name = "schedule"
    /// The schedule stepped after every optimizer step.
    public let schedule: any LearningRateSchedule

    /// A callback stepping `schedule`.
    public init(_ schedule: any LearningRateSchedule) { self.schedule = schedule }

    /// One schedule step per optimizer step (skipped non-finite steps take none).
    public func stepDidEnd(_ trainer: Trainer, loss: Double) throws { schedule.step() }

    /// The schedule's state dictionary.
    public func checkpointState() -> [String: Tensor<Double>] { schedule.stateDict() }

    /// Restores the schedule (and the optimizer's learning rates) from a checkpoint.
    public func restore(checkpointState: [String: Tensor<Double>]) throws { try schedule.loadStateDict(checkpointState) }
}
