import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
@testable import NablaStudies
import NablaTestSupport

final class CLITests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func testTrainPrintsTheFinalSummaryLine() throws {
        let r = try CLI.run(["train", "--model", "fcnet:16", "--data", "synthetic:spirals", "--epochs", "2", "--quiet",
                             "--optimizer", "adam", "--lr", "0.01", "--save", path("w.safetensors")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let fields = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\t").map(String.init)
        XCTAssertEqual(fields.first, "final")
        XCTAssertEqual(fields.dropFirst().map { $0.split(separator: "=")[0] }, ["train_loss", "test_loss", "test_accuracy", "seconds", "weights"])
        XCTAssertEqual(fields.last, "weights=epoch:2")
        // The weights carry their model: --model is optional, and checked when given.
        let evaluate = try CLI.run(["evaluate", "--data", "synthetic:spirals", "--weights", path("w.safetensors")])
        let named = try CLI.run(["evaluate", "--model", "fcnet:16", "--data", "synthetic:spirals", "--weights", path("w.safetensors")])
        XCTAssertEqual(named.stdout, evaluate.stdout, named.stderr)
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        XCTAssertTrue(evaluate.stdout.hasPrefix("loss="), evaluate.stdout)
        XCTAssertTrue(evaluate.stdout.contains(" accuracy="), evaluate.stdout)
        // evaluate reproduces train's final test figures from the saved weights.
        let testLoss = fields.first { $0.hasPrefix("test_loss=") }!.dropFirst(10)
        XCTAssertTrue(evaluate.stdout.contains("loss=\(testLoss)"), "\(evaluate.stdout) vs \(testLoss)")
    }

    /// `nabla bench --kernels --layer TEXT --product P` times only the matching layers' product, each
    /// line quoting its share of the sgemm rate measured before its layer (median against median,
    /// fastest against fastest), and both options repeat; a filter that matches nothing, an
    /// unknown product, or either option without `--kernels` is one clear line and exit status 2.
    func testKernelBenchmarkFiltersLayersAndProducts() throws {
        let r = try CLI.run(["bench", "--kernels", "lenet-bn", "--layer", "6->16", "--product", "inputGradient",
                             "--steps", "1", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").filter { $0.hasPrefix("conv2d") }
        // The gemm kernels, and the auto ones where this build has SIMD kernels (one line when they are the gemm path).
        XCTAssertTrue((1...2).contains(lines.count), r.stdout)
        XCTAssertTrue(lines.allSatisfy { $0.contains("lenet-bn 6->16 14x14 k5 batch 128\tinputGradient\t") }, r.stdout)
        XCTAssertTrue(r.stdout.contains("sgemm 1024x1024x1024"), r.stdout)
        // Each share is the line's rate over the sgemm rate measured just before its layer, printed with it.
        for line in lines {
            var fields: [String: Double] = [:]
            for field in line.split(separator: "\t") {
                let parts = field.split(separator: "=")
                if parts.count == 2, let value = Double(parts[1].trimmingCharacters(in: ["%"])) { fields[String(parts[0])] = value }
            }
            let (rate, sgemm, share) = (fields["gflops"] ?? 0, fields["sgemm_gflops"] ?? 0, fields["of_sgemm"] ?? -1)
            XCTAssertGreaterThan(sgemm, 0, String(line))
            XCTAssertEqual(share, (rate / sgemm * 100).rounded(), accuracy: 1, String(line))
            // The fastest run against the fastest sgemm run: no slower than the median, at no lower a rate
            // (rounding to the printed digits keeps the order).
            let (ms, fastestMs) = (fields["ms"] ?? 0, fields["fastest_ms"] ?? .infinity)
            let (fastestSgemm, fastestShare) = (fields["fastest_sgemm_gflops"] ?? 0, fields["fastest_of_sgemm"] ?? -1)
            XCTAssertLessThanOrEqual(fastestMs, ms, String(line))
            XCTAssertGreaterThanOrEqual(fastestSgemm, sgemm, String(line))
            XCTAssertEqual(fastestShare, (rate * ms / fastestMs / fastestSgemm * 100).rounded(), accuracy: 1, String(line))
        }
        // Both options repeat: the layers matching any --layer, the products named by any --product.
        let several = try CLI.run(["bench", "--kernels", "--layer", "lenet-bn 6->16", "--layer", "convnet 3->32",
                                   "--product", "forward", "--product", "weightGradient", "--steps", "1", "--threads", "1"])
        XCTAssertEqual(several.status, 0, several.stderr)
        let timed = Set(several.stdout.split(separator: "\n").filter { $0.hasPrefix("conv2d") }.map { line in
            let fields = line.split(separator: "\t")
            return "\(fields[0].split(separator: " ")[1...2].joined(separator: " ")) \(fields[1])"
        })
        XCTAssertEqual(timed, ["lenet-bn 6->16 forward", "lenet-bn 6->16 weightGradient",
                               "convnet 3->32 forward", "convnet 3->32 weightGradient"], several.stdout)
        for (arguments, message) in [
            (["bench", "--kernels", "lenet-bn", "--layer", "3->32"], "--layer 3->32 matches no layer; the layers are: lenet-bn 1->6"),
            (["bench", "--kernels", "lenet-bn", "--layer", "1->6", "--layer", "9->9"], "--layer 9->9 matches no layer"),
            (["bench", "--kernels", "--product", "forward", "--product", "sideways"], "--product sideways: expected one of"),
            (["bench", "--kernels", "--product", "sideways"], "--product sideways: expected one of forward, inputGradient, weightGradient"),
            (["bench", "mlp", "--layer", "6->16"], "--layer selects what --kernels measures; add --kernels"),
        ] {
            let failure = try CLI.run(arguments)
            XCTAssertEqual(failure.status, 2, "\(arguments): \(failure.stderr)")
            XCTAssertTrue(failure.stderr.contains(message), "\(arguments): \(failure.stderr)")
        }
    }

    /// `nabla bench` counts each model's convolution and linear FLOPs per step: forward, weight gradient and,
    /// past the first layer, input gradient. convnet per sample: 25,528,832 multiply-adds forward, 884,736 of
    /// them in the first layer → 2·(3·25,528,832 − 884,736) = 151.4 MFLOP; resnet20: 40.81 M multiply-adds
    /// (He et al.'s 40.55 M plus the two projections' 262,144 and the Linear's 640) → 243.99 MFLOP.
    func testBenchCountsTheFLOPsOfAStep() throws {
        for (model, expected) in [("convnet", "gflop_per_step=0.151"), ("resnet20", "gflop_per_step=0.244")] {
            let r = try CLI.run(["bench", model, "--batch-size", "1", "--steps", "1", "--warmup", "0", "--threads", "1"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.hasPrefix(model + "\tbatch=1\tmedian_ms="), r.stdout)
            XCTAssertTrue(r.stdout.contains(expected), r.stdout)
        }
        let unknown = try CLI.run(["bench", "resnet56"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("resnet20"), unknown.stderr)
    }

    /// Every bad flag or input is one line on standard error and a non-zero status, never a crash.
    func testBadInputsGiveOneLineErrors() throws {
        try "layers:\n  - Linear: {in_features: 3, out_features: 2}\n".write(toFile: path("bad.yaml"), atomically: true, encoding: .utf8)
        try Data([1, 2, 3]).write(to: directory.appendingPathComponent("trunc.safetensors"))
        let cases: [([String], String)] = [
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--epochs", "0"], "--epochs 0 must be at least 1"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--threads", "0"], "--threads 0 must be at least 1"),
            (["evaluate", "--model", "fcnet:8", "--data", "synthetic:spirals", "--weights", "w.safetensors",
              "--threads=-2"], "--threads -2 must be at least 1"),
            (["bench", "mlp", "--threads", "0"], "--threads 0 must be at least 1"),
            (["study", "worker", "--processes", "0"], "--processes 0 must be at least 1"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--lr", "nan"], "--lr nan is not a finite number"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--lr=-0.1"], "Invalid learning rate: -0.1"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--optimizer", "lbfgs"], "--optimizer lbfgs"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--betas", "0.9"], "--betas 0.9"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--momentum", "0.9", "--optimizer", "adam"],
             "--momentum does not apply to --optimizer adam"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--schedule", "cosine:x"], "--schedule cosine:x"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--l1", "1", "--l2", "1"], "exclusive"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--augment", "spin"], "spin"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:nothing"], "synthetic:nothing"),
            (["train", "--model", "fcnet:8", "--data", "/nonexistent/x.csv"], "/nonexistent/x.csv"),
            (["train", "--model", "resnet50", "--data", "synthetic:spirals"], "--model resnet50: not a built-in model"),
            (["train", "--model", path("bad.yaml"), "--data", "synthetic:spirals"], "layer 0 (Linear): expects inputs whose last axis has 3 features"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--init", path("trunc.safetensors")], "not a valid safetensors file"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--loss", "mse"], "needs real-valued targets"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--dropout", "1.5"], "--dropout 1.5 is out of range"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--resume"], "--resume needs --checkpoint-dir"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--batch-size", "x"], "batch-size"),
            (["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--bogus"], "--bogus"),
            (["frobnicate"], "frobnicate"),
            (["evaluate", "--model", "fcnet:8", "--data", "synthetic:spirals", "--weights", path("missing.safetensors")], "no such file"),
            (["predict", "--model", "fcnet:8", "--weights", path("trunc.safetensors"), "--input", path("x.csv"), "--output", path("y.csv")],
             "not a valid safetensors file"),
            (["summary", "lenet", "--input-shape", "1,x"], "--input-shape 1,x"),
            (["gradcheck", "--filter", "no-such-op"], "no gradient-check case matches"),
        ]
        for (arguments, expected) in cases {
            let r = try CLI.run(arguments)
            XCTAssertTrue(r.status == 1 || r.status == 2, "\(arguments): status \(r.status)")
            let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: true)
            XCTAssertEqual(lines.count, 1, "\(arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("nabla: "), "\(arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(arguments): expected '\(expected)' in \(r.stderr)")
        }
    }

    /// A run killed with SIGKILL mid-training and resumed ends with the same weights as an
    /// uninterrupted run.
    func testKilledRunResumesToTheSameWeights() throws {
        let common = ["train", "--model", "fcnet:64,64", "--dropout", "0.2", "--norm", "batchnorm",
                      "--data", "synthetic:spirals?n=2000", "--epochs", "3", "--batch-size", "16", "--optimizer", "sgd",
                      "--lr", "0.05", "--momentum", "0.9", "--seed", "4", "--quiet", "--checkpoint-every", "20"]
        let reference = try CLI.run(common + ["--checkpoint-dir", path("ref")])
        XCTAssertEqual(reference.status, 0, reference.stderr)

        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = common + ["--checkpoint-dir", path("killed")]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill once the first checkpoint exists, so the resume really continues a run.
        let checkpoint = path("killed/checkpoint.safetensors")
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: checkpoint) && process.isRunning && Date() < deadline { usleep(2_000) }
        usleep(50_000)
        let killedWhileRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertTrue(killedWhileRunning, "training finished before it could be killed; make the run longer")

        let resumed = try CLI.run(common + ["--checkpoint-dir", path("killed"), "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let a = try SafeTensorsFile.read(from: directory.appendingPathComponent("ref/model.safetensors"))
        let b = try SafeTensorsFile.read(from: directory.appendingPathComponent("killed/model.safetensors"))
        XCTAssertEqual(a, b, "resumed weights differ from the uninterrupted run")
    }
}

