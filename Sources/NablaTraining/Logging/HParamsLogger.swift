import Foundation
import NablaTensor

/// Writes a run's hyper-parameters for TensorBoard's HParams dashboard (the session records of
/// ``HParamsExperiment``'s protos): the session's start and end (success) when training ends, in
/// their own event file (suffix `.hparams`) in the run's log directory.
/// `nabla train --logdir` adds one with ``TrainingPlan/tensorBoardHyperparameters``, so its runs
/// can be compared by their settings in TensorBoard's HPARAMS tab (the studies write their own).
public final class HParamsLogger: TrainingCallback {
    /// `"hparams"`.
    public let name = "hparams"
    /// What the start record holds.
    public let hyperparameters: [(name: String, value: HParamValue)]
    private let directory: URL
    private var startTime: Double?

    /// A logger of `hyperparameters` into a new event file in `directory`.
    public init(directory: URL, hyperparameters: [(name: String, value: HParamValue)]) {
        self.directory = directory
        self.hyperparameters = hyperparameters
    }

    /// Notes when the session started.
    public func trainingWillBegin(_ trainer: Trainer) throws {
        if startTime == nil { startTime = Date().timeIntervalSince1970 }
    }

    /// Writes the session's start and end records (``HParamsSessionStatus/success``) into a new
    /// `.hparams` event file. Both are written when training ends, so that a run killed and resumed
    /// records one session, after its other event files (which a resume cuts back to its checkpoint).
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) when the event file cannot be written.
    public func trainingDidEnd(_ trainer: Trainer, result: TrainingResult) throws {
        let writer = try SummaryWriter(logDirectory: directory, filenameSuffix: ".hparams")
        let now = Date().timeIntervalSince1970
        let began = startTime ?? now
        try writer.add(TensorBoardEvent(wallTime: began, step: 0,
                                        payload: .summary([HParamsPlugin.sessionStart(hparams: hyperparameters, groupName: nil, startTime: began)])))
        try writer.add(TensorBoardEvent(wallTime: now, step: Int64(trainer.progress.globalStep),
                                        payload: .summary([HParamsPlugin.sessionEnd(status: .success, endTime: now)])))
        try writer.close()
    }
}

extension TrainingPlan {
    /// The flags that set where results go, not how the model trains: left out of the hyper-parameters.
    static let outputFlags: Set<String> = ["logdir", "log-every", "no-histograms", "overwrite", "checkpoint-dir",
                                           "checkpoint-every", "resume", "save", "quiet"]

    /// The run's settings as TensorBoard hyper-parameters: every flag of ``commandLineArguments(modelFile:)``
    /// but the output flags, named without the dashes (`lr`, `model`, `weight-decay`), a number when
    /// its value is one, a Boolean `true` for a switch (`nesterov`), else the text.
    /// In the order of the command line.
    public var tensorBoardHyperparameters: [(name: String, value: HParamValue)] {
        var result: [(name: String, value: HParamValue)] = []
        let words = commandLineArguments()
        var index = 0
        while index < words.count {
            let flag = String(words[index].dropFirst(2))
            let value = index + 1 < words.count && !words[index + 1].hasPrefix("--") ? words[index + 1] : nil
            index += value == nil ? 1 : 2
            guard !Self.outputFlags.contains(flag) else { continue }
            if let value {
                result.append((flag, Double(value).map { .number($0) } ?? .string(value)))
            } else {
                result.append((flag, .bool(true)))
            }
        }
        return result
    }
}
