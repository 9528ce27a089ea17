import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaTraining
import NablaTestSupport

/// `nabla train --precision` and `nabla bench --precision`: bf16 runs (and says so), the fallback
/// prints one notice and trains in float32, bad values are usage errors, and a checkpoint resumes
/// only with the precision it was trained with.
final class PrecisionCLITests: XCTestCase {
    let run = ["train", "--model", "fcnet:64", "--data", "synthetic:blobs?n=80", "--epochs", "2", "--batch-size", "20",
               "--quiet", "--seed", "3"]

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
    }

    func field(_ name: String, of line: String) -> String? {
        line.trimmingCharacters(in: .newlines).split(separator: "\t").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }

    func testBFloat16TrainsAndRecordsWhatRan() throws {
        let float32 = try CLI.run(run)
        XCTAssertEqual(float32.status, 0, float32.stderr)
        XCTAssertNil(field("precision", of: float32.stdout), "no precision field unless asked")
        let explicit = try CLI.run(run + ["--precision", "float32"])
        XCTAssertEqual(field("train_loss", of: explicit.stdout), field("train_loss", of: float32.stdout))
        let bf16 = try CLI.run(run + ["--precision", "bf16"])
        XCTAssertEqual(bf16.status, 0, bf16.stderr)
        if BFloat16Kernels.hardwareAvailable {
            XCTAssertEqual(field("precision", of: bf16.stdout), "bf16")
            XCTAssertEqual(bf16.stderr, "")
            XCTAssertNotEqual(field("train_loss", of: bf16.stdout), field("train_loss", of: float32.stdout), "bf16 trained exactly as float32")
        } else {
            print("NOTICE: this CPU has no AVX512_BF16: checking the float32 fallback only")
            XCTAssertEqual(field("precision", of: bf16.stdout), "float32")
            XCTAssertEqual(bf16.stderr, "nabla: --precision bf16: this CPU has no AVX512_BF16 (vdpbf16ps); training in float32\n")
        }
    }

    func testDisabledBFloat16PrintsOneNoticeAndTrainsInFloat32() throws {
        let float32 = try CLI.run(run)
        let disabled = try CLI.run(run + ["--precision", "bf16"], environment: ["NABLA_DISABLE_BF16": "1"])
        XCTAssertEqual(disabled.status, 0, disabled.stderr)
        let expected = BFloat16Kernels.hardwareAvailable ? "NABLA_DISABLE_BF16 is set" : "this CPU has no AVX512_BF16 (vdpbf16ps)"
        XCTAssertEqual(disabled.stderr, "nabla: --precision bf16: \(expected); training in float32\n")
        XCTAssertEqual(field("precision", of: disabled.stdout), "float32")
        XCTAssertEqual(field("train_loss", of: disabled.stdout), field("train_loss", of: float32.stdout))
        XCTAssertEqual(field("test_loss", of: disabled.stdout), field("test_loss", of: float32.stdout))
    }

    func testBadPrecisionIsAUsageError() throws {
        for arguments in [run + ["--precision", "fp8"], ["bench", "mlp", "--precision", "half"]] {
            let result = try CLI.run(arguments)
            XCTAssertEqual(result.status, 2, arguments.joined(separator: " "))
            XCTAssertTrue(result.stderr.contains("--precision \(arguments.last!): expected one of float32, bf16"), result.stderr)
        }
        let plan = try CLI.run(run + ["--precision", "bf16", "--print-plan"])
        XCTAssertTrue(plan.stdout.contains("\"precision\" : \"bf16\""), plan.stdout)
        let defaultPlan = try CLI.run(run + ["--precision", "float32", "--print-plan"])
        XCTAssertFalse(defaultPlan.stdout.contains("precision"), "float32 is the default and stays out of plans")
    }

    /// Precision is part of the run: resuming a bf16 checkpoint in float32 (or the reverse) is refused,
    /// resuming with the same precision continues.
    func testResumeNeedsTheSamePrecision() throws {
        let directory = try DataTestSupport.temporaryDirectory(self)
        let checkpoints = directory.appendingPathComponent("ckpt").path
        let first = try CLI.run(run.map { $0 == "2" ? "1" : $0 } + ["--precision", "bf16", "--checkpoint-dir", checkpoints])
        XCTAssertEqual(first.status, 0, first.stderr)
        let other = try CLI.run(run + ["--checkpoint-dir", checkpoints, "--resume"])
        XCTAssertEqual(other.status, 1, other.stderr)
        XCTAssertTrue(other.stderr.contains("checkpoint was written by a run with a different configuration"), other.stderr)
        let same = try CLI.run(run + ["--precision", "bf16", "--checkpoint-dir", checkpoints, "--resume"])
        XCTAssertEqual(same.status, 0, same.stderr)
    }

    func testBenchReportsThePrecisionThatRan() throws {
        let result = try CLI.run(["bench", "mlp", "--steps", "2", "--warmup", "0", "--batch-size", "8", "--precision", "bf16"],
                                 environment: ["NABLA_DISABLE_BF16": "1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("\tprecision=float32"), result.stdout)
        XCTAssertTrue(result.stderr.contains("training in float32"), result.stderr)
    }
}
