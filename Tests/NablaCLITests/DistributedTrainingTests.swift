import Foundation
import XCTest
import NablaTensor
@testable import NablaIO
@testable import NablaTraining
import NablaTestSupport

/// `nabla train` as a real Open MPI job: `mpirun -np K nabla train …` and `--world-size K` give the
/// single-process weights, a fixed K is bitwise deterministic (over shared memory and over TCP
/// between two simulated hosts), checkpoints resume with the same K, and every failure — a missing
/// `mpirun`, ranks with different flags, a rank that cannot read its input, a rank that dies —
/// ends every rank promptly with one line.
///
/// Stated tolerance: after 6 steps of SGD with momentum, every weight of a K-rank run is within
/// 1e-4 relative + 1e-6 absolute of the single-process run's (the reductions add the same numbers
/// in another order; measured differences are around 1e-7).
final class DistributedTrainingTests: XCTestCase {
    static let relativeTolerance = 1e-4, absoluteTolerance = 1e-6

    /// 96 spirals samples: 3 batches of 32 per epoch, 6 steps.
    private func arguments(_ save: URL, _ extra: [String] = []) -> [String] {
        ["train", "--model", "fcnet:16,16", "--data", "synthetic:spirals?n=32", "--steps", "6", "--batch-size", "32",
         "--lr", "0.1", "--momentum", "0.9", "--weight-decay", "1e-3", "--seed", "3", "--quiet", "--save", save.path] + extra
    }

