import ArgumentParser
import Foundation
import Nabla

/// The `nabla` command-line tool.
///
/// Every failure prints exactly one line, `nabla: <what is wrong>`, on standard error: exit status 2
/// for a malformed command line, 1 for anything else (bad files, bad model descriptions, training
/// that diverged).
@main
struct NablaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nabla",
        abstract: "Train, evaluate and study neural networks — regularization and optimization made visible.",
        subcommands: [TrainCommand.self, EvaluateCommand.self, PredictCommand.self, StudyCommand.self, SummaryCommand.self,
                      GradCheckCommand.self, BenchCommand.self, LRFindCommand.self])

    static func main() {
        BLASKernelSelection.reexecWithAVX512KernelsIfUseful()
        StandardStreams.prepare()
        AllocatorTuning.keepFreedMemoryForReuse()
        do {
            var command = try parseAsRoot()
            try command.run()
            // Output a command printed but the system could not deliver (a full disk, a closed pipe).
            if fflush(stdout) != 0 || ferror(stdout) != 0 {
                fail("standard output: cannot write the output (\(String(cString: strerror(errno))))", status: 1)
            }
        } catch let exit as SilentExit {
            Foundation.exit(exit.status)
        } catch {
            if exitCode(for: error) == .success {
                // --help, --version: ArgumentParser's full text.
                exit(withError: error)
            }
            report(error)
        }
    }

    /// Prints `error` as one line and exits with its status. In a job of several ranks, an error of
    /// a rank other than 0 names the rank — except errors every rank meets together (a diverged
    /// step: the ranks share the loss and gradients), which rank 0 alone prints. Before MPI starts,
    /// every rank parses the same command line, so only rank 0 prints a usage error.
    static func report(_ error: Error) -> Never {
        let status = exitStatus(for: error)
        let launch = LaunchEnvironment()
        let rank = TrainingJob.current?.rank ?? launch.rank ?? 0
        let size = TrainingJob.current?.size ?? launch.size ?? 1
        var message = oneLine(error)
        if let error = error as? RankError {
            message = "rank \(error.rank): " + oneLine(error.underlying)
        } else if size > 1 && rank > 0 {
            let common = status == 2 || (error as? NablaError)?.kind == .nonFinite
            if common { Foundation.exit(status) }
            message = "rank \(rank): " + message
        }
        fail(message, status: status)
    }

    /// The exit status for `error`: 2 for a malformed command line, 1 for anything else.
    static func exitStatus(for error: Error) -> Int32 {
        switch error {
        case let error as RankError: return exitStatus(for: error.underlying)
        case let exit as SilentExit: return exit.status
        case is NablaError: return 1
        case is UsageError: return 2
        default:
            let code = exitCode(for: error)
            return code == .validationFailure ? 2 : code.rawValue
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
        Foundation.exit(status)
    }
}
