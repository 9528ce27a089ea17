import Foundation
import NablaTensor
import NablaIO
import NablaNN
import NablaOptim
import NablaData

/// Weight averaging during training (`--ema DECAY`, `--swa START[,SWA_LR]`): a ``TrainingCallback``
/// that keeps an ``/NablaOptim/AveragedModel`` of the model being trained, in PyTorch's recipes.
///
/// - **EMA** (``Method/exponential(decay:)``): after every optimizer step,
///   `ema ← lerp(ema, w, 1 − decay)` (`AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay),
///   use_buffers=True)` — the first step copies; batch-norm running statistics are averaged too, so
///   the EMA weights are ready to evaluate without another pass).
/// - **SWA** (``Method/stochastic(startEpoch:)``): after each finished epoch `e ≥ start` (1-based),
///   the equal average `swa ← swa + (w − swa)/(n + 1)` (`AveragedModel(model)`; running statistics are
///   copied, not averaged), and when training ends ``/NablaOptim/updateBatchNormStatistics(of:inputs:)``
///   (PyTorch's `update_bn`) recomputes them for the averaged weights with one pass over the
///   training loader (its batches of the next epoch, augmentation included). The learning rate of
///   the averaging phase is the plan's business (``/NablaOptim/AveragingPhaseSchedule``).
///
/// **Which weights are which.** The trainer always trains, checkpoints and evaluates per epoch the
/// live weights (`model.safetensors`, the epoch lines); this callback keeps the average beside them
/// in the checkpoint (`callback.<ema|swa>.module.<key>`, `callback.<…>.n_averaged`, so a resumed run
/// continues the average exactly) and, with a checkpoint directory, writes it after every epoch as
/// `ema.safetensors` / `swa.safetensors` (a PyTorch state dict of the model). ``apply(to:)`` puts
/// the averaged weights into a model: `nabla train` does so when training ends, so its final
/// metrics and `--save` are the averaged weights (and it says so).
public final class WeightAveragingCallback: TrainingCallback {
    /// How and when weights are averaged.
    public enum Method: Equatable, Sendable {
        /// An exponential moving average after every optimizer step.
        case exponential(decay: Double)
        /// The equal average of the weights at the end of every epoch from `startEpoch` (1-based) on.
        case stochastic(startEpoch: Int)
    }

    /// How and when this callback averages.
    public let method: Method
    /// The running average.
    public let average: AveragedModel<Float>
    /// Whether `update_bn` has run for the current average (SWA, after training).
    public private(set) var batchNormUpdated = false
    private let integerKeys: Set<String>

    /// `"ema"` or `"swa"`: the checkpoint prefix and the name of the averaged weights file.
    public var name: String {
        switch method {
        case .exponential: return "ema"
        case .stochastic: return "swa"
        }
    }

    /// A callback averaging `model`'s weights.
    /// - Throws: ``/NablaTensor/NablaError`` for a decay outside [0, 1] or a start epoch below 1.
    public init(method: Method, model: Module<Float>) throws {
        self.method = method
        switch method {
        case .exponential(let decay):
            average = try AveragedModel(model, rule: .exponential(decay: decay), includesBuffers: true)
        case .stochastic(let start):
            guard start >= 1 else { throw NablaError(.invalidArgument, "--swa \(start): the averaging must start at epoch 1 or later") }
            average = try AveragedModel(model, rule: .equal)
        }
        integerKeys = model.integerStateKeys
    }

    /// Whether any weights have been averaged yet (SWA before its start epoch has none).
    public var hasAverage: Bool { average.averagedCount > 0 }

    /// A one-line account of the average, for output: `"EMA (decay 0.999) of 1200 optimizer steps"`,
    /// `"SWA of 6 epochs (10–15), batch-norm statistics recomputed"`.
    public var summary: String {
        let n = average.averagedCount
        switch method {
        case .exponential(let decay): return "EMA (decay \(decay)) of \(n) optimizer step\(n == 1 ? "" : "s")"
        case .stochastic(let start):
            let span = n == 0 ? "" : n == 1 ? " (\(start))" : " (\(start)–\(start + n - 1))"
            return "SWA of \(n) epoch\(n == 1 ? "" : "s")\(span)" + (batchNormUpdated ? ", batch-norm statistics recomputed" : "")
        }
    }

    /// Loads the averaged weights (parameters and buffers) into `model`.
    /// - Throws: ``/NablaTensor/NablaError`` for a model with other keys or shapes.
    public func apply(to model: Module<Float>) throws { try average.copy(into: model) }

    /// The averaged weights as a safetensors state dict of the model (integer buffers as int64).
    public func stateDictFile() -> SafeTensorsFile {
        var file = SafeTensorsFile()
        for (key, tensor) in average.modelStateDict {
            file.tensors[key] = integerKeys.contains(key) ? SafeTensor(int64: tensor.scalars.map { Int64($0) }, shape: tensor.shape) : SafeTensor(tensor)
        }
        file.metadata["nabla.averaging"] = summary
        return file
    }

    /// EMA: adds the weights after this optimizer step to the average.
    public func stepDidEnd(_ trainer: Trainer, loss: Double) throws {
        guard case .exponential = method else { return }
        average.update(from: trainer.model)
        batchNormUpdated = false
    }

    /// SWA: adds the weights of a finished epoch from the start epoch on; then writes the averaged
    /// weights file (with a checkpoint directory).
    public func epochDidEnd(_ trainer: Trainer, report: EpochReport) throws {
        // Only a finished epoch (a step budget may end one part-way) enters the SWA average.
        if case .stochastic(let start) = method, trainer.progress.stepInEpoch == 0, report.epoch >= start {
            average.update(from: trainer.model)
            batchNormUpdated = false
        }
        try writeFile(trainer)
    }

    /// SWA: recomputes the batch-norm statistics of the average (`update_bn`) and rewrites its file.
    public func trainingDidEnd(_ trainer: Trainer, result: TrainingResult) throws {
        guard case .stochastic = method, hasAverage, !batchNormUpdated else { return }
        // update_bn on a model holding the averaged weights; the live weights go back afterwards.
        let live = trainer.model.stateDict()
        try average.copy(into: trainer.model)
        let batches = trainer.trainLoader.epoch(trainer.progress.epoch).lazy.map(\.inputs)
        updateBatchNormStatistics(of: trainer.model, inputs: batches)
        let recomputed = trainer.model.stateDict()
        try trainer.model.loadStateDict(live)
        var state = average.stateDict()
        for (key, value) in recomputed where average.buffers.contains(where: { $0.name == key }) { state["module." + key] = value }
        try average.loadStateDict(state)
        batchNormUpdated = true
        try writeFile(trainer)
    }

    private func writeFile(_ trainer: Trainer) throws {
        guard let directory = trainer.configuration.checkpointDirectory, hasAverage else { return }
        try stateDictFile().write(to: directory.appendingPathComponent("\(name).safetensors"))
    }

    /// The average as PyTorch's `AveragedModel.state_dict()`: `n_averaged` and `module.<key>`.
    public func checkpointState() -> [String: Tensor<Double>] { average.stateDict().mapValues { Tensor<Double>($0) } }

    /// Restores what ``checkpointState()`` returned.
    /// - Throws: ``/NablaTensor/NablaError`` for a missing, unexpected or wrongly shaped entry.
    public func restore(checkpointState: [String: Tensor<Double>]) throws {
        do {
            try average.loadStateDict(checkpointState.mapValues { Tensor<Float>($0) })
        } catch let error as NablaError {
            throw NablaError(error.kind, "\(name): \(error.message)")
        }
        batchNormUpdated = false
    }
}