    private var mpirun: URL {
        get throws {
            #if !MPI
            throw XCTSkip("built without the MPI package trait")
            #else
            let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
                .map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            guard let found = path.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                throw XCTSkip("mpirun not found on PATH: install Open MPI (Debian: openmpi-bin libopenmpi-dev; make deps)")
            }
            return found
            #endif
        }
    }

    /// Open MPI refuses to start ranks as root without these.
    private var rootPermission: [String: String] {
        geteuid() == 0 ? ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"] : [:]
    }

    /// `mpirun -np ranks … nabla arguments` (`--quiet`: mpirun's own failure notices off).
    private func mpi(_ ranks: Int, _ arguments: [String], timeout: TimeInterval = 180) throws -> CLI.Result {
        try CLI.run(executable: try mpirun, ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", "--quiet",
                                             CLI.executable.path] + arguments,
                    environment: rootPermission, timeout: timeout)
    }

    private func weights(_ url: URL) throws -> [String: Tensor<Float>] {
        try SafeTensorsFile.read(from: url).tensors.mapValues { $0.tensor(as: Float.self) }
    }

    private func assertClose(_ actual: URL, _ expected: URL, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (a, e) = (try weights(actual), try weights(expected))
        XCTAssertEqual(Set(a.keys), Set(e.keys), label, file: file, line: line)
        for (key, value) in e where !key.hasSuffix("num_batches_tracked") {
            NablaTestSupport.assertClose(a[key] ?? Tensor(shape: [0], scalars: []), value, relative: Self.relativeTolerance,
                                         absolute: Self.absoluteTolerance, "\(label): \(key)", file: file, line: line)
        }
    }

    private func bytes(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    /// K = 1, 2, 4 over `mpirun` and `--world-size 2` reach the single-process weights; without
    /// batch norm and with `--norm batchnorm --sync-bn`.
    func testRanksTrainTheSingleProcessWeights() throws {
        _ = try mpirun
        let directory = try DataTestSupport.temporaryDirectory(self)
        for (label, extra) in [("plain", [String]()), ("sync-bn", ["--norm", "batchnorm", "--sync-bn"])] {
            let single = directory.appendingPathComponent("\(label)-single.safetensors")
            let alone = try CLI.run(arguments(single, extra))
            XCTAssertEqual(alone.status, 0, alone.stderr)
            for ranks in [1, 2, 4] {
                let out = directory.appendingPathComponent("\(label)-\(ranks).safetensors")
                let result = try mpi(ranks, arguments(out, extra))
                XCTAssertEqual(result.status, 0, result.stderr)
                XCTAssertEqual(result.stdout.split(separator: "\n").filter { $0.hasPrefix("final") }.count, 1, "rank 0 alone prints:\n\(result.stdout)")
                if ranks > 1 { XCTAssertTrue(result.stdout.contains("ranks=\(ranks)"), result.stdout) }
                try assertClose(out, single, "\(label), mpirun -np \(ranks)")
            }
            let launched = directory.appendingPathComponent("\(label)-world-size.safetensors")
            let result = try CLI.run(arguments(launched, extra + ["--world-size", "2"]), timeout: 180)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(try bytes(launched), try bytes(directory.appendingPathComponent("\(label)-2.safetensors")),
                           "--world-size 2 is mpirun -np 2")
        }
    }

    /// Two runs on 2 ranks with dropout write the same bytes; a checkpoint resumes with the same K
    /// to the uninterrupted weights and is refused by another K.
    func testFixedRanksAreBitwiseDeterministicAndResumeExactly() throws {
        _ = try mpirun
        let directory = try DataTestSupport.temporaryDirectory(self)
        let extra = ["--dropout", "0.2", "--steps", "9"]
        let (first, second) = (directory.appendingPathComponent("a.safetensors"), directory.appendingPathComponent("b.safetensors"))
        for out in [first, second] {
            let result = try mpi(2, arguments(out, extra))
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        XCTAssertEqual(try bytes(first), try bytes(second))

        let checkpoints = directory.appendingPathComponent("run").path
        let partial = directory.appendingPathComponent("partial.safetensors")
        var result = try mpi(2, arguments(partial, ["--dropout", "0.2", "--steps", "4", "--checkpoint-dir", checkpoints, "--checkpoint-every", "2"]))
        XCTAssertEqual(result.status, 0, result.stderr)
        let resumed = directory.appendingPathComponent("resumed.safetensors")
        result = try mpi(2, arguments(resumed, extra + ["--checkpoint-dir", checkpoints, "--resume"]))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try bytes(resumed), try bytes(first), "resumed on 2 ranks at step 4")

        result = try CLI.run(arguments(resumed, extra + ["--checkpoint-dir", checkpoints, "--resume"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "nabla: \(checkpoints)/checkpoint.safetensors: the checkpoint was written by a run on 2 ranks and this is a single-process run; resume it with 2 ranks (--world-size 2, or mpirun -np 2)\n")
        result = try mpi(4, arguments(resumed, extra + ["--checkpoint-dir", checkpoints, "--resume"]))
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "nabla: \(checkpoints)/checkpoint.safetensors: the checkpoint was written by a run on 2 ranks and this is a run on 4 ranks; resume it with 2 ranks (--world-size 2, or mpirun -np 2)\n")
    }

    /// Two ranks on two simulated hosts (network namespaces joined by a veth pair) talk over TCP:
    /// the weights are those of two ranks over shared memory, bit for bit (a sum of two numbers
    /// does not depend on the order). Skipped where namespaces cannot be created.
    func testTwoHostsOverTCP() throws {
        _ = try mpirun
        guard geteuid() == 0 else { throw XCTSkip("network namespaces need root; run the tests as root to cover the TCP path") }
        let directory = try DataTestSupport.temporaryDirectory(self)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scripts/mpirun-netns.sh")
        let (tcp, shm) = (directory.appendingPathComponent("tcp.safetensors"), directory.appendingPathComponent("shm.safetensors"))
        let extra = ["--norm", "batchnorm", "--sync-bn", "--dropout", "0.2"]
        let result = try CLI.run(executable: URL(fileURLWithPath: "/bin/sh"), [script.path, CLI.executable.path] + arguments(tcp, extra),
                                 environment: ["NABLA_NETNS_TIMEOUT": "150"], timeout: 180)
        if result.status == 77 { throw XCTSkip("network namespaces unavailable here: \(result.stderr)") }
        XCTAssertEqual(result.status, 0, result.stderr)
        // Six steps' gradients (one float per parameter each) must have crossed the veth link.
        let traffic = result.stderr.split(separator: "\n").first { $0.hasPrefix("veth-bytes ") }.flatMap { Int($0.dropFirst(11)) } ?? 0
        let gradientBytes = try weights(tcp).filter { !$0.key.contains("running") && !$0.key.hasSuffix("num_batches_tracked") }
            .values.reduce(0) { $0 + 4 * $1.count }
        XCTAssertGreaterThan(traffic, 6 * gradientBytes, "the gradients must cross the veth link:\n\(result.stderr)")
        let local = try mpi(2, arguments(shm, extra))
        XCTAssertEqual(local.status, 0, local.stderr)
        XCTAssertEqual(try bytes(tcp), try bytes(shm))
    }

    /// Every failure ends the job with one line: no mpirun; ranks started with different flags; one
    /// rank that cannot read its plan; a batch that does not split; a rank killed mid-run.
    func testFailuresEndEveryRankWithOneLine() throws {
        _ = try mpirun
        let directory = try DataTestSupport.temporaryDirectory(self)
        let out = directory.appendingPathComponent("w.safetensors")

        var result = try CLI.run(executable: CLI.executable, arguments(out, ["--world-size", "2"]), environment: ["PATH": "/nonexistent"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "nabla: --world-size 2: mpirun not found on PATH; install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev) or start the ranks with your cluster's launcher\n")

        result = try CLI.run(arguments(out, ["--world-size", "3"]))
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.hasPrefix("nabla: --batch-size 32 does not split evenly across 3 ranks"), result.stderr)
        XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, result.stderr)

        // Multiple programs: rank 1 is started with another seed.
        let mpirun = try self.mpirun
        let base = ["--oversubscribe", "--bind-to", "none", "--quiet"]
        result = try CLI.run(executable: mpirun, base + ["-np", "1", CLI.executable.path] + arguments(out)
                                + [":", "-np", "1", CLI.executable.path] + arguments(out, ["--seed", "4"]),
                             environment: rootPermission, timeout: 120)
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stderr, "nabla: the ranks were started with different training plans: rank 1 differs from rank 0 (every rank needs the same flags and the same --plan file)\n")

        // Rank 1 alone cannot read its plan file: it says so, and rank 0 exits with it.
        let plan = directory.appendingPathComponent("plan.json")
        let printed = try CLI.run(arguments(out, ["--print-plan"]))
        try printed.stdout.write(to: plan, atomically: true, encoding: .utf8)
        result = try CLI.run(executable: mpirun, base + ["-np", "1", CLI.executable.path, "train", "--plan", plan.path, ":",
                                                          "-np", "1", CLI.executable.path, "train", "--plan", plan.path + ".missing"],
                             environment: rootPermission, timeout: 120)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "nabla: rank 1: --plan \(plan.path).missing: cannot read the file\n")

        // A rank killed in the middle of training: the job ends within seconds, with one line.
        let job = Process()
        job.executableURL = CLI.executable
        job.arguments = arguments(out, ["--steps", "1000000", "--world-size", "2"])
        let errors = Pipe()
        job.standardError = errors
        job.standardOutput = FileHandle.nullDevice
        try job.run()
        let stderr = CLI.Drain(errors)
        let ranks = try waitForRanks(of: job.processIdentifier, count: 2)
        Thread.sleep(forTimeInterval: 1.5)  // into the training loop
        let killed = Date()
        XCTAssertEqual(kill(ranks[1], SIGKILL), 0)
        while job.isRunning && Date().timeIntervalSince(killed) < 30 { usleep(20_000) }
        let elapsed = Date().timeIntervalSince(killed)
        if job.isRunning { job.terminate() }
        job.waitUntilExit()
        XCTAssertLessThan(elapsed, 10, "the job took \(elapsed) s to end")
        XCTAssertEqual(job.terminationStatus, 128 + SIGKILL)
        XCTAssertEqual(stderr.text, "nabla: --world-size 2: a rank was killed by signal 9 (SIGKILL); mpirun stopped the job\n")
        XCTAssertFalse(isAlive(ranks[0]), "rank 0 survived")
        print("a 2-rank job ended \(String(format: "%.2f", elapsed)) s after SIGKILL of rank 1")
    }

    /// `nabla bench --distributed` runs one job per rank count (two for K > 1: overlapped and not)
    /// and prints one parsable line per model and job, then the table with the efficiency against
    /// one rank; without mpirun it fails with one line.
    func testDistributedBenchReportsEveryJob() throws {
        _ = try mpirun
        let result = try CLI.run(["bench", "--distributed", "lenet-bn", "--steps", "2", "--warmup", "1", "--batch-size", "8",
                                  "--world-sizes", "1", "2"], timeout: 180)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let measured = lines.filter { $0.hasPrefix("lenet-bn\tranks=") }
        XCTAssertEqual(measured.map { $0.split(separator: "\t")[1...2].joined(separator: " ") },
                       ["ranks=1 overlap=1", "ranks=2 overlap=1", "ranks=2 overlap=0"], result.stdout)
        for line in measured {
            let fields = Dictionary(uniqueKeysWithValues: line.split(separator: "\t").dropFirst().map {
                let parts = $0.split(separator: "=", maxSplits: 1); return (String(parts[0]), Double(parts[1]) ?? .nan)
            })
            XCTAssertEqual(fields["batch_per_rank"], 8, line)
            XCTAssertGreaterThan(fields["step_ms"] ?? 0, 0, line)
            XCTAssertEqual(fields["allreduce_ms"] == 0, fields["ranks"] == 1, "only K > 1 reduces: \(line)")
        }
        XCTAssertTrue(lines.contains { $0.hasPrefix("lenet-bn\thook\tbackward_ms=") }, result.stdout)
        XCTAssertEqual(lines.filter { $0.hasPrefix("| lenet-bn | ") }.count, 3, result.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("| lenet-bn | 1 | – | 8 | ") && $0.hasSuffix("| 100 % |") }, result.stdout)

        let missing = try CLI.run(executable: CLI.executable, ["bench", "--distributed", "mlp", "--steps", "1"], environment: ["PATH": "/nonexistent"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "nabla: --distributed: mpirun not found on PATH; install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev)\n")
    }

    /// The pids of the `count` ranks `mpirun` (a child of `launcher`) started, once they run.
    private func waitForRanks(of launcher: Int32, count: Int) throws -> [Int32] {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let mpirun = children(of: launcher)
            let ranks = mpirun.flatMap(children(of:)).filter { pid in
                (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.contains("train") == true
            }
            if ranks.count == count { return ranks.sorted() }
            usleep(50_000)
        }
        throw XCTSkip("the ranks did not start within 60 s")
    }

    private func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let end = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    private func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !stat.contains(") Z ")
    }
}
