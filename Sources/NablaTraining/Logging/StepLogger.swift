import Foundation
import NablaTensor
import NablaData

/// Per-step TensorBoard scalars, every ``every`` optimizer steps (`nabla train --log-every N`): what
/// the per-epoch logs average away.
///
/// | tag | value at global step `s` |
/// |---|---|
/// | `step/loss` | the data loss of step `s`'s batch (before any penalty), as trained (training mode) |
/// | `step/learning_rate` | the learning rate step `s` used |
/// | `step/gradient_norm` | the global L2 norm `√(Σ‖∇θ‖²)` of every parameter's gradient at step `s`, before clipping (PyTorch's `clip_grad_norm_` total) |
/// | `step/samples_per_second` | training samples per wall-clock second since the previous logged step (evaluation excluded) |
///
/// The scalars go to their own event file (suffix `.steps`) in the run's log directory, so
/// TensorBoard shows them with the run's per-epoch curves, on the same global-step axis.
public final class StepLogger: TrainingCallback {
    /// `"step-logger"`.
    public let name = "step-logger"
    /// Log every this many optimizer steps.
    public let every: Int
    private let writer: SummaryWriter
    private var samples = 0
    private var clock = DispatchTime.now().uptimeNanoseconds
    private var gradientNorm: Double?
    private var learningRate = 0.0

    /// A logger writing every `every` steps into a new event file in `directory`.
    /// - Precondition: `every ≥ 1`.
    /// - Throws: ``NablaError`` when the event file cannot be created.
    public init(directory: URL, every: Int) throws {
        precondition(every >= 1, "StepLogger: every \(every) must be at least 1")
        self.every = every
        writer = try SummaryWriter(logDirectory: directory, filenameSuffix: ".steps")
    }

    /// Starts the throughput clock.
    public func trainingWillBegin(_ trainer: Trainer) throws { restartClock() }

    /// Counts the batch's samples and notes the learning rate it trains at.
    public func batchWillBegin(_ trainer: Trainer, batch: Batch) throws {
        samples += batch.indices.count
        learningRate = trainer.optimizer.learningRate
    }

    /// On a logged step, the global gradient norm before clipping.
    public func gradientsDidCompute(_ trainer: Trainer) throws {
        guard (trainer.progress.globalStep + 1) % every == 0 else { return }
        var sum = 0.0
        for parameter in trainer.model.parameters {
            guard let gradient = parameter.grad else { continue }
            gradient.withUnsafeBufferPointer { g in for x in g { sum += Double(x) * Double(x) } }
        }
        gradientNorm = sum.squareRoot()
    }

    /// On every ``every``-th step, writes the step's scalars.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) when the event file cannot be written.
    public func stepDidEnd(_ trainer: Trainer, loss: Double) throws {
        let step = trainer.progress.globalStep
        guard step % every == 0 else { return }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9
        var scalars: [(tag: String, value: Double)] = [("step/loss", loss), ("step/learning_rate", learningRate)]
        if let gradientNorm { scalars.append(("step/gradient_norm", gradientNorm)) }
        if seconds > 0 { scalars.append(("step/samples_per_second", Double(samples) / seconds)) }
        try writer.addScalars(scalars, step: step)
        gradientNorm = nil
        restartClock()
    }

    /// Flushes the event file and restarts the clock (evaluation is not training throughput).
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) when the event file cannot be written.
    public func epochDidEnd(_ trainer: Trainer, report: EpochReport) throws {
        try writer.flush()
        restartClock()   // the epoch's evaluation is not training throughput
    }

    /// Flushes the event file.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) when the event file cannot be written.
    public func trainingDidEnd(_ trainer: Trainer, result: TrainingResult) throws { try writer.flush() }

    private func restartClock() {
        samples = 0
        clock = DispatchTime.now().uptimeNanoseconds
    }
}
