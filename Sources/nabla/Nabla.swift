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
            exit(for: error, status: usageStatus)
        }
        do {
            try command.run()
            // Output a command printed but the system could not deliver (a full disk, a closed pipe).
            if fflush(stdout) != 0 || ferror(stdout) != 0 {
                fail("standard output: cannot write the output (\(String(cString: strerror(errno))))", status: 1)
            }
        } catch let error as NablaError {
            fail(error.message, status: failureStatus)
        } catch let error as ValidationError {
            fail(error.message, status: usageStatus)
        } catch {
            exit(for: error, status: failureStatus)
        }
    }

    /// Prints help, version or completion text for a clean exit, else one line and exits `status`
    /// (or the status of an explicit `ExitCode`).
    static func exit(for error: Error, status: Int32) -> Never {
        let code = exitCode(for: error)
        if code == .success { exit(withError: error) }
        if let explicit = error as? ExitCode { Foundation.exit(explicit.rawValue) }
        let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        fail(message, status: status)
    }

    static func fail(_ message: String, status: Int32) -> Never {
        StandardStreams.note("nabla: \(message)\n")
        Foundation.exit(status)
    }
}
