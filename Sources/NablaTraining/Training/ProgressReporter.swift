import Foundation
import NablaIO

/// Progress of a training epoch on the terminal: a redrawn bar with rate, ETA and running loss when
/// standard error is a terminal, plain lines every few seconds otherwise (logs, CI).
public final class ProgressReporter {
    private let label: String
    private let total: Int
    private let isTerminal: Bool
    private let start = Date()
    private var lastDraw: Date
    private let quiet: Bool

    /// - Parameters:
    ///   - label: e.g. `"epoch 3/10"`.
    ///   - total: the number of steps in the epoch.
    ///   - quiet: print nothing.
    public init(label: String, total: Int, quiet: Bool = false) {
        self.label = label
        self.total = max(total, 1)
        self.isTerminal = isatty(STDERR_FILENO) != 0
        self.quiet = quiet
        // Plain-line mode reports every 10 s, starting 10 s in; the bar draws at once.
        lastDraw = isTerminal ? .distantPast : Date()
    }

    /// Reports that `done` steps of `total` are finished, with the running mean loss.
    public func update(done: Int, runningLoss: Double) {
        guard !quiet else { return }
        let now = Date()
        let interval = isTerminal ? 0.1 : 10
        guard done == total || now.timeIntervalSince(lastDraw) >= interval else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let stats = String(format: "%d/%d  %.1f it/s  ETA %@  loss %.4f", done, total, rate, Self.clock(eta), runningLoss)
        if isTerminal {
            let width = 30
            let filled = Int(Double(width) * Double(done) / Double(total))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            StandardStreams.note("\r\u{1B}[2K\(label) \(bar) \(stats)")
            if done == total { StandardStreams.note("\n") }
        } else if done < total {
            StandardStreams.note("\(label) \(stats)\n")
        }
    }

    /// `m:ss` or `h:mm:ss`.
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
