import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaTraining
import NablaTestSupport

/// SIGINT and SIGTERM stop a run cleanly and say how to resume it; a second signal ends it at once;
/// a locked directory turns a second run away; closed and full output streams never crash a run
/// or corrupt its logs, and a result that could not be written is a failure.
final class InterruptAndLockTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-interrupt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    /// 8 steps per epoch, dropout and momentum: a resume has state to get right.
    let training = ["train", "--model", "fcnet:16", "--dropout", "0.2", "--data", "synthetic:spirals?n=48", "--batch-size", "18",
                    "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9", "--epochs", "3", "--seed", "2"]

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// The signal arrives inside step 5 (raised there by `NABLA_KILL_SIGNAL`); the step finishes,
    /// the checkpoint is written, the line says where and how to resume, and resuming is exact.
    func testSIGINTAndSIGTERMCheckpointSayHowToResumeAndResumeExactly() throws {
        let reference = try CLI.run(training + ["--quiet", "--checkpoint-dir", path("reference")])
        XCTAssertEqual(reference.status, 0, reference.stderr)
        for (signal, status) in [("INT", Int32(130)), ("TERM", Int32(143))] {
            let run = path("run-\(signal)")
            let arguments = training + ["--quiet", "--checkpoint-dir", run, "--logdir", run + "/log"]
            let stopped = try CLI.run(arguments, environment: ["NABLA_KILL_AT": "step:13", "NABLA_KILL_SIGNAL": signal])
            XCTAssertFalse(stopped.signaled)
            XCTAssertEqual(stopped.status, status, stopped.stderr)
            XCTAssertEqual(stopped.stdout, "", "no final line for an interrupted run")
            let expected = "nabla: interrupted by SIG\(signal) at epoch 2, step 5 of 8; checkpoint saved to \(run)/checkpoint.safetensors; resume with: "
            XCTAssertTrue(stopped.stderr.hasPrefix(expected), stopped.stderr)
            XCTAssertEqual(stopped.stderr.split(separator: "\n").count, 1, stopped.stderr)
            XCTAssertTrue(stopped.stderr.hasSuffix(" --logdir \(run)/log --resume\n"), stopped.stderr)
            let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: run + "/checkpoint.safetensors"))
            XCTAssertEqual(checkpoint.progress.globalStep, 13)
            let rows = try String(contentsOfFile: run + "/log/metrics.csv", encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(rows.count, 2, "epoch 1's row is flushed")

            let resumed = try CLI.run(arguments + ["--resume"])
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: run + "/model.safetensors")),
                           try Data(contentsOf: URL(fileURLWithPath: path("reference") + "/model.safetensors")), "SIG\(signal)")
        }
        // Without a checkpoint directory the line says nothing was saved.
        let unsaved = try CLI.run(training + ["--quiet"], environment: ["NABLA_KILL_AT": "step:3", "NABLA_KILL_SIGNAL": "INT"])
        XCTAssertEqual(unsaved.status, 130)
        XCTAssertEqual(unsaved.stderr, "nabla: interrupted by SIGINT at epoch 1, step 3 of 8; nothing was saved (no --checkpoint-dir), so the run cannot be resumed\n")
    }

    /// A second signal does not wait for the step: the process ends at once with 128 + its number.
    /// (Two SIGINTs sent to a stopped process would merge into one pending signal, so the run, frozen
    /// by SIGSTOP inside step 2, gets SIGINT and SIGTERM; both are delivered when it continues. Linux
    /// sets up both handlers' frames before returning to the process, so the one set up last — which
    /// one is the kernel's choice — runs first: the status is 128 + either number.)
    func testASecondSignalExitsAtOnce() throws {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = training + ["--epochs", "1000", "--quiet", "--checkpoint-dir", path("twice")]
        process.environment = ProcessInfo.processInfo.environment.merging(["NABLA_KILL_AT": "step:2", "NABLA_KILL_SIGNAL": "STOP"]) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = CLI.Drain(err)
        try waitUntilStopped(process.processIdentifier)
        kill(process.processIdentifier, SIGINT)
        kill(process.processIdentifier, SIGTERM)
        kill(process.processIdentifier, SIGCONT)
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertTrue([130, 143].contains(process.terminationStatus), "status \(process.terminationStatus)")
        XCTAssertEqual(stderr.text, "", "the second signal does not wait for the checkpoint or the line")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("twice") + "/checkpoint.safetensors"), "no checkpoint was taken")
    }

    /// A run frozen while it holds its directories turns a second run away at once, naming its
    /// process; once it is gone, the directory is free again (the kernel drops a dead holder's lock).
    func testALockedDirectoryNamesTheRunThatHoldsIt() throws {
        for (flag, purpose) in [("--checkpoint-dir", "checkpoint directory"), ("--logdir", "log directory")] {
            let shared = path("shared-\(purpose.split(separator: " ")[0])")
            let holder = Process()
            holder.executableURL = CLI.executable
            holder.arguments = training + ["--quiet", flag, shared]
            holder.environment = ProcessInfo.processInfo.environment.merging(["NABLA_KILL_AT": "step:2", "NABLA_KILL_SIGNAL": "STOP"]) { $1 }
            holder.standardOutput = FileHandle.nullDevice
            holder.standardError = FileHandle.nullDevice
            try holder.run()
            try waitUntilStopped(holder.processIdentifier)
            let started = Date()
            let second = try CLI.run(training + ["--quiet", flag, shared])
            XCTAssertEqual(second.status, 1)
            XCTAssertEqual(second.stderr, "nabla: \(shared): the \(purpose) is in use by another nabla run (process \(holder.processIdentifier)); wait for it to finish or choose another directory\n")
            XCTAssertLessThan(Date().timeIntervalSince(started), 30)
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
            let after = try CLI.run(training + ["--quiet", flag, shared] + (flag == "--checkpoint-dir" ? ["--resume"] : []))
            XCTAssertEqual(after.status, 0, after.stderr)
        }
    }

    /// `> /dev/full`, a reader that went away, closed descriptors: the run trains and checkpoints,
    /// its logs stay readable, and the lost final line is an exit status of 1.
    func testClosedAndFullOutputStreams() throws {
        let cases: [(String, String, Int32)] = [
            ("full-stdout", ">/dev/full", 1), ("full-stderr", "2>/dev/full", 0), ("closed-pipe", "| head -c 0", 1),
            ("closed-stdout", ">&-", 1), ("closed-both", ">&- 2>&-", 1), ("closed-stderr", "2>&-", 0),
        ]
        for (name, redirection, status) in cases {
            let run = path(name)
            let words = ([CLI.executable.path] + training + ["--checkpoint-dir", run, "--logdir", run + "/log"]).map(shellQuoted)
            let script = "set -o pipefail; " + words.joined(separator: " ") + " " + redirection
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/bin/bash")
            shell.arguments = ["-c", script]
            shell.standardOutput = FileHandle.nullDevice
            shell.standardError = FileHandle.nullDevice
            try shell.run()
            shell.waitUntilExit()
            XCTAssertEqual(shell.terminationReason, .exit, name)
            XCTAssertEqual(shell.terminationStatus, status, name)
            let checkpoint = try Checkpoint.read(from: URL(fileURLWithPath: run + "/checkpoint.safetensors"))
            XCTAssertEqual(checkpoint.progress.epoch, 3, name)
            let rows = try String(contentsOfFile: run + "/log/metrics.csv", encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(rows.count, 4, name)
            XCTAssertTrue(rows.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 11 }, "\(name): \(rows)")
        }
    }

    /// `--save` and `--output` refuse what is not a regular file, before any training.
    func testSaveAndOutputRefuseNonRegularTargets() throws {
        let fifo = path("fifo")
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        for (target, kind) in [("/dev/full", "is a device"), ("/dev/null", "is a device"), (fifo, "is a FIFO"), (directory.path, "is a directory")] {
            let r = try CLI.run(training + ["--quiet", "--save", target, "--checkpoint-dir", path("never")])
            XCTAssertEqual(r.status, 1)
            XCTAssertEqual(r.stderr, "nabla: \(target): \(kind), not a regular file; refusing to replace it\n")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("never") + "/checkpoint.safetensors"), "refused before training")
        }
        XCTAssertEqual(try CLI.run(training + ["--quiet", "--epochs", "1", "--save", path("w.safetensors")]).status, 0)
        let input = path("x.safetensors")
        try SafeTensorsFile(tensors: ["x": SafeTensor(Tensor<Float>(shape: [2, 2], scalars: [0, 1, 2, 3]))]).write(to: URL(fileURLWithPath: input))
        // predict picks the format by extension: /dev/full has none (a usage error); a FIFO named .safetensors is refused.
        let device = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", input, "--output", "/dev/full"])
        XCTAssertEqual(device.status, 2)
        XCTAssertEqual(device.stderr, "nabla: --output /dev/full: expected a .csv, .json, .npy or .safetensors file\n")
        let namedFifo = path("fifo.safetensors")
        XCTAssertEqual(mkfifo(namedFifo, 0o644), 0)
        for (target, kind) in [(namedFifo, "is a FIFO")] {
            let r = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", input, "--output", target])
            XCTAssertEqual(r.status, 1)
            XCTAssertEqual(r.stderr, "nabla: \(target): \(kind), not a regular file; refusing to replace it\n")
        }
    }

    /// Waits until `pid` is stopped (state `T` in /proc), at most a minute.
    func waitUntilStopped(_ pid: Int32) throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
               let state = stat.split(separator: ")").last?.split(separator: " ").first, state == "T" { return }
            usleep(20_000)
        }
        XCTFail("process \(pid) did not stop")
    }
}
