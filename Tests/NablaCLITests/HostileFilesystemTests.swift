import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
@testable import NablaStudies
import NablaTestSupport

/// Checkpoint writes that fail: the previous checkpoint must survive intact (and still resume), and
/// training must stop with one clear line.
///
/// Tests run as root, where a read-only directory (`chmod 555`) does not stop writes, so the failure
/// is made with mechanisms root cannot bypass: a file-size limit (`ulimit -f`, with `SIGXFSZ`
/// ignored so `write(2)` fails with `EFBIG` — what a full disk looks like to the writer), and a
/// checkpoint directory whose parent is a regular file (`ENOTDIR`).
final class HostileFilesystemTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-fs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    let training = ["train", "--model", "fcnet:32", "--data", "synthetic:spirals?n=200", "--batch-size", "16",
                    "--optimizer", "adam", "--seed", "5", "--quiet"]

    /// Runs `nabla arguments` under `ulimit -f blocks` (1 KiB blocks) with SIGXFSZ ignored.
    func runWithFileSizeLimit(_ blocks: Int, _ arguments: [String]) throws -> CLI.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "trap '' XFSZ; ulimit -f \(blocks); exec \"$0\" \"$@\"", CLI.executable.path] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = CLI.Drain(out), stderr = CLI.Drain(err)
        process.waitUntilExit()
        return CLI.Result(status: process.terminationStatus, stdout: stdout.text, stderr: stderr.text)
    }

    func testAFailedCheckpointWriteKeepsThePreviousCheckpointAndStopsWithOneLine() throws {
        // ThreadSanitizer's runtime itself dies with SIGBUS under a 4 KiB file-size limit.
        try XCTSkipIf(ProcessInfo.processInfo.environment["NABLA_SANITIZER"] == "thread", "the file-size limit breaks ThreadSanitizer's runtime")
        let checkpointDirectory = directory.appendingPathComponent("run")
        let first = try CLI.run(training + ["--epochs", "1", "--checkpoint-dir", checkpointDirectory.path])
        XCTAssertEqual(first.status, 0, first.stderr)
        let checkpoint = checkpointDirectory.appendingPathComponent("checkpoint.safetensors")
        let before = try Data(contentsOf: checkpoint)
        XCTAssertGreaterThan(before.count, 4096, "the checkpoint must be larger than the 4 KiB limit below")

        // Resume for a second epoch while no file may grow beyond 4 KiB: the end-of-epoch write fails.
        let failed = try runWithFileSizeLimit(4, training + ["--epochs", "2", "--checkpoint-dir", checkpointDirectory.path, "--resume"])
        XCTAssertEqual(failed.status, 1, failed.stderr)
        let lines = failed.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, failed.stderr)
        XCTAssertTrue(failed.stderr.hasPrefix("nabla: \(checkpoint.path): write failed"), failed.stderr)
        XCTAssertTrue(failed.stderr.contains("write failed (File too large); the previous file is unchanged"), failed.stderr)

        // The previous checkpoint is byte-for-byte intact, no temporary file is left behind, and it resumes.
        XCTAssertEqual(try Data(contentsOf: checkpoint), before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: checkpointDirectory.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
        XCTAssertEqual(try Checkpoint.read(from: checkpoint).progress.epoch, 1)
        let resumed = try CLI.run(training + ["--epochs", "2", "--checkpoint-dir", checkpointDirectory.path, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)

        // ...and reaches exactly the weights of an uninterrupted two-epoch run.
        let reference = directory.appendingPathComponent("reference")
        XCTAssertEqual(try CLI.run(training + ["--epochs", "2", "--checkpoint-dir", reference.path]).status, 0)
        XCTAssertEqual(try SafeTensorsFile.read(from: checkpointDirectory.appendingPathComponent("model.safetensors")),
                       try SafeTensorsFile.read(from: reference.appendingPathComponent("model.safetensors")))
    }

    func testACheckpointDirectoryInsideARegularFileIsOneClearError() throws {
        let blocker = directory.appendingPathComponent("not-a-directory")
        try Data("x".utf8).write(to: blocker)
        let target = blocker.appendingPathComponent("run")
        let r = try CLI.run(training + ["--epochs", "1", "--checkpoint-dir", target.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr, "nabla: \(target.path): cannot create the checkpoint directory (Not a directory)\n")
        XCTAssertEqual(try Data(contentsOf: blocker), Data("x".utf8), "the blocking file was touched")
    }
}
