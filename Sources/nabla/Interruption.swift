import Foundation
import Nabla

/// `SIGINT` (Ctrl-C) and `SIGTERM` during `nabla train`: the run finishes its step, checkpoints,
/// flushes its logs and stops; the command prints one line saying where and how to resume, and
/// exits with 130 (`SIGINT`) or 143 (`SIGTERM`). A second signal ends the process at once.
enum Interruption {
    /// `trainer.fit()` with the signals handled (``InterruptSignals``, ``InterruptCallback``); when a
    /// signal stopped it, reports and exits instead of returning.
    static func fit(_ trainer: Trainer) throws -> TrainingResult {
        guard #available(macOS 15.0, *) else { return try trainer.fit() }
        trainer.callbacks.append(InterruptCallback())
        InterruptSignals.install()
        defer { InterruptSignals.restoreDefaults() }
        let result = try trainer.fit()
        InterruptSignals.restoreDefaults()
        if let signal = InterruptSignals.signal {
            StandardStreams.note("nabla: \(report(trainer, signal: signal))\n")
            exit(InterruptSignals.exitStatus(for: signal))
        }
        return result
    }

    /// `interrupted by SIGINT at epoch E, step S of B; checkpoint saved to …; resume with: …`.
    static func report(_ trainer: Trainer, signal: Int32) -> String {
        let progress = trainer.progress, batches = trainer.trainLoader.batchCount
        let (epoch, step) = progress.stepInEpoch > 0 ? (progress.epoch + 1, progress.stepInEpoch)
            : (max(progress.epoch, 1), progress.epoch > 0 ? batches : 0)
        var line = "interrupted by \(signal == SIGTERM ? "SIGTERM" : "SIGINT") at epoch \(epoch), step \(step) of \(batches)"
        if let url = trainer.checkpointURL {
            var words = CommandLine.arguments
            if !words.contains("--resume") { words.append("--resume") }
            line += "; checkpoint saved to \(url.path); resume with: \(words.map(shellQuoted).joined(separator: " "))"
        } else {
            line += "; nothing was saved (no --checkpoint-dir), so the run cannot be resumed"
        }
        return line
    }
}