extension CLITests {
    /// `--tta ten-crop` reports a test-time-augmented accuracy next to the plain one.
    func testTenCropTestTimeAugmentation() throws {
        // Ten-crop needs images: build a tiny image set as safetensors.
        var g = RandomGenerator(seed: 1)
        let x = Tensor<Float>(uniform: [40, 1, 16, 16], using: &g)
        let y = (0..<40).map { Int64($0 % 2) }
        var file = SafeTensorsFile()
        file.tensors["x"] = SafeTensor(x)
        file.tensors["y"] = SafeTensor(int64: y, shape: [40])
        file.tensors["x_test"] = SafeTensor(x)
        file.tensors["y_test"] = SafeTensor(int64: y, shape: [40])
        try file.write(to: directory.appendingPathComponent("img.safetensors"))
        let tta = try CLI.run(["train", "--model", "lenet", "--data", path("img.safetensors"), "--epochs", "1", "--quiet",
                               "--tta", "ten-crop:1"])
        XCTAssertEqual(tta.status, 0, tta.stderr)
        XCTAssertTrue(tta.stdout.contains("\ttta_accuracy="), tta.stdout)
        let bad = try CLI.run(["train", "--model", "lenet", "--data", path("img.safetensors"), "--tta", "five-crop"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--tta five-crop: expected ten-crop or ten-crop:PAD"), bad.stderr)
    }
}
