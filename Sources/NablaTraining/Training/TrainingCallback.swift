import NablaTensor
import NablaData

/// Code that runs at fixed points of ``Trainer/fit()`` — PyTorch Lightning's `Callback`, Keras's
/// `Callback` — so that features such as weight averaging, per-step schedules, per-step logging,
/// distributed gradient averaging or signal handling plug into the loop without editing it.
///
/// The points, in the order one optimizer step meets them:
///
///     trainingWillBegin
///     per batch:  batchWillBegin → [forward, loss, backward] → gradientsDidCompute
///                 → [clipping, optimizer step, constraint] → stepDidEnd
///     per epoch:  [evaluation, schedule, early stopping] → epochDidEnd → [logs, checkpoint]
///     trainingDidEnd
///
/// Every hook has an empty default, so a callback implements only what it needs. A hook that
/// throws stops training with that error. A callback that keeps state across steps reports it in
/// ``checkpointState()`` and takes it back in ``restore(checkpointState:)``: the trainer saves it in
/// its checkpoint under `callback.<name>.`, so a resumed run continues exactly.
public protocol TrainingCallback: AnyObject {
    /// A short identifier, unique among a trainer's callbacks (`"ema"`): the checkpoint key prefix.
    var name: String { get }

    /// Before the first step of ``Trainer/fit()`` (also when resuming).
    func trainingWillBegin(_ trainer: Trainer) throws
    /// Before the forward pass of a batch.
    func batchWillBegin(_ trainer: Trainer, batch: Batch) throws
    /// After `backward()`, once every gradient is known to be finite and before clipping and the
    /// optimizer step (where gradients are averaged across data-parallel ranks); with gradient
    /// accumulation, once per optimizer step, after the group's last batch.
    func gradientsDidCompute(_ trainer: Trainer) throws
    /// After the optimizer step and the max-norm constraint; `loss` is the step's data loss (with
    /// gradient accumulation the sample-weighted mean over the step's batches).
    func stepDidEnd(_ trainer: Trainer, loss: Double) throws
    /// After an epoch's evaluation, schedule step and early-stopping update, before its logs and
    /// checkpoint are written.
    func epochDidEnd(_ trainer: Trainer, report: EpochReport) throws
    /// After the last epoch, before ``Trainer/fit()`` returns.
    func trainingDidEnd(_ trainer: Trainer, result: TrainingResult) throws

    /// The state to save in a checkpoint (empty for a stateless callback).
    func checkpointState() -> [String: Tensor<Double>]
    /// Restores what ``checkpointState()`` returned.
    /// - Throws: ``/NablaTensor/NablaError`` for a missing or malformed entry.
    func restore(checkpointState: [String: Tensor<Double>]) throws
}

extension TrainingCallback {
    /// Does nothing.
    public func trainingWillBegin(_ trainer: Trainer) throws {}
    /// Does nothing.
    public func batchWillBegin(_ trainer: Trainer, batch: Batch) throws {}
    /// Does nothing.
    public func gradientsDidCompute(_ trainer: Trainer) throws {}
    /// Does nothing.
    public func stepDidEnd(_ trainer: Trainer, loss: Double) throws {}
    /// Does nothing.
    public func epochDidEnd(_ trainer: Trainer, report: EpochReport) throws {}
    /// Does nothing.
    public func trainingDidEnd(_ trainer: Trainer, result: TrainingResult) throws {}
    /// No state: `[:]`.
    public func checkpointState() -> [String: Tensor<Double>] { [:] }
    /// Accepts any state and restores nothing.
    public func restore(checkpointState: [String: Tensor<Double>]) throws {}
}
