import ArgumentParser
import Foundation
import Nabla

/// The `nabla` command-line tool.
///
/// Every failure prints exactly one line, `nabla: <what is wrong>`, on standard error, with exit
/// status 2 for a usage error and 1 for a runtime failure. The two are told apart by *when* the
/// error is found, not by its text: everything a user types (flags, their values, and the spec
/// strings of models, datasets, schedules, augmentations, optimizers and losses) is checked while
/// the command line is parsed — in the commands' `validate()` — so an error thrown there is a usage
/// error (2), and an error thrown once the command runs (an unreadable file, a model that does not
/// fit the data, a diverged run) is a runtime failure (1). `--help`, `--version` and
/// `--generate-completion-script` print their text and exit 0.
@main
struct NablaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nabla",
        abstract: "Train, evaluate and study neural networks — regularization and optimization made visible.",
        version: NablaVersion.current,
        subcommands: [TrainCommand.self, EvaluateCommand.self, PredictCommand.self, StudyCommand.self, SummaryCommand.self,
                      GradCheckCommand.self, BenchCommand.self, LRFindCommand.self])

    /// Exit status of a malformed command line.
    static let usageStatus: Int32 = 2
    /// Exit status of a runtime failure.
    static let failureStatus: Int32 = 1

    static func main() {
        BLASKernelSelection.reexecWithAVX512KernelsIfUseful()
        StandardStreams.prepare()
        AllocatorTuning.keepFreedMemoryForReuse()
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            // Parsing and every command's validate(): whatever fails here is the command line's fault.
            report(error, status: usageStatus)
        }
        do {
            try command.run()
            // Output a command printed but the system could not deliver (a full disk, a closed pipe).
            if fflush(stdout) != 0 || ferror(stdout) != 0 {
                fail("standard output: cannot write the output (\(String(cString: strerror(errno))))", status: failureStatus)
            }
        } catch {
            report(error, status: failureStatus)
        }
    }

    /// Prints help, version or completion text for a clean exit; else prints `error` as one line and
    /// exits with its status (``exitStatus(for:default:)``). In a job of several ranks, an error of a
    /// rank other than 0 names the rank — except errors every rank meets together (a usage error, a
    /// diverged step: the ranks share the loss and gradients), which rank 0 alone prints.
    static func report(_ error: Error, status defaultStatus: Int32) -> Never {
        if let exit = error as? SilentExit {
            TrainingJob.finishAfterAgreedFailure()
            Foundation.exit(exit.status)
        }
        if exitCode(for: error) == .success { exit(withError: error) }
        if let explicit = error as? ExitCode { Foundation.exit(explicit.rawValue) }
        let status = exitStatus(for: error, default: defaultStatus)
        let launch = LaunchEnvironment()
        let rank = TrainingJob.current?.rank ?? launch.rank ?? 0
        let size = TrainingJob.current?.size ?? launch.size ?? 1
        var message = oneLine(error)
        if let error = error as? RankError {
            message = "rank \(error.rank): " + oneLine(error.underlying)
        } else if size > 1 && rank > 0 {
            let common = status == usageStatus || (error as? NablaError)?.kind == .nonFinite
            if common {
                TrainingJob.finishAfterAgreedFailure()
                Foundation.exit(status)
            }
            message = "rank \(rank): " + message
        }
        fail(message, status: status)
    }

    /// The exit status for `error`: 2 for a malformed command line (``UsageError``,
    /// `ValidationError`), `defaultStatus` otherwise — 2 while the command line is parsed and
    /// validated, 1 once the command runs.
    static func exitStatus(for error: Error, default defaultStatus: Int32 = failureStatus) -> Int32 {
        switch error {
        case let error as RankError: return exitStatus(for: error.underlying, default: defaultStatus)
        case let exit as SilentExit: return exit.status
        case let explicit as ExitCode: return explicit.rawValue
        case is UsageError, is ValidationError: return usageStatus
        default: return defaultStatus
        }
    }

    /// The first line of `error`'s message.
    static func oneLine(_ error: Error) -> String {
        if let error = error as? NablaError { return error.message }
        if let error = error as? UsageError { return error.message }
        return message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    }

    static func fail(_ message: String, status: Int32) -> Never {
        StandardStreams.note("nabla: \(message)\n")
        TrainingJob.finishAfterAgreedFailure()
        Foundation.exit(status)
    }
}
