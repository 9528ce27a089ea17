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
        } catch let error as NablaError {
            fail(error.message, status: 1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version: ArgumentParser's full text.
                exit(withError: error)
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            fail(message, status: code == .validationFailure ? 2 : code.rawValue)
        }
    }

    static func fail(_ message: String, status: Int32) -> Never {
        StandardStreams.note("nabla: \(message)\n")
        Foundation.exit(status)
    }
}
