import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
@testable import NablaStudies
import NablaTestSupport
#if canImport(FoundationXML)
import FoundationXML
#endif

/// `nabla study …` end to end on tiny generated data: the seeded regularization study in worker
/// processes (report, results.json, logs, a run's command repeating it), the cache (a killed study
/// resumes, a finished one trains nothing), the search and the replications, and bad flags.
final class StudyCLITests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-study-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    static let tiny = ["--data", StudyData.syntheticSpec, "--train-subset", "96", "--test-subset", "64", "--epochs", "2"]
    static let regularization = ["study", "regularization"] + tiny + ["--hidden", "16", "--batch-size", "16", "--seeds", "2",
                                                                     "--variants", "baseline,dropout", "--no-demos", "--jobs", "2"]

    /// The `N runs, K from the cache, M to train` counts of every stage line on standard error.
    func stageCounts(_ stderr: String) -> [(runs: Int, cached: Int)] {
        stderr.split(separator: "\n").compactMap { line -> (Int, Int)? in
            guard let range = line.range(of: #": (\d+) runs?(, (\d+) from the cache)?"#, options: .regularExpression) else { return nil }
            let numbers = line[range].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            return (numbers[0], numbers.count > 1 ? numbers[1] : 0)
        }
    }

    func testRegularizationStudyInWorkersWritesItsReportResultsAndLogs() throws {
        let out = directory.appendingPathComponent("reg")
        let r = try CLI.run(Self.regularization + ["--output", out.path], timeout: 600)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("2 worker processes × 1 thread"), r.stderr)
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        for fragment in ["Takeaways", "test accuracy − Baseline</title>", "validation accuracy (mean and 95% CI over seeds)", "<details>",
                         "Method and sources", "Best model by validation accuracy"] {
            XCTAssertTrue(html.contains(fragment), "report lacks \(fragment)")
        }
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "the report must not fetch anything")
        _ = try XMLDocument(data: Data(html.utf8), options: [])  // well-formed

        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("results.json"))) as? [String: Any])
        let studies = try XCTUnwrap(json["studies"] as? [[String: Any]])
        let accuracy = try XCTUnwrap(studies.first { $0["name"] as? String == "mlp/regularizers/tuned/test_accuracy" })
        XCTAssertEqual(accuracy["baseline"] as? String, "baseline")
        let dropout = try XCTUnwrap((accuracy["variants"] as? [[String: Any]])?.first { $0["name"] as? String == "dropout" })
        XCTAssertEqual((dropout["runs"] as? [[String: Any]])?.map { $0["seed"] as? Int }, [0, 1])
        XCTAssertNotNil((dropout["verdict"] as? [String: Any])?["p_value"])
        XCTAssertTrue(r.stdout.contains("Takeaways"), r.stdout)

        // TensorBoard: the experiment at the top of runs/, a session per variant, setting and seed.
        let runs = out.appendingPathComponent("runs")
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: runs.path).contains { $0.contains("tfevents") })
        let setting = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: runs.appendingPathComponent("mlp/dropout").path)
            .first { $0.hasPrefix("lr=") })
        let seedFolder = runs.appendingPathComponent("mlp/dropout/\(setting)/seed-1")
        let files = try FileManager.default.contentsOfDirectory(atPath: seedFolder.path)
        XCTAssertTrue(files.contains("plan.json") && files.contains("metrics.csv"), "\(files)")
        XCTAssertTrue(files.filter { $0.contains("tfevents") }.count >= 2, "Trainer events and the HParams session: \(files)")

        // The run's plan repeats it exactly: `nabla train --plan` ends with the test accuracy results.json holds.
        let again = try CLI.run(["train", "--plan", seedFolder.appendingPathComponent("plan.json").path, "--quiet"], timeout: 120)
        XCTAssertEqual(again.status, 0, again.stderr)
        let field = again.stdout.split(separator: "\t").first { $0.hasPrefix("test_accuracy=") }
        let repeated = try XCTUnwrap(field.flatMap { Double($0.dropFirst("test_accuracy=".count)) })
        let tuned = try XCTUnwrap(studies.first { $0["name"] as? String == "mlp/regularizers/tuned/test_accuracy" })
        let recorded = try XCTUnwrap(((tuned["variants"] as? [[String: Any]])?.first { $0["name"] as? String == "dropout" }?["runs"]
            as? [[String: Any]])?.first { $0["seed"] as? Int == 1 }?["value"] as? Double)
        XCTAssertEqual(repeated, recorded, accuracy: 5e-5)  // `nabla train` prints four decimals

        // A second invocation finds every run in the cache and trains nothing.
        let cached = try CLI.run(Self.regularization + ["--output", out.path], timeout: 300)
        XCTAssertEqual(cached.status, 0, cached.stderr)
        let counts = stageCounts(cached.stderr)
        XCTAssertEqual(counts.count, 2, cached.stderr)
        XCTAssertTrue(counts.allSatisfy { $0.runs == $0.cached && $0.runs > 0 }, cached.stderr)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("results.csv")).count > 0, true)
    }

    func testAKilledStudyResumesFromItsCache() throws {
        let out = directory.appendingPathComponent("killed")
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = Self.regularization + ["--output", out.path, "--quiet"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let cache = out.appendingPathComponent("cache")
        let deadline = Date().addingTimeInterval(300)
        while process.isRunning && Date() < deadline {
            if ((try? FileManager.default.contentsOfDirectory(atPath: cache.path))?.filter { $0.hasSuffix(".json") }.count ?? 0) >= 3 { break }
            usleep(50_000)
        }
        XCTAssertTrue(process.isRunning, "the study finished before it could be interrupted")
        let workers = try childProcesses(of: process.processIdentifier)
        XCTAssertEqual(workers.count, 2, "two worker processes")
        process.terminate()
        process.waitUntilExit()
        let finished = try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasSuffix(".json") }.count
        XCTAssertGreaterThanOrEqual(finished, 3)
        // The workers notice that their study is gone and stop too.
        let gone = Date().addingTimeInterval(10)
        while Date() < gone && workers.contains(where: { kill($0, 0) == 0 }) { usleep(100_000) }
        XCTAssertFalse(workers.contains { kill($0, 0) == 0 }, "a worker of the killed study is still running")

        let resumed = try CLI.run(Self.regularization + ["--output", out.path], timeout: 600)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let counts = stageCounts(resumed.stderr)
        XCTAssertEqual(counts.reduce(0) { $0 + $1.cached }, finished, resumed.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("results.json").path))
    }

    /// The process ids whose parent is `pid`.
    func childProcesses(of pid: Int32) throws -> [Int32] {
        let ps = Process()
        ps.executableURL = URL(fileURLWithPath: "/bin/ps")
        ps.arguments = ["-eo", "pid=,ppid="]
        let pipe = Pipe()
        ps.standardOutput = pipe
        try ps.run()
        let listing = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ps.waitUntilExit()
        return listing.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").compactMap { Int32($0) }
            return fields.count == 2 && fields[1] == pid ? fields[0] : nil
        }
    }

    func testWorkerProcessesGiveTheInProcessResults() throws {
        let data = try StudyData.load(spec: StudyData.syntheticSpec, trainSubset: 64, testSubset: 32, seed: 0,
                                      syntheticFile: directory.appendingPathComponent("images.safetensors"))
        var c = RegularizationStudyConfiguration()
        c.hidden = [8]
        c.epochs = 2
        c.batchSize = 16
        c.variants = ["baseline", "dropout", "augmentation"]
        let study = try RegularizationStudy.mlpStudy(c, data: data, runsDirectory: nil)
        let jobs = try study.variants.map { try study.job($0, $0.textbook, seed: 1, tuning: false) }
        func collect(_ executor: StudyExecutor) throws -> [StudyRunResult] {
            var results = [StudyRunResult?](repeating: nil, count: jobs.count)
            try executor.execute(jobs) { index, event in
                if case .finished(var result) = event {
                    result.seconds = 0
                    for i in result.epochs.indices { result.epochs[i].seconds = 0 }
                    results[index] = result
                }
            }
            return results.map { $0! }
        }
        let local = try collect(InProcessStudyExecutor())
        let workers = try collect(WorkerProcessStudyExecutor(executable: CLI.executable, arguments: ["study", "worker"], workerCount: 2,
                                                             threadsPerWorker: 1))
        XCTAssertEqual(local, workers)
        XCTAssertTrue(local.allSatisfy { $0.test != nil && $0.epochs.count == 2 })

        // A worker that dies fails its job with a message; nothing hangs.
        let dead = WorkerProcessStudyExecutor(executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", "echo broken >&2; exit 3"],
                                              workerCount: 2, threadsPerWorker: 1)
        XCTAssertThrowsError(try dead.execute(jobs) { _, _ in }) { error in
            let message = (error as? NablaError)?.message ?? "\(error)"
            XCTAssertTrue(message.contains("exited (status 3)") || message.contains("has exited"), message)
        }
    }

    func testSearchWithHalvingLabelsEveryNumberWithItsSplit() throws {
        let out = directory.appendingPathComponent("search")
        let s = try CLI.run(["study", "search", "--data", StudyData.syntheticSpec, "--train-subset", "96", "--test-subset", "64", "--trials", "6",
                             "--epochs", "3", "--halving", "--top", "2", "--seeds", "2", "--jobs", "2", "--output", out.path], timeout: 600)
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(s.stderr.contains("Search rung 1 of 2: 6 configurations × 1 epochs"), s.stderr)
        XCTAssertTrue(s.stderr.contains("Search rung 2 of 2: 2 configurations × 3 epochs"), s.stderr)
        let page = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        for fragment in ["val acc (validation split, seed 1000)", "test split, mean ± sd [95% CI] over 2 seeds, evaluated once per run",
                         "Re-running the best", "winner"] {
            XCTAssertTrue(page.contains(fragment) || s.stderr.contains(fragment), "lacks \(fragment)")
        }
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("results.json"))) as? [String: Any])
        let search = try XCTUnwrap(json["search"] as? [String: Any])
        XCTAssertTrue(try XCTUnwrap(search["trials"] as? [[String: Any]]).allSatisfy { $0["split"] as? String == "validation" })
        XCTAssertTrue(try XCTUnwrap(search["final"] as? [[String: Any]]).allSatisfy { $0["split"] as? String == "test" })
    }

    func testReplicationCardsReportClaimBandAndOutcome() throws {
        let out = directory.appendingPathComponent("replicate")
        let r = try CLI.run(["study", "replicate", "augmentation-vs-weight-decay", "--data", StudyData.syntheticSpec, "--train-subset", "64",
                             "--test-subset", "64", "--epochs", "2", "--seeds", "2", "--jobs", "2", "--output", out.path], timeout: 600)
        XCTAssertEqual(r.status, 0, r.stderr)
        let page = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        for fragment in ["Zhang et al. (2017)", "Claim: ", "Our setup: ", "Band: ", "89.31%"] { XCTAssertTrue(page.contains(fragment), fragment) }
        XCTAssertTrue(page.contains(">replicated<") || page.contains(">not replicated<"), "no outcome on the card")
        // The setup says what ran: synthetic images, the 64-image subset — not the card's Fashion-MNIST default.
        XCTAssertTrue(page.contains("Our setup: synthetic images, the first 64 training images"), "setup does not name the data that ran")
        XCTAssertFalse(page.contains("Our setup: Fashion-MNIST"), "setup names Fashion-MNIST on synthetic data")
        let table = try String(contentsOf: out.appendingPathComponent("replications.md"), encoding: .utf8)
        XCTAssertTrue(table.hasPrefix("| card | paper | measured | replicated? |"), table)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("results.json"))) as? [String: Any])
        XCTAssertEqual((json["replications"] as? [[String: Any]])?.first?["key"] as? String, "augmentation-vs-weight-decay")
        XCTAssertEqual((json["studies"] as? [[String: Any]])?.count, 2)
    }

    func testBadStudyFlagsFailWithOneLine() throws {
        let cases: [([String], Int32, String)] = [
            (["study", "regularization", "--variants", "nope"], 2, "--variants nope: unknown variant"),
            (["study", "regularization", "--quick", "--full"], 2, "--quick and --full are exclusive"),
            (["study", "regularization", "--seeds", "1"], 2, "--seeds 1 must be at least 2"),
            (["study", "regularization", "--regime", "rnn"], 2, "--regime rnn: expected mlp, cnn or both"),
            (["study", "regularization", "--jobs", "0"], 2, "--jobs 0 must be at least 1"),
            (["study", "optimizers", "--optimizers", "adam,nope"], 2, "--optimizers nope: unknown optimizer"),
            (["study", "optimizers", "--grid", "huge"], 2, "--grid huge: expected small or full"),
            (["study", "optimizers", "--seeds", "1"], 2, "--seeds 1 must be at least 2"),
            (["study", "search", "--lr-range", "1,0.1"], 2, "--lr-range 1,0.1"),
            (["study", "replicate", "cold-fusion"], 2, "cold-fusion: unknown replication"),
            (["study", "optimizers", "--data", directory.appendingPathComponent("none.npz").path, "--output", directory.path], 1, "none.npz"),
            (["study", "regularization", "--data", StudyData.syntheticSpec, "--train-subset", "0"], 2, "--train-subset 0 must be at least 1"),
        ]
        for (arguments, status, message) in cases {
            let r = try CLI.run(arguments)
            XCTAssertEqual(r.status, status, "\(arguments): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("nabla: ") && r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
    }

    func testOptimizerStudyWritesItsReport() throws {
        let optimizers = directory.appendingPathComponent("opt")
        let arguments = ["study", "optimizers"] + Self.tiny + ["--hidden", "16", "--batch-size", "16", "--seeds", "2", "--jobs", "2",
                                                              "--path-steps", "10", "--output", optimizers.path, "--quiet"]
        let r = try CLI.run(arguments, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        let html = try String(contentsOf: optimizers.appendingPathComponent("report.html"), encoding: .utf8)
        for name in ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW", "Lion", "LAMB", "Momentum + one-cycle"] {
            XCTAssertTrue(html.contains(">\(name)<"), name)
        }
        for fragment in ["Takeaways", "test accuracy − Momentum</title>", "Paths on f(x, y)", "Method and sources"] {
            XCTAssertTrue(html.contains(fragment), "report lacks \(fragment)")
        }
        XCTAssertTrue(r.stdout.contains("Paths on f(x, y)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Takeaways"), r.stdout)

        // results.json: every optimizer with its two seeds' test runs and a verdict against Momentum.
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: optimizers.appendingPathComponent("results.json"))) as? [String: Any])
        let studies = try XCTUnwrap(json["studies"] as? [[String: Any]])
        let accuracy = try XCTUnwrap(studies.first { $0["name"] as? String == "optimizers/optimizers/tuned/test_accuracy" })
        XCTAssertEqual(accuracy["baseline"] as? String, "momentum")
        let variants = try XCTUnwrap(accuracy["variants"] as? [[String: Any]])
        XCTAssertEqual(Set(variants.compactMap { $0["name"] as? String }), Set(OptimizerStudy.variantKeys))
        for variant in variants {
            XCTAssertEqual((variant["runs"] as? [[String: Any]])?.map { $0["split"] as? String }, ["test", "test"])
            XCTAssertEqual((variant["selection"] as? [String: Any])?["split"] as? String, "validation")
            if variant["name"] as? String != "momentum" { XCTAssertNotNil((variant["verdict"] as? [String: Any])?["p_value"]) }
        }

        // TensorBoard: a directory per optimizer, setting and seed; a second invocation trains nothing.
        let adam = optimizers.appendingPathComponent("runs/optimizers/adam")
        let setting = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: adam.path).first { $0.hasPrefix("lr=") })
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: adam.appendingPathComponent("\(setting)/seed-1").path)
            .contains { $0.contains("tfevents") })
        let cached = try CLI.run(Array(arguments.dropLast()), timeout: 300)
        XCTAssertEqual(cached.status, 0, cached.stderr)
        let counts = stageCounts(cached.stderr)
        XCTAssertEqual(counts.count, 2, cached.stderr)
        XCTAssertTrue(counts.allSatisfy { $0.runs == $0.cached && $0.runs > 0 }, cached.stderr)
    }
}
