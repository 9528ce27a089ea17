import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
import NablaTestSupport

/// Hostile sizes end in one line and exit 1, quickly and without the memory they ask for: a layer
/// of 100,000 channels, test-time augmentation with a huge padding, a decompression bomb. Also the
/// command-line side of divergence and of test-set hygiene.
final class ResourceLimitTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    /// Runs `nabla arguments` under /usr/bin/time and returns the result with its peak RSS in KiB.
    func measured(_ arguments: [String]) throws -> (CLI.Result, peakKiB: Int) {
        let report = directory.appendingPathComponent("time-\(UUID().uuidString)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = ["-f", "%M", "-o", report.path, CLI.executable.path] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = CLI.Drain(out), stderr = CLI.Drain(err)
        process.waitUntilExit()
        let peak = Int((try? String(contentsOf: report, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        return (CLI.Result(status: process.terminationStatus, stdout: stdout.text, stderr: stderr.text), peak)
    }

    /// Images 1×28×28 in a small safetensors data set (64 training, 16 test).
    func images() throws -> String {
        let url = directory.appendingPathComponent("images.safetensors")
        let pixels = (0..<(80 * 784)).map { Float(($0 * 37) % 255) / 255 }
        try SafeTensorsFile(tensors: ["x": SafeTensor(Tensor<Float>(shape: [64, 1, 28, 28], scalars: Array(pixels[0..<(64 * 784)]))),
                                      "y": SafeTensor(int64: (0..<64).map { Int64($0 % 3) }, shape: [64]),
                                      "x_test": SafeTensor(Tensor<Float>(shape: [16, 1, 28, 28], scalars: Array(pixels[(64 * 784)...]))),
                                      "y_test": SafeTensor(int64: (0..<16).map { Int64($0 % 3) }, shape: [16])]).write(to: url)
        return url.path
    }

    func testHostileSizesAreRefusedBeforeTheyAreAllocated() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else { throw XCTSkip("NOTICE: /usr/bin/time is not installed") }
        let data = try images()
        let wide = directory.appendingPathComponent("wide.yaml")
        try """
            layers:
              - Conv2d: {in_channels: 1, out_channels: 100000, kernel_size: 3, padding: 1}
              - ReLU: {}
              - AdaptiveAvgPool2d: {output_size: 1}
              - Flatten: {}
              - Linear: {in_features: 100000, out_features: 3}
            """.write(to: wide, atomically: true, encoding: .utf8)
        let cases: [([String], [String])] = [
            (["train", "--model", wide.path, "--data", data, "--batch-size", "128", "--max-memory", "8G"],
             ["nabla: --model \(wide.path) at batch size 128: needs about ", "largest: layer 0 (Conv2d) with output [100000, 28, 28] per sample",
              "more than the memory cap of 8.00 GiB (--max-memory 8G)"]),
            (["train", "--model", "lenet", "--data", data, "--tta", "ten-crop:4096", "--max-memory", "2G"],
             ["nabla: --tta ten-crop:4096: needs about ", "16 test images at a time, padded to 1×8220×8220", "(--max-memory 2G)"]),
            // One sample at a time needs its Conv2d and ReLU outputs together: 2 × 313.6 MB.
            (["evaluate", "--model", wide.path, "--data", data, "--weights", wide.path, "--max-memory", "512M"],
             ["nabla: --model \(wide.path) on 1 sample(s) at once: needs about ", "(--max-memory 512M)"]),
            (["train", "--model", "mlp", "--data", data, "--batch-size", "64", "--max-memory", "2M"],
             ["nabla: --model mlp at batch size 64: needs about ", "more than the memory cap of 2.00 MiB (--max-memory 2M)"]),
        ]
        for (arguments, fragments) in cases {
            let started = Date()
            let (r, peak) = try measured(arguments)
            XCTAssertEqual(r.status, 1, "\(arguments): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            for fragment in fragments { XCTAssertTrue(r.stderr.contains(fragment), "'\(r.stderr)' lacks '\(fragment)'") }
            XCTAssertLessThan(Date().timeIntervalSince(started), 60)
            XCTAssertLessThan(peak, 400 << 10, "\(arguments): peak RSS \(peak) KiB")
        }
        // A bad --max-memory is a usage error.
        let bad = try CLI.run(["train", "--model", "lenet", "--data", data, "--max-memory", "lots"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr, "nabla: --max-memory lots: expected a size such as 4G, 512M, 1000000 or a percentage such as 50%\n")
        // What fits trains.
        XCTAssertEqual(try CLI.run(["train", "--model", "lenet", "--data", data, "--epochs", "1", "--quiet", "--max-memory", "1G"]).status, 0)
    }

    /// A gzip bomb in the place of MNIST images: one line naming the file, no gigabytes allocated.
    func testADecompressionBombIsRefused() throws {
        let mnist = directory.appendingPathComponent("bomb")
        try FileManager.default.createDirectory(at: mnist, withIntermediateDirectories: true)
        // 26,000 dark images of 28×28 pixels with a speck every 4000 bytes (19.4 MiB): gzip -9 packs
        // them about 575:1 — within DEFLATE's 1032:1, beyond the 256:1 cap.
        let count = 26_000
        var images: [UInt8] = [0, 0, 8, 3]
        for extent in [count, 28, 28] { images += withUnsafeBytes(of: UInt32(extent).bigEndian, Array.init) }
        var pixels = [UInt8](repeating: 0, count: count * 784)
        var state: UInt32 = 12345
        for i in stride(from: 0, to: pixels.count, by: 4000) {
            state = state &* 1_103_515_245 &+ 12345
            pixels[i] = UInt8(1 + (state >> 16) % 255)
        }
        images += pixels
        var labels: [UInt8] = [0, 0, 8, 1] + withUnsafeBytes(of: UInt32(count).bigEndian, Array.init)
        labels += [UInt8](repeating: 0, count: count)
        try gzip(images, to: mnist.appendingPathComponent("train-images-idx3-ubyte.gz"))
        try gzip(labels, to: mnist.appendingPathComponent("train-labels-idx1-ubyte.gz"))
        let r = try CLI.run(["train", "--model", "fcnet:8", "--data", "mnist:\(mnist.path)", "--quiet"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("nabla: \(mnist.path)/train-images-idx3-ubyte.gz: declares 19.4 MiB of data in "), r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("a ratio above 256:1; refused as a likely decompression bomb\n"), r.stderr)
    }

    /// `--lr 10` stops with the advice; the flags it names let the run go on from its checkpoint.
    func testDivergenceStopsWithAdviceAndTheAdvisedFlagsResume() throws {
        let run = directory.appendingPathComponent("diverge").path
        let training = ["train", "--model", "fcnet:32", "--data", "synthetic:spirals?n=60", "--batch-size", "20", "--lr", "10",
                        "--momentum", "0.9", "--epochs", "20", "--seed", "1", "--quiet", "--checkpoint-dir", run]
        let r = try CLI.run(training)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("nabla: training diverged at epoch "), r.stderr)
        XCTAssertTrue(r.stderr.contains("; lower the learning rate (--lr) or clip gradients (--clip-norm 1), or "), r.stderr)
        let resumed = try CLI.run(training + ["--resume", "--allow-divergence", "--skip-nonfinite"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
    }

    /// Early stopping without --val-split holds out 10% of the training data and says so.
    func testEarlyStoppingWithoutAValidationSplitSaysWhatItMonitors() throws {
        let log = directory.appendingPathComponent("log")
        let r = try CLI.run(["train", "--model", "fcnet:8", "--data", "synthetic:spirals?n=40", "--epochs", "2", "--early-stop", "3",
                             "--logdir", log.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("validation: early stopping monitors 12 of the 120 training samples, held out (10%; --val-split sets the fraction); the test set is only reported\n"),
                      r.stderr)
        let rows = try String(contentsOf: log.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n")
        let header = rows[0].split(separator: ",").map(String.init)
        let values = rows[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        XCTAssertFalse(values[header.firstIndex(of: "val_loss")!].isEmpty, "the validation loss is logged")
        XCTAssertFalse(values[header.firstIndex(of: "test_loss")!].isEmpty, "the test loss is reported")
    }

    private func gzip(_ bytes: [UInt8], to url: URL) throws {
        let raw = url.deletingPathExtension()
        try Data(bytes).write(to: raw)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-9", "-f", raw.path]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }
}
