import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// What `nabla train` writes says what it is: the final line names its weights, logs never mix two
/// runs, per-step scalars are there when asked for, the default learning rate is the command
/// line's, and a folder of PNG images trains, evaluates and predicts like any dataset.
final class TrainOutputCLITests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-output-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func contents(_ name: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(name))) ?? []).sorted()
    }

    /// A second run into the same `--logdir` logs into `run-2`; `--overwrite` replaces the first
    /// run's logs; a resumed run continues its own; `--log-every` adds a `.steps` event file.
    func testLogDirectoriesNeverMixRuns() throws {
        let common = ["train", "--model", "fcnet:8", "--data", "synthetic:spirals?n=20", "--epochs", "2", "--batch-size", "20", "--quiet"]
        XCTAssertEqual(try CLI.run(common + ["--logdir", path("logs")]).status, 0)
        let second = try CLI.run(common + ["--logdir", path("logs"), "--log-every", "1"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(contents("logs").contains("run-2"))
        XCTAssertEqual(contents("logs/run-2").filter { $0.hasSuffix(".steps") }.count, 1)
        XCTAssertEqual(try String(contentsOfFile: path("logs/metrics.csv"), encoding: .utf8).split(separator: "\n").count, 3, "header + 2 epochs")
        XCTAssertEqual(try String(contentsOfFile: path("logs/run-2/metrics.csv"), encoding: .utf8).split(separator: "\n").count, 3)
        // Not quiet: a line says where the logs went.
        let loud = try CLI.run(Array(common.dropLast()) + ["--logdir", path("logs")])
        XCTAssertTrue(loud.stderr.contains("holds another run's logs; this run logs to"), loud.stderr)
        XCTAssertTrue(contents("logs").contains("run-3"))

        let overwrite = try CLI.run(common + ["--logdir", path("logs"), "--overwrite"])
        XCTAssertEqual(overwrite.status, 0, overwrite.stderr)
        XCTAssertEqual(contents("logs").filter { $0.contains("tfevents") && !$0.hasSuffix(".hparams") }.count, 1, "the old event file is gone")
        XCTAssertEqual(contents("logs").filter { $0.hasSuffix(".hparams") }.count, 1, "the run's hyper-parameters, once")
        XCTAssertFalse(contents("logs").contains("run-4"))

        // A run stopped after one epoch and resumed continues its own logs (in run-4 here).
        let resumable = common.map { $0 == "2" ? "1" : $0 } + ["--logdir", path("logs"), "--checkpoint-dir", path("ckpt")]
        XCTAssertEqual(try CLI.run(resumable).status, 0)
        let resumed = try CLI.run(common + ["--logdir", path("logs"), "--checkpoint-dir", path("ckpt"), "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertFalse(contents("logs").contains("run-5"))
        XCTAssertEqual(try String(contentsOfFile: path("logs/run-4/metrics.csv"), encoding: .utf8).split(separator: "\n").count, 3)
    }

    /// `weights=` says which weights the final line measured: the last epoch's, the step budget's,
    /// or the best epoch's that early stopping restored.
    func testTheFinalLineNamesItsWeights() throws {
        func weights(_ extra: [String]) throws -> String? {
            let model = extra.contains("--model") ? [] : ["--model", "fcnet:8"]
            let r = try CLI.run(["train", "--data", "synthetic:spirals?n=20", "--batch-size", "20", "--quiet"] + model + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            return r.stdout.split(separator: "\t").last.map { String($0.dropLast()) }
        }
        XCTAssertEqual(try weights(["--epochs", "2"]), "weights=epoch:2")
        // 60 samples in batches of 20: 3 steps end epoch 1, a 4th stops inside epoch 2.
        XCTAssertEqual(try weights(["--steps", "3"]), "weights=epoch:1")
        XCTAssertEqual(try weights(["--steps", "4"]), "weights=step:4")
        // Overfitting 30 samples: the validation loss stops improving, and early stopping restores the best epoch.
        let best = try XCTUnwrap(try weights(["--model", "fcnet:64", "--optimizer", "adam", "--lr", "0.05", "--epochs", "100",
                                              "--val-split", "0.5", "--early-stop", "1"]))
        XCTAssertTrue(best.hasPrefix("weights=best:epoch:"), best)
    }

    /// Without `--lr`, `nabla train` uses its own default for the optimizer (0.1 for SGD), while a
    /// plan file keeps the library's (torch.optim's) defaults.
    func testTheCommandLineDefaultLearningRate() throws {
        for (optimizer, rate) in [("sgd", 0.1), ("adam", 0.001), ("rmsprop", 0.001), ("adagrad", 0.01), ("adamw", 0.001)] {
            let r = try CLI.run(["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--optimizer", optimizer, "--print-plan"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let plan = try TrainingPlan(json: Data(r.stdout.utf8), source: "stdout")
            XCTAssertEqual(plan.optimizer.learningRate, rate, optimizer)
        }
        let library = TrainingPlan(model: .init(name: "fcnet:8"), data: .init(spec: "synthetic:spirals"))
        XCTAssertEqual(library.optimizer.effectiveLearningRate, 0.001, "SGD's torch.optim default")
    }

    /// A folder of PNG images in class folders trains, evaluates and predicts end to end, with the
    /// folder names as class names.
    func testAnImageFolderTrainsEvaluatesAndPredicts() throws {
        // Two classes a network tells apart: bright squares in the top-left or the bottom-right corner.
        for split in ["train", "test"] {
            for (label, name) in ["left", "right"].enumerated() {
                for i in 0..<(split == "train" ? 12 : 4) {
                    var pixels = [UInt8](repeating: UInt8(10 + i), count: 12 * 12)
                    for y in 0..<5 { for x in 0..<5 { pixels[(label == 0 ? y : 7 + y) * 12 + (label == 0 ? x : 7 + x)] = 250 } }
                    let url = directory.appendingPathComponent("shapes/\(split)/\(name)/\(i).png")
                    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Data(try PNGImage(width: 12, height: 12, channels: 1, pixels: pixels).encoded()).write(to: url)
                }
            }
        }
        let train = try CLI.run(["train", "--model", "lenet", "--data", "images:" + path("shapes"), "--epochs", "20", "--batch-size", "8",
                                 "--optimizer", "adam", "--quiet", "--save", path("shapes.safetensors")])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.contains("test_accuracy=1.0000"), train.stdout)
        let evaluate = try CLI.run(["evaluate", "--weights", path("shapes.safetensors"), "--data", "images:" + path("shapes")])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        XCTAssertTrue(evaluate.stdout.hasSuffix("accuracy=1.0000\n"), evaluate.stdout)
        let predict = try CLI.run(["predict", "--weights", path("shapes.safetensors"), "--input", path("shapes/test")])
        XCTAssertEqual(predict.status, 0, predict.stderr)
        let lines = predict.stdout.split(separator: "\n")
        XCTAssertEqual(lines.first, "sample,label,class")
        XCTAssertEqual(lines.count, 9)
        XCTAssertTrue(lines.contains("left/0.png,0,left") && lines.contains("right/3.png,1,right"), predict.stdout)
    }
}
