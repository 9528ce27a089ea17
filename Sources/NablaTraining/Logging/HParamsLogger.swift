import Foundation
import NablaTensor

/// Writes a run's hyper-parameters for TensorBoard's HParams dashboard (``TensorBoardHParams``):
/// the start record when training begins, the end record (success) when it ends, in their own event
/// file (suffix `.hparams`) in the run's log directory. A plan with a log directory adds one
/// (``TrainingPlan/tensorBoardHyperparameters``), so `nabla train --logdir` and the studies' runs
/// can be compared by their settings in TensorBoard's HPARAMS tab.
public final class HParamsLogger: TrainingCallback {
    /// `"hparams"`.
    public let name = "hparams"
    /// What the start record holds.
    public let hyperparameters: [String: TensorBoardHParams.Value]
    private let directory: URL
    private var writer: SummaryWriter?

    /// A logger of `hyperparameters` into a new event file in `directory` (created when training begins).
    public init(directory: URL, hyperparameters: [String: TensorBoardHParams.Value]) {
        self.directory = directory
        self.hyperparameters = hyperparameters
    }

    /// Writes the start record.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) when the event file cannot be written.
    public func trainingWillBegin(_ trainer: Trainer) throws {
        let writer = try self.writer ?? SummaryWriter(logDirectory: directory, filenameSuffix: ".hparams")
        self.writer = writer
        let now = Date().timeIntervalSince1970
        try writer.add(TensorBoardEvent(wallTime: now, step: 0, payload: .summary([TensorBoardHParams.sessionStart(hyperparameters, startTime: now)])))
        try writer.flush()
    }

    /// Writes the end record (``TensorBoardHParams/Status/success``).
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) when the event file cannot be written.
    public func trainingDidEnd(_ trainer: Trainer, result: TrainingResult) throws {
        guard let writer else { return }
        let now = Date().timeIntervalSince1970
        try writer.add(TensorBoardEvent(wallTime: now, step: Int64(trainer.progress.globalStep),
                                        payload: .summary([TensorBoardHParams.sessionEnd(.success, endTime: now)])))
        try writer.flush()
    }
}

extension TrainingPlan {
    /// The flags that set where results go, not how the model trains: left out of the hyper-parameters.
    static let outputFlags: Set<String> = ["logdir", "log-every", "no-histograms", "overwrite", "checkpoint-dir",
                                           "checkpoint-every", "resume", "save", "quiet"]

    /// The run's settings as TensorBoard hyper-parameters: every flag of ``commandLineArguments(modelFile:)``
    /// but the output flags, named without the dashes (`lr`, `model`, `weight-decay`), a number when
    /// its value is one, a Boolean `true` for a switch (`nesterov`), else the text.
    public var tensorBoardHyperparameters: [String: TensorBoardHParams.Value] {
        var result: [String: TensorBoardHParams.Value] = [:]
        let words = commandLineArguments()
        var index = 0
        while index < words.count {
            let flag = String(words[index].dropFirst(2))
            let value = index + 1 < words.count && !words[index + 1].hasPrefix("--") ? words[index + 1] : nil
            index += value == nil ? 1 : 2
            guard !Self.outputFlags.contains(flag) else { continue }
            if let value {
                result[flag] = Double(value).map { .number($0) } ?? .string(value)
            } else {
                result[flag] = .bool(true)
            }
        }
        return result
    }
}
