import Foundation
import NablaIO

/// Progress of a study on standard error: a heading per part, one line per finished run, and — on a
/// terminal — a status line redrawn after every epoch (`[3/13] L2 weight decay  epoch 12/30 …`).
public final class StudyProgress {
    /// Whether nothing is printed.
    public let quiet: Bool
    private let isTerminal: Bool
    private let write: (String) -> Void
    private var lastDraw = Date.distantPast

    /// - Parameters:
    ///   - quiet: print nothing.
    ///   - write: where the text goes (standard error by default; tests collect it).
    public init(quiet: Bool = false, write: ((String) -> Void)? = nil) {
        self.quiet = quiet
        self.isTerminal = write == nil && isatty(STDERR_FILENO) != 0
        self.write = write ?? { StandardStreams.note($0) }
    }

    /// A heading for a part of the study.
    public func section(_ title: String) {
        guard !quiet else { return }
        write("\(title)\n")
    }

    /// A line of information (a notice, where the report is).
    public func note(_ text: String) {
        guard !quiet else { return }
        write("\(text)\n")
    }

    func started(_ plan: StudyRunPlan, index: Int, of total: Int) {
        guard !quiet, isTerminal else { return }
        write("\r\u{1B}[2K\(Self.prefix(index, total)) \(plan.name)  starting…")
        lastDraw = Date()
    }

    func epoch(_ plan: StudyRunPlan, _ epoch: StudyEpoch, index: Int, of total: Int) {
        guard !quiet, isTerminal, Date().timeIntervalSince(lastDraw) >= 0.2 || epoch.epoch == plan.epochs else { return }
        lastDraw = Date()
        write("\r\u{1B}[2K\(Self.prefix(index, total)) \(plan.name)  epoch \(epoch.epoch)/\(plan.epochs)  \(Self.figures(epoch))")
    }

    func finished(_ run: StudyRun, index: Int, of total: Int) {
        guard !quiet else { return }
        var line = "\(Self.prefix(index, total)) \(run.name)"
        if let last = run.final { line += "  " + Self.figures(last) }
        if let gap = run.accuracyGap { line += String(format: "  gap %.1f pts", gap * 100) }
        line += String(format: "  %.1fs", run.seconds)
        write((isTerminal ? "\r\u{1B}[2K" : "") + line + "\n")
    }

    func epoch(of job: StudyJob, _ epoch: StudyRunResult.Epoch, done: Int, of total: Int) {
        guard !quiet, isTerminal, Date().timeIntervalSince(lastDraw) >= 0.2 else { return }
        lastDraw = Date()
        var line = "\r\u{1B}[2K\(Self.prefix(done, total)) \(job.id)  epoch \(epoch.epoch)/\(job.plan.epochs)"
        if let v = epoch.validationAccuracy { line += String(format: "  val %.1f%%", v * 100) }
        write(line)
    }

    func finished(_ job: StudyJob, _ result: StudyRunResult, done: Int, of total: Int) {
        guard !quiet else { return }
        var line = "\(Self.prefix(done, total)) \(job.id)"
        if let last = result.final {
            if let a = last.trainAccuracy { line += String(format: "  train %.1f%%", a * 100) }
            if let a = last.validationAccuracy { line += String(format: "  val %.1f%%", a * 100) }
        }
        if let a = result.test?.accuracy { line += String(format: "  test %.1f%%", a * 100) }
        if result.divergence != nil { line += "  diverged" }
        line += String(format: "  %.1fs", result.seconds)
        write((isTerminal ? "\r\u{1B}[2K" : "") + line + "\n")
    }

    static func prefix(_ index: Int, _ total: Int) -> String {
        let width = String(total).count
        return "[" + String(repeating: " ", count: max(0, width - String(index).count)) + "\(index)/\(total)]"
    }

    static func figures(_ e: StudyEpoch) -> String {
        if let train = e.trainAccuracy, let test = e.testAccuracy {
            return String(format: "train %.1f%%  test %.1f%%  loss %.3f/%.3f", train * 100, test * 100, e.trainLoss, e.testLoss)
        }
        return String(format: "train loss %.4f  test loss %.4f", e.trainLoss, e.testLoss)
    }
}
