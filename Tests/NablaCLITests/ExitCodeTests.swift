import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// The exit statuses the README promises, walked over every subcommand and flag family: 0 for
/// success and for `--help`/`--version`/completion scripts, 2 for every usage error (a bad flag or
/// value, an unknown model, dataset, schedule or augmentation, a flag that does not apply), 1 for
/// runtime failures (unreadable files, a model that does not fit the data, a diverged run), and
/// 130/143 when interrupted by SIGINT/SIGTERM — always with one line on standard error for a failure.
final class ExitCodeTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-exit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Runs each case and checks its status and, for failures, the one line naming the problem.
    func check(_ cases: [(arguments: [String], status: Int32, fragment: String)], file: StaticString = #filePath, line: UInt = #line) throws {
        for c in cases {
            let r = try CLI.run(c.arguments)
            XCTAssertEqual(r.status, c.status, "\(c.arguments): \(r.stderr)", file: file, line: line)
            if c.status != 0 {
                XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(c.arguments): \(r.stderr)", file: file, line: line)
                XCTAssertTrue(r.stderr.hasPrefix("nabla: "), "\(c.arguments): \(r.stderr)", file: file, line: line)
            }
            XCTAssertTrue((c.status == 0 ? r.stdout : r.stderr).contains(c.fragment),
                          "\(c.arguments): expected '\(c.fragment)' in \(c.status == 0 ? r.stdout : r.stderr)", file: file, line: line)
        }
    }

    func testHelpVersionAndCompletionsExitZero() throws {
        var cases: [([String], Int32, String)] = [
            (["--version"], 0, NablaVersion.current), (["--help"], 0, "USAGE: nabla"),
            (["--generate-completion-script", "bash"], 0, "_nabla"), (["--generate-completion-script", "zsh"], 0, "#compdef nabla"),
            (["--generate-completion-script", "fish"], 0, "complete -c 'nabla'"),
        ]
        for command in [["train"], ["evaluate"], ["predict"], ["study"], ["study", "regularization"], ["study", "optimizers"],
                        ["study", "search"], ["summary"], ["gradcheck"], ["bench"]] {
            cases.append((command + ["--help"], 0, "USAGE: nabla \(command.joined(separator: " "))"))
        }
        try check(cases)
        let bench = try CLI.run(["bench", "mlp", "--steps", "1", "--warmup", "0", "--batch-size", "2"])
        XCTAssertTrue(bench.stdout.contains("nabla_version=\(NablaVersion.current)\n"), bench.stdout)
    }

    /// Usage errors of every flag family, found before any data is read: status 2.
    func testUsageErrorsExitTwo() throws {
        let train = ["train", "--model", "fcnet:8", "--data", "synthetic:spirals"]
        try check([
            // The command line itself.
            (["frobnicate"], 2, "frobnicate"), (train + ["--bogus"], 2, "--bogus"), (["train", "--data", "synthetic:spirals"], 2, "--model"),
            (["train", "--model", "fcnet:8"], 2, "--data"), (train + ["--epochs", "x"], 2, "epochs"),
            // Model, data, architecture.
            (["train", "--model", "resnet50", "--data", "synthetic:spirals"], 2, "--model resnet50: not a built-in model"),
            (["train", "--model", "fcnet:0", "--data", "synthetic:spirals"], 2, "fcnet needs positive hidden widths"),
            (["train", "--model", "fcnet:8", "--data", "foo:bar"], 2, "--data 'foo:bar': unknown dataset"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:nothing"], 2, "synthetic:nothing"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals?n=x"], 2, "n"),
            (["train", "--model", "fcnet:8", "--data", "mnist:"], 2, "mnist needs a directory"),
            (train + ["--target", "2"], 2, "--target 2: only"), (train + ["--val-split", "1"], 2, "--val-split 1.0"),
            (train + ["--norm", "groupnorm"], 2, "--norm groupnorm"), (train + ["--dropout", "1.5"], 2, "--dropout 1.5"),
            (train + ["--dropout-mode", "sideways"], 2, "--dropout-mode sideways"), (train + ["--weight-init", "zeros"], 2, "--weight-init zeros"),
            // Optimizer, schedule, loss, penalties, clipping.
            (train + ["--optimizer", "lbfgs"], 2, "--optimizer lbfgs"), (train + ["--lr", "nan"], 2, "--lr nan is not a finite number"),
            (train + ["--lr=-1"], 2, "Invalid learning rate: -1"), (train + ["--betas", "0.9"], 2, "--betas 0.9"),
            (train + ["--schedule", "cosine:x"], 2, "--schedule cosine:x"), (train + ["--schedule", "zigzag:3"], 2, "zigzag"),
            (train + ["--loss", "kl"], 2, "--loss kl"), (train + ["--label-smoothing", "2"], 2, "--label-smoothing 2"),
            (train + ["--l1", "1", "--l2", "1"], 2, "exclusive"), (train + ["--elastic", "x,1"], 2, "elastic"),
            (train + ["--clip-norm", "0"], 2, "--clip-norm"), (train + ["--max-norm=-1"], 2, "--max-norm"),
            // Augmentation, test-time augmentation.
            (train + ["--augment", "spin"], 2, "spin"), (train + ["--augment", "crop:x"], 2, "crop"), (train + ["--tta", "five-crop"], 2, "--tta five-crop"),
            // Budget, checkpoints, logs, plans, threads.
            (train + ["--epochs", "0"], 2, "--epochs 0"), (train + ["--steps", "0"], 2, "--steps 0"), (train + ["--batch-size", "0"], 2, "--batch-size 0"),
            (train + ["--early-stop", "0"], 2, "--early-stop 0"), (train + ["--resume"], 2, "--resume needs --checkpoint-dir"),
            (train + ["--log-every", "0", "--logdir", path("l")], 2, "--log-every 0"), (train + ["--threads", "0"], 2, "--threads 0"),
            (["train", "--plan", path("p.json"), "--epochs", "3"], 2, "--plan FILE takes the whole run from the file"),
            // The other commands.
            (["evaluate", "--weights", "w.safetensors", "--data", "foo:bar"], 2, "unknown dataset"),
            (["evaluate", "--weights", "w.safetensors", "--data", "synthetic:spirals", "--loss", "kl"], 2, "--loss kl"),
            (["evaluate", "--weights", "w.safetensors", "--data", "synthetic:spirals", "--model", "resnet50"], 2, "resnet50"),
            (["evaluate", "--weights", "w.safetensors"], 2, "--data"),
            (["predict", "--weights", "w.safetensors", "--input", "x.csv", "--output", "y.txt"], 2, "--output y.txt"),
            (["predict", "--weights", "w.safetensors", "--input", "x.csv", "--top-k", "0"], 2, "--top-k 0"),
            (["summary", "resnet50"], 2, "resnet50"), (["summary", "lenet", "--input-shape", "1,x"], 2, "--input-shape 1,x"),
            (["summary", "lenet", "--classes", "0"], 2, "--classes 0"),
            (["gradcheck", "--filter", "no-such-op"], 2, "no gradient-check case matches"), (["gradcheck", "--threshold", "0"], 2, "--threshold"),
            (["bench", "alexnet"], 2, "alexnet"), (["bench", "--steps", "0"], 2, "--steps 0"),
            (["study", "regularization", "--quick", "--full"], 2, "exclusive"), (["study", "regularization", "--data", "foo:bar"], 2, "unknown dataset"),
            (["study", "regularization", "--regime", "nope"], 2, "--regime nope"), (["study", "regularization", "--grid", "huge"], 2, "--grid huge"), (["study", "regularization", "--variants", "nope"], 2, "nope"),
            (["study", "optimizers", "--path-steps", "0"], 2, "--path-steps 0"), (["study", "search", "--trials", "0"], 2, "--trials 0"),
        ])
    }

    /// A flag that would be ignored is a usage error naming what it applies to.
    func testFlagsThatWouldBeIgnoredAreRejected() throws {
        let spirals = ["--data", "synthetic:spirals"]
        try check([
            (["train", "--model", "lenet-bn", "--dropout", "0.5"] + spirals, 2,
             "--dropout applies to fcnet:H1,H2,… and line-mlp models (mlp and convnet have a fixed Dropout 0.5), not to --model lenet-bn"),
            (["train", "--model", "lenet", "--norm", "batchnorm"] + spirals, 2, "--norm applies to fcnet:H1,H2,… models"),
            (["train", "--model", path("m.yaml"), "--norm", "batchnorm"] + spirals, 2, "not to a model file"),
            (["train", "--model", "lenet-bn", "--dropout-mode", "vanilla"] + spirals, 2, "--dropout-mode applies to models with Dropout layers; --model lenet-bn has none"),
            (["train", "--model", "fcnet:8", "--dropout-mode", "vanilla"] + spirals, 2, "has none without --dropout P"),
            (["train", "--model", "fcnet:8", "--epochs", "2", "--steps", "5"] + spirals, 2, "--epochs and --steps are exclusive"),
            (["train", "--model", "fcnet:8", "--checkpoint-every", "5"] + spirals, 2, "--checkpoint-every applies to --checkpoint-dir"),
            (["train", "--model", "fcnet:8", "--log-every", "5"] + spirals, 2, "--log-every applies to --logdir"),
            (["train", "--model", "fcnet:8", "--overwrite"] + spirals, 2, "--overwrite applies to --logdir"),
            (["train", "--model", "fcnet:8", "--no-histograms"] + spirals, 2, "--no-histograms applies to --logdir"),
            (["train", "--model", "fcnet:8", "--decay-weights-only"] + spirals, 2, "--decay-weights-only applies to a weight decay, and sgd's is 0"),
            (["train", "--model", "fcnet:8", "--momentum", "0.9", "--optimizer", "adam"] + spirals, 2, "--momentum does not apply to --optimizer adam"),
            (["train", "--model", "fcnet:8", "--label-smoothing", "0.1", "--loss", "hinge"] + spirals, 2, "--label-smoothing applies to the cross-entropy loss only"),
            (["evaluate", "--weights", "w.safetensors", "--data", "fashion-mnist", "--seed", "3"], 2, "--seed applies to generated data"),
            (["predict", "--weights", "w.safetensors", "--input", "x.npy", "--target", "y"], 2, "--target applies to a .csv input"),
            (["predict", "--weights", "w.safetensors", "--input", "x.csv", "--output", "y.npy", "--probs", "--top-k", "2"], 2, "holds one array"),
            (["summary", "--list", "lenet"], 2, "--list"), (["summary", "lenet", "--dropout", "0.5"], 2, "--dropout applies to"),
            (["summary", "--input-shape", "1,28,28"], 2, "name the model"),
            (["train", "--model", "fcnet:8", "--tta", "ten-crop", "--data", "synthetic:line", "--loss", "mse"], 1, "--tta applies to labelled images [C, H, W] with a test split"),
        ])
    }

    /// Runtime failures: status 1.
    func testRuntimeFailuresExitOne() throws {
        try "layers:\n  - Linear: {in_features: 3, out_features: 2}\n".write(toFile: path("bad.yaml"), atomically: true, encoding: .utf8)
        try "layers: [".write(toFile: path("broken.yaml"), atomically: true, encoding: .utf8)
        try Data([1, 2, 3]).write(to: directory.appendingPathComponent("trunc.safetensors"))
        try Data("{\"model\": {}}".utf8).write(to: directory.appendingPathComponent("plan.json"))
        let train = ["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--quiet"]
        try check([
            (["train", "--model", "fcnet:8", "--data", path("missing.csv")], 1, "missing.csv: no such file"),
            (["train", "--model", "fcnet:8", "--data", "mnist:" + path("nowhere")], 1, "nowhere"),
            (["train", "--model", "fcnet:8", "--data", "images:" + path("nowhere")], 1, "nowhere: no such directory"),
            (["train", "--model", path("missing.yaml"), "--data", "synthetic:spirals"], 1, "missing.yaml"),
            (["train", "--model", path("broken.yaml"), "--data", "synthetic:spirals"], 1, "broken.yaml"),
            (["train", "--model", path("bad.yaml"), "--data", "synthetic:spirals"], 1, "layer 0 (Linear): expects inputs whose last axis has 3 features"),
            (["train", "--model", "lenet", "--data", "synthetic:spirals"], 1, "model 'lenet' needs image inputs"),
            (train + ["--loss", "mse"], 1, "needs real-valued targets"),
            (train + ["--init", path("trunc.safetensors")], 1, "not a valid safetensors file"),
            (train + ["--lr", "1e30", "--epochs", "3"], 1, "lower the learning rate (--lr) or clip gradients (--clip-norm 1)"),
            (train + ["--lr", "100", "--epochs", "5"], 1, "diverged"),
            (train + ["--lr", "100", "--epochs", "5", "--allow-divergence"], 0, "final\t"),
            (["train", "--plan", path("plan.json")], 1, "not a training plan"), (["train", "--plan", path("none.json")], 1, "cannot read"),
            (["evaluate", "--weights", path("missing.safetensors"), "--data", "synthetic:spirals"], 1, "no such file"),
            (["evaluate", "--weights", path("trunc.safetensors"), "--data", "synthetic:spirals"], 1, "not a valid safetensors file"),
            (["predict", "--weights", path("trunc.safetensors"), "--input", path("x.csv")], 1, "not a valid safetensors file"),
            (["summary", path("missing.yaml")], 1, "missing.yaml"),
            (["study", "regularization", "--data", "mnist:" + path("nowhere"), "--quick"], 1, "nowhere"),
        ])
    }

    /// SIGINT and SIGTERM end a run with 130 and 143 (the interrupted-run handling of issue #17);
    /// skipped with a notice while the signals still end the process by default.
    func testSignalsExit130And143() throws {
        for (signal, status) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = ["train", "--model", "fcnet:64,64", "--data", "synthetic:spirals?n=3000", "--epochs", "50",
                                 "--batch-size", "8", "--quiet", "--checkpoint-dir", path("sig\(signal)")]
            process.standardOutput = FileHandle.nullDevice
            let err = Pipe()
            process.standardError = err
            let drain = CLI.Drain(err)
            try process.run()
            let checkpoint = path("sig\(signal)/checkpoint.safetensors")
            let deadline = Date().addingTimeInterval(60)
            while !FileManager.default.fileExists(atPath: checkpoint) && process.isRunning && Date() < deadline { usleep(5_000) }
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal {
                throw XCTSkip("NOTICE: signal \(signal) still ends nabla train by default (no handler yet); expected exit \(status) once it has one")
            }
            XCTAssertEqual(process.terminationStatus, status, drain.text)
        }
    }
}
