import Foundation

/// Named instants at which a test can make the process die by `SIGKILL`, deterministically, to check
/// that a run killed there resumes exactly (`Scripts/soak.sh` kills at random instants instead).
///
/// The environment variable `NABLA_KILL_AT=POINT[:N]` kills the process the `N`-th time (default 1)
/// it reaches `POINT`:
///
/// | point | where |
/// |---|---|
/// | `step` | inside an optimizer step: after `backward()`, before the parameters are updated |
/// | `epoch-end` | after an epoch's last step (and its step checkpoint), before evaluation, logs and the epoch checkpoint |
/// | `evaluation` | inside the end-of-epoch evaluation, between two batches |
/// | `write:FILE` | inside the atomic write of `FILE` (e.g. `checkpoint.safetensors`): half of it is in the temporary file |
/// | `append:FILE` | inside an append to the log `FILE` (`metrics.csv`, `metrics.jsonl`): half of the record is written |
///
/// A point also matches a file name that continues it after a dot: `append:events` is any
/// `events.out.tfevents.…` file, `write:checkpoint` is `checkpoint.safetensors`.
///
/// `NABLA_KILL_SIGNAL=INT` (or `TERM`, `STOP`) raises that signal there instead of `SIGKILL`: the
/// interrupt handling is then tested at a known step, and `STOP` freezes a run that holds its locks.
///
/// Without the variable, ``reach(_:)`` costs one load of a constant.
package enum KillPoint {
    /// `(point, occurrence)` from `NABLA_KILL_AT`, parsed once.
    private static let target: (name: String, occurrence: Int)? = {
        guard let spec = ProcessInfo.processInfo.environment["NABLA_KILL_AT"], !spec.isEmpty else { return nil }
        if let colon = spec.lastIndex(of: ":"), let n = Int(spec[spec.index(after: colon)...]), n >= 1 {
            return (String(spec[..<colon]), n)
        }
        return (spec, 1)
    }()

    /// The signal `NABLA_KILL_SIGNAL` names, else `SIGKILL`.
    private static let signal: Int32 = {
        switch ProcessInfo.processInfo.environment["NABLA_KILL_SIGNAL"]?.uppercased() {
        case "INT", "SIGINT": return SIGINT
        case "TERM", "SIGTERM": return SIGTERM
        case "STOP", "SIGSTOP": return SIGSTOP
        default: return SIGKILL
        }
    }()

    private static let lock = NSLock()
    nonisolated(unsafe) private static var reached = 0

    /// Whether `NABLA_KILL_AT` names a point (for callers that must prepare before reaching it).
    package static var isArmed: Bool { target != nil }

    /// Kills the process with `SIGKILL` (or `NABLA_KILL_SIGNAL`) if this is the occurrence of `point`
    /// that `NABLA_KILL_AT` names.
    package static func reach(_ point: String) {
        guard let target, point == target.name || point.hasPrefix(target.name + ".") else { return }
        lock.lock()
        reached += 1
        let hit = reached == target.occurrence
        lock.unlock()
        if hit { kill(getpid(), signal) }
    }

    /// Writes `bytes` to `descriptor` completely (retrying after `EINTR`), reaching `point` after
    /// the first half: the primitive behind the `write:` and `append:` points.
    /// - Returns: `nil`, or the `strerror` text of the failure.
    package static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, point: String) -> String? {
        var offset = 0
        let half = bytes.count / 2
        var halfReached = false
        while offset < bytes.count {
            let end = !halfReached && isArmed && half > 0 ? half : bytes.count
            let written = Foundation.write(descriptor, bytes.baseAddress! + offset, end - offset)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return String(cString: strerror(written < 0 ? errno : EIO)) }
            offset += written
            if !halfReached && offset >= half {
                halfReached = true
                reach(point)
            }
        }
        if !halfReached { reach(point) }
        return nil
    }
}
