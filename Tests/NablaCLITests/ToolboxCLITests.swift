import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import NablaTensor
@testable import NablaIO
import NablaTestSupport

/// `nabla train`'s toolbox flags and `nabla evaluate --metrics` through the real executable: which
/// weights are evaluated and saved, the files written, image mixing and policies on image data, and
/// one-line errors.
final class ToolboxCLITests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-toolbox-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// With `--ema`, the final line says `weights=ema`, `--save` writes the EMA weights (the same
    /// tensors as `ema.safetensors` in the checkpoint directory), and `model.safetensors` keeps the
    /// trained weights; evaluating the saved file gives the final line's test figures.
    func testEMAIsWhatIsEvaluatedAndSaved() throws {
        let flags = ["--model", "fcnet:16", "--norm", "batchnorm", "--data", "synthetic:spirals?n=60", "--epochs", "3",
                     "--batch-size", "30", "--optimizer", "sgd", "--lr", "0.1", "--ema", "0.8"]
        let result = try CLI.run(["train"] + flags + ["--checkpoint-dir", path("ckpt"), "--save", path("final.safetensors")])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("\tweights=ema"), result.stdout)
        XCTAssertTrue(result.stderr.contains("final metrics and --save use the averaged weights: EMA (decay 0.8) of 18 optimizer steps"), result.stderr)
        let saved = try SafeTensorsFile.read(from: URL(fileURLWithPath: path("final.safetensors")))
        let ema = try SafeTensorsFile.read(from: URL(fileURLWithPath: path("ckpt/ema.safetensors")))
        let live = try SafeTensorsFile.read(from: URL(fileURLWithPath: path("ckpt/model.safetensors")))
        XCTAssertEqual(saved.tensors, ema.tensors)
        XCTAssertNotNil(saved.tensors["1.weight"])
        XCTAssertNotEqual(saved.tensors["1.weight"], live.tensors["1.weight"], "the trained weights stay in model.safetensors")
        XCTAssertEqual(saved.tensors["2.num_batches_tracked"]?.dtype, .i64)

        let evaluated = try CLI.run(["evaluate", "--model", "fcnet:16", "--norm", "batchnorm", "--data", "synthetic:spirals?n=60",
                                     "--weights", path("final.safetensors")])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        func field(_ line: String, _ key: String) -> Double? {
            line.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix(key + "=") }.flatMap { Double($0.dropFirst(key.count + 1)) }
        }
        XCTAssertEqual(field(evaluated.stdout, "accuracy"), field(result.stdout, "test_accuracy"))
    }

    /// `--swa` with a schedule, keep-best, mixup, class weights and accumulation together: the run
    /// finishes, writes the files it names, and resuming a finished run with more epochs continues it.
    func testSWAKeepBestAndMixingTogether() throws {
        let flags = ["--model", "fcnet:16", "--norm", "batchnorm", "--data", "synthetic:spirals?n=60", "--val-split", "0.25",
                     "--batch-size", "15", "--accumulate", "2", "--optimizer", "sgd", "--lr", "0.1", "--schedule", "cosine:6",
                     "--swa", "3,0.02,2", "--keep-best", "val_loss", "--keep-top-k", "2", "--mixup", "0.3",
                     "--class-weights", "1,1.5,0.5", "--checkpoint-dir", path("run")]
        let first = try CLI.run(["train"] + flags + ["--epochs", "4"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("\tweights=swa"), first.stdout)
        XCTAssertTrue(first.stderr.contains("SWA of 2 epochs (3–4), batch-norm statistics recomputed"), first.stderr)
        XCTAssertTrue(first.stderr.contains("kept the best val_loss: epoch "), first.stderr)
        // (Hidden files aside: `.nabla.lock`, the directory lock a run leaves, see DirectoryLock.)
        let files = try FileManager.default.contentsOfDirectory(atPath: path("run")).filter { !$0.hasPrefix(".") }.sorted()
        XCTAssertEqual(files, ["best-val_loss.safetensors", "checkpoint.safetensors", "model.safetensors", "swa.safetensors", "top-val_loss"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("run/top-val_loss")).count, 2)
        let resumed = try CLI.run(["train"] + flags + ["--epochs", "6", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("SWA of 4 epochs (3–6)"), resumed.stderr)
    }

    /// Image data: CutMix and mixup with RandAugment, TrivialAugment, rotation and affine warps train.
    func testImageMixingAndPoliciesTrain() throws {
        var generator = RandomGenerator(seed: 4)
        let x = Tensor<Float>(uniform: [24, 1, 8, 8], using: &generator)
        let labels = (0..<24).map { Int64($0 % 3) }
        try SafeTensorsFile(tensors: ["x": SafeTensor(x), "y": SafeTensor(int64: labels, shape: [24])]).write(to: URL(fileURLWithPath: path("images.safetensors")))
        let result = try CLI.run(["train", "--model", "fcnet:8", "--data", path("images.safetensors"), "--epochs", "2", "--batch-size", "8",
                                  "--cutmix", "1", "--mixup", "0.2", "--augment", "randaugment:2,9,trivialaugment,rotate:10,affine:5:0.1:0.9:1.1:5",
                                  "--quiet"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("final\ttrain_loss="), result.stdout)
    }

    /// `nabla evaluate --metrics` prints the tables; `--metrics-dir` writes CSV files and an HTML report.
    func testEvaluateMetrics() throws {
        let train = try CLI.run(["train", "--model", "fcnet:16", "--data", "synthetic:spirals?n=60", "--epochs", "2", "--quiet",
                                 "--save", path("w.safetensors")])
        XCTAssertEqual(train.status, 0, train.stderr)
        let result = try CLI.run(["evaluate", "--model", "fcnet:16", "--data", "synthetic:spirals?n=60", "--weights", path("w.safetensors"),
                                  "--metrics", "--metrics-dir", path("metrics")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("loss="), "the first line is unchanged: \(lines[0])")
        for fragment in ["top-1 accuracy", "top-3 accuracy", "expected calibration error (15 bins)", "macro avg", "weighted avg",
                         "confusion matrix (rows: true class, columns: predicted class)", "true \\ predicted"] {
            XCTAssertTrue(result.stdout.contains(fragment), "missing \(fragment) in\n\(result.stdout)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: path("metrics")).sorted()
        XCTAssertEqual(files, ["confusion_matrix.csv", "per_class.csv", "report.html", "summary.csv"])
        let perClass = try String(contentsOfFile: path("metrics/per_class.csv"), encoding: .utf8)
        XCTAssertTrue(perClass.hasPrefix("class,name,precision,recall,f1,support\n0,0,"), perClass)
        let confusion = try String(contentsOfFile: path("metrics/confusion_matrix.csv"), encoding: .utf8)
        let counts = confusion.split(separator: "\n").dropFirst().flatMap { $0.split(separator: ",").dropFirst().map { Int($0)! } }
        XCTAssertEqual(counts.count, 9)
        let html = try String(contentsOfFile: path("metrics/report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Confusion matrix") && html.contains("<table>"))
        XCTAssertNoThrow(try XMLDocument(data: Data(html.utf8)), "the report is well-formed")

        let line = ["--model", "line-mlp", "--data", "synthetic:line", "--loss", "mse"]
        XCTAssertEqual(try CLI.run(["train"] + line + ["--epochs", "1", "--quiet", "--save", path("line.safetensors")]).status, 0)
        let regression = try CLI.run(["evaluate"] + line + ["--weights", path("line.safetensors"), "--metrics"])
        XCTAssertEqual(regression.status, 1)
        XCTAssertTrue(regression.stderr.contains("classification metrics need class labels"), regression.stderr)
    }

    func testBadToolboxFlagsAreOneLineUsageErrors() throws {
        let base = ["train", "--model", "fcnet:8", "--data", "synthetic:spirals?n=30", "--epochs", "2"]
        // Every one is a usage error, found before any data is read (issue #20: exit 2).
        let cases: [([String], String, Int32)] = [
            (["--ema", "2"], "--ema 2.0: the decay must lie in [0, 1]", 2),
            (["--class-weights", "1,x,2"], "--class-weights 1,x,2: expected one number per class", 2),
            (["--keep-best", "test_accuracy", "--val-split", "0.2", "--checkpoint-dir", "x"], "weights are never selected on the test set", 2),
            (["--augment", "randaugment:2,40"], "magnitude 40 is out of range [0.0, 30.0]", 2),
            (["--swa", "9"], "averaging would start after the last epoch (--epochs 2)", 2),
            (["--accumulate", "0"], "--accumulate 0 must be at least 1", 2),
            (["--mixup", "0"], "--mixup 0.0: α must be a positive number", 2),
        ]
        for (flags, message, status) in cases {
            let result = try CLI.run(base + flags)
            XCTAssertEqual(result.status, status, "\(flags): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("nabla: ") && result.stderr.contains(message), "\(flags): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        }
        let wrongCount = try CLI.run(base + ["--class-weights", "1,2"])
        XCTAssertEqual(wrongCount.status, 1)
        XCTAssertTrue(wrongCount.stderr.hasPrefix("nabla: --class-weights has 2 weights but the data has 3 classes"), wrongCount.stderr)
    }
}
