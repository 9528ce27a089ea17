import NablaTensor
import NablaNN
import NablaData

/// The parts of a step that ``Trainer/fit()`` hands over when several processes (replicas) train
/// one model together, each on its part of every global batch — ``DataParallel`` over a process
/// group. Set as ``Trainer/dataParallel``; `nil` trains in this process alone.
///
/// Everything else of the step (clipping, the optimizer, constraints, schedules, early stopping) is
/// unchanged: it sees gradients and metrics that are identical on every replica, so every replica
/// takes the same decisions and keeps the same weights. A strategy's collectives cannot report an
/// error to the loop; a failed one ends the process with one line (the launcher then stops the
/// others), as a replica that went on alone would wait for the others forever.
public protocol DataParallelStrategy: AnyObject {
    /// The number of replicas.
    var replicaCount: Int { get }

    /// The loss of the whole global batch from this replica's loss over its part of `batch` — the
    /// same value on every replica, so all agree whether it is finite.
    func globalLoss(_ localLoss: Float, of batch: Batch) -> Float

    /// Back-propagates this replica's `loss` over its part of `batch` and leaves in every
    /// parameter's ``Variable/grad`` the gradient of the global batch's loss, identical on every
    /// replica (what `loss.backward()` alone would leave in a single process).
    func backward(_ loss: Variable<Float>, of batch: Batch)

    /// Back-propagates this replica's `loss` over its part of `batch` weighted as ``backward(_:of:)``
    /// weights it, but adds to the local gradients without reducing them — a batch of a gradient
    /// accumulation group other than its last (PyTorch DDP's `no_sync()`): the group's last batch,
    /// through ``backward(_:of:)``, then reduces the whole group's sum at once.
    func accumulate(_ loss: Variable<Float>, of batch: Batch)

    /// Metrics accumulated on every replica over its parts of the batches, combined.
    func combine(_ metrics: MetricAccumulator) -> MetricAccumulator

    /// `model` evaluated on `dataset` with each replica taking a part, combined on every replica.
    func evaluate(_ model: Module<Float>, on dataset: Dataset, loss: LossFunction, batchSize: Int) -> MetricAccumulator
}
