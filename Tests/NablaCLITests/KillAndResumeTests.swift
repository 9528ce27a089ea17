import Foundation
import XCTest
@testable import NablaIO
@testable import NablaTraining
import NablaTestSupport

/// A run killed by SIGKILL at each named instant (`NABLA_KILL_AT`, see `KillPoint`) — inside a
/// step, between an epoch's last step checkpoint and its end-of-epoch work, inside evaluation,
/// inside the atomic write of each file, inside each log append — resumes with `--resume` to
/// weights bitwise equal to an uninterrupted run's, with each epoch once in the metric files, each
/// step once in TensorBoard, and no temporary file left. `Scripts/soak.sh` does the same at random
/// instants.
final class KillAndResumeTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    /// Shuffling, dropout, batch norm, Adam, a step schedule, early stopping on a validation split,
    /// step checkpoints every 3 of the 8 steps per epoch (so one lands on an epoch's last step).
    let training = ["train", "--model", "fcnet:16,16", "--norm", "batchnorm", "--dropout", "0.2", "--data", "synthetic:spirals?n=60",
                    "--batch-size", "18", "--optimizer", "adam", "--lr", "0.01", "--epochs", "3", "--seed", "4",
                    "--schedule", "step:1:0.7", "--val-split", "0.2", "--early-stop", "5", "--checkpoint-every", "3", "--quiet"]

    func run(_ name: String, environment: [String: String] = [:], resume: Bool = false) throws -> CLI.Result {
        let run = directory.appendingPathComponent(name)
        return try CLI.run(training + ["--checkpoint-dir", run.path, "--logdir", run.appendingPathComponent("log").path]
                           + (resume ? ["--resume"] : []), environment: environment)
    }

    func testAKillAtAnyNamedInstantResumesToTheUninterruptedRun() throws {
        let reference = try run("reference")
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let points = ["step:1", "step:8", "step:13", "epoch-end:1", "epoch-end:2", "evaluation:1", "evaluation:4",
                      "write:checkpoint.safetensors:1", "write:checkpoint.safetensors:3", "write:model.safetensors:4",
                      "write:best.safetensors:1", "write:metrics.csv:1", "append:metrics.csv:2", "append:metrics.jsonl:3",
                      "append:events:2", "append:events:4"]
        for point in points {
            let name = point.replacingOccurrences(of: ":", with: "-")
            let killed = try run(name, environment: ["NABLA_KILL_AT": point])
            XCTAssertTrue(killed.signaled && killed.status == SIGKILL, "\(point): the run was not killed (\(killed.status)): \(killed.stderr)")
            let resumed = try run(name, resume: true)
            XCTAssertEqual(resumed.status, 0, "\(point): \(resumed.stderr)")
            XCTAssertEqual(resumed.stdout.replacingOccurrences(of: #"\tseconds=.*"#, with: "", options: .regularExpression),
                           reference.stdout.replacingOccurrences(of: #"\tseconds=.*"#, with: "", options: .regularExpression), point)
            try assertSameRun(name, as: "reference", point)
        }
    }

    /// Several kills in a row, each resumed, still end at the uninterrupted weights.
    func testRepeatedKillsResumeExactly() throws {
        XCTAssertEqual(try run("reference").status, 0)
        for point in ["step:2", "epoch-end:1", "step:3", "evaluation:2", "write:checkpoint.safetensors:2"] {
            let killed = try run("repeated", environment: ["NABLA_KILL_AT": point], resume: true)
            XCTAssertTrue(killed.signaled, "\(point): \(killed.stderr)")
        }
        XCTAssertEqual(try run("repeated", resume: true).status, 0)
        try assertSameRun("repeated", as: "reference", "five kills")
    }

    /// With `--accumulate 3` a step takes three batches and checkpoints fall between groups: kills
    /// inside a group, at a step checkpoint and in the epoch-end window resume to the same weights
    /// (the checkpoint's `globalStep` counts steps, `stepInEpoch` batches, and both are checked).
    func testKillsUnderGradientAccumulationResumeExactly() throws {
        let accumulated = ["train", "--model", "fcnet:16", "--dropout", "0.2", "--data", "synthetic:spirals?n=40", "--batch-size", "16",
                           "--accumulate", "3", "--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.05", "--epochs", "2", "--seed", "9",
                           "--checkpoint-every", "2", "--quiet", "--checkpoint-dir"]
        let reference = directory.appendingPathComponent("acc-reference")
        XCTAssertEqual(try CLI.run(accumulated + [reference.path]).status, 0)
        for point in ["step:2", "step:5", "write:checkpoint.safetensors:1", "epoch-end:1", "step:11"] {
            let run = directory.appendingPathComponent("acc-" + point.replacingOccurrences(of: ":", with: "-"))
            let killed = try CLI.run(accumulated + [run.path], environment: ["NABLA_KILL_AT": point])
            XCTAssertTrue(killed.signaled, "\(point): \(killed.stderr)")
            let resumed = try CLI.run(accumulated + [run.path, "--resume"])
            XCTAssertEqual(resumed.status, 0, "\(point): \(resumed.stderr)")
            XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent("model.safetensors")),
                           try Data(contentsOf: reference.appendingPathComponent("model.safetensors")), point)
        }
    }

    /// `checkpoint.safetensors` and `model.safetensors` are replaced one after the other: a kill
    /// between the two renames of the last epoch leaves a finished checkpoint beside the previous
    /// epoch's weights. `--resume` has nothing left to train and rewrites the weights from the
    /// checkpoint; a resume of an agreeing pair leaves the file alone.
    func testAKillBetweenThePairOfFilesIsRepairedByResume() throws {
        let simple = ["train", "--model", "fcnet:16", "--data", "synthetic:spirals?n=48", "--batch-size", "16", "--epochs", "2",
                      "--seed", "1", "--quiet", "--checkpoint-dir"]
        let reference = directory.appendingPathComponent("pair-reference"), run = directory.appendingPathComponent("pair")
        XCTAssertEqual(try CLI.run(simple + [reference.path]).status, 0)
        let killed = try CLI.run(simple + [run.path], environment: ["NABLA_KILL_AT": "write:model.safetensors:2"])
        XCTAssertTrue(killed.signaled, killed.stderr)
        let weights = run.appendingPathComponent("model.safetensors"), expected = try Data(contentsOf: reference.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(try Checkpoint.read(from: run.appendingPathComponent("checkpoint.safetensors")).progress.epoch, 2)
        XCTAssertNotEqual(try Data(contentsOf: weights), expected, "the kill left epoch 1's weights")
        let resumed = try CLI.run(simple + [run.path, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try Data(contentsOf: weights), expected)
        let written = try FileManager.default.attributesOfItem(atPath: weights.path)[.modificationDate] as? Date
        usleep(20_000)
        XCTAssertEqual(try CLI.run(simple + [run.path, "--resume"]).status, 0)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: weights.path)[.modificationDate] as? Date, written, "rewritten needlessly")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.contains(".tmp-") }, [])
    }

    func assertSameRun(_ name: String, as referenceName: String, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let run = directory.appendingPathComponent(name), reference = directory.appendingPathComponent(referenceName)
        XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent("model.safetensors")),
                       try Data(contentsOf: reference.appendingPathComponent("model.safetensors")), "\(label): weights differ", file: file, line: line)
        XCTAssertEqual(try Checkpoint.read(from: run.appendingPathComponent("checkpoint.safetensors")).model,
                       try Checkpoint.read(from: reference.appendingPathComponent("checkpoint.safetensors")).model, label, file: file, line: line)
        for metrics in ["metrics.csv", "metrics.jsonl"] {
            XCTAssertEqual(try rowsWithoutSeconds(run.appendingPathComponent("log/" + metrics)),
                           try rowsWithoutSeconds(reference.appendingPathComponent("log/" + metrics)), "\(label): \(metrics)", file: file, line: line)
        }
        XCTAssertEqual(try eventSteps(run.appendingPathComponent("log")), try eventSteps(reference.appendingPathComponent("log")),
                       "\(label): TensorBoard steps", file: file, line: line)
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: run.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "\(label): temporary files left", file: file, line: line)
        if let python = ProcessInfo.processInfo.environment["NABLA_PYTHON"], FileManager.default.isExecutableFile(atPath: python) {
            let check = Process()
            check.executableURL = URL(fileURLWithPath: python)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("Scripts/check_tensorboard.py")
            check.arguments = [script.path, run.appendingPathComponent("log").path]
            check.standardOutput = FileHandle.nullDevice
            check.standardError = FileHandle.nullDevice
            try check.run()
            check.waitUntilExit()
            XCTAssertTrue(check.terminationStatus == 0 || check.terminationStatus == 2, "\(label): tensorboard cannot read the logs", file: file, line: line)
        }
    }

    /// The metric rows with their wall-clock `seconds` removed.
    func rowsWithoutSeconds(_ url: URL) throws -> [String] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            $0.replacingOccurrences(of: #"(,|"seconds": )[0-9.e+-]+\}?$"#, with: "", options: .regularExpression)
        }
    }

    /// Every summary's step, per event file concatenated in name order: each must appear once.
    func eventSteps(_ log: URL) throws -> [Int64] {
        var steps: [Int64] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: log.path).sorted() where name.contains("tfevents") {
            let records = try TFRecord.records(contentsOf: log.appendingPathComponent(name))
            for record in records { if let step = TensorBoardLogTrimmer.summaryStep(of: record) { steps.append(step) } }
        }
        return steps
    }
}
