import Foundation
import NablaData
import Synchronization

/// `SIGINT` (Ctrl-C) and `SIGTERM` for a training run: the first one asks the run to stop cleanly,
/// a second one ends the process at once.
///
/// ``install()`` sets a handler that only does async-signal-safe work: it records the signal in an
/// atomic, or — when one was already recorded — calls `_exit(128 + signal)`. The training thread
/// polls the record through ``InterruptCallback``, which calls ``Trainer/requestStop(reason:)``: the
/// trainer finishes the current step, writes its checkpoint and flushes its logs, and ``Trainer/fit()``
/// returns; the command then reports where it stopped and exits with `128 + signal` (130 for
/// `SIGINT`, 143 for `SIGTERM`), as a shell reports a process killed by that signal.
@available(macOS 15.0, *)
public enum InterruptSignals {
    /// The first signal received since ``install()`` (0 for none).
    private static let received = Atomic<Int32>(0)

    /// The signal that asked the run to stop, if one did.
    public static var signal: Int32? {
        let value = received.load(ordering: .acquiring)
        return value == 0 ? nil : value
    }

    /// The exit status for `signal`: 128 + its number (130 for `SIGINT`, 143 for `SIGTERM`).
    public static func exitStatus(for signal: Int32) -> Int32 { 128 + signal }

    /// Handles `SIGINT` and `SIGTERM` from now on (restarting interrupted system calls).
    public static func install() {
        _ = received.load(ordering: .relaxed)  // initialize the static before a handler can touch it
        for number in [SIGINT, SIGTERM] {
            var action = sigaction()
            #if os(Linux)
            action.__sigaction_handler.sa_handler = interruptHandler
            #else
            action.__sigaction_u.__sa_handler = interruptHandler
            #endif
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(number, &action, nil)
        }
    }

    /// Gives `SIGINT` and `SIGTERM` back their default action (ending the process).
    public static func restoreDefaults() {
        _ = Foundation.signal(SIGINT, SIG_DFL)
        _ = Foundation.signal(SIGTERM, SIG_DFL)
    }

    /// Records the first signal; exits at once on the second.
    fileprivate static func record(_ number: Int32) {
        let (first, _) = received.compareExchange(expected: 0, desired: number, ordering: .acquiringAndReleasing)
        if !first { _exit(exitStatus(for: number)) }
    }
}

@available(macOS 15.0, *)
private func interruptHandler(_ number: Int32) { InterruptSignals.record(number) }

/// Stops a ``Trainer`` cleanly when ``InterruptSignals`` has recorded a signal: polled before every
/// batch, after every step and after every epoch's evaluation, so the run stops after the step (or
/// the end-of-epoch work) in progress and checkpoints there. Stateless: nothing in checkpoints.
@available(macOS 15.0, *)
public final class InterruptCallback: TrainingCallback {
    public let name = "interrupt"

    public init() {}

    private func poll(_ trainer: Trainer) {
        guard let signal = InterruptSignals.signal else { return }
        trainer.requestStop(reason: signal == SIGTERM ? "terminated (SIGTERM)" : "interrupted (SIGINT)")
    }

    public func trainingWillBegin(_ trainer: Trainer) throws { poll(trainer) }
    public func batchWillBegin(_ trainer: Trainer, batch: Batch) throws { poll(trainer) }
    public func stepDidEnd(_ trainer: Trainer, loss: Double) throws { poll(trainer) }
    public func epochDidEnd(_ trainer: Trainer, report: EpochReport) throws { poll(trainer) }
}
