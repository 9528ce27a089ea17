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

/// `nabla study …` end to end on tiny generated data: the reports hold every variant and chart, the
/// logs exist, and a run's `nabla train` command repeats it exactly.
final class StudyCLITests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-study-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    static let tiny = ["--data", StudyData.syntheticSpec, "--train-subset", "64", "--test-subset", "64", "--epochs", "2"]

    func testRegularizationQuickReportHasEveryVariantAndChart() throws {
        let out = directory.appendingPathComponent("reg")
        let r = try CLI.run(["study", "regularization", "--quick"] + Self.tiny + ["--line-epochs", "20", "--init-epochs", "2",
                             "--output", out.path], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        let names = ["Baseline", "L2 weight decay", "L2 penalty", "L1 penalty", "Elastic net", "Dropout (inverted)", "Dropout (vanilla)",
                     "BatchNorm", "BatchNorm + dropout", "Data augmentation", "Residual net", "Stochastic depth", "All combined",
                     "no regularization", "weight decay 1e-2", "dropout 0.5", "normal(0,1)", "Xavier normal", "Kaiming normal",
                     "normal(0,1) + BatchNorm"]
        for name in names { XCTAssertTrue(html.contains(">\(name)<"), "report lacks run '\(name)'") }
        let charts = ["Generalization gap", "Accuracy gap", "Test accuracy", "Penalties: test loss", "Penalties: accuracy gap",
                      "Dropout and BatchNorm: test loss", "Augmentation, stochastic depth, all combined: accuracy gap",
                      "Weight distribution (all Linear weights)", "Weight decay: fitted curves", "Dropout: fitted curves",
                      "Training MSE (evaluation mode)", "Weights: no decay vs weight decay", "Weights: dropout 0 vs 0.5",
                      "Training loss (evaluation mode)"]
        for title in charts { XCTAssertTrue(html.contains("<title>\(title)</title>"), "report lacks chart '\(title)'") }
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 18)  // 10 regularization, 6 line, 2 initialization
        XCTAssertTrue(html.replacingOccurrences(of: " \\\n  ", with: " ")
            .contains("nabla study regularization --seed 0 --data synthetic-images --train-subset 64 --test-subset 64 --epochs 2"))
        XCTAssertTrue(html.contains("Dropout scale: inverted vs vanilla"))
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "the report must not fetch anything")
        _ = try XMLDocument(data: Data(html.utf8), options: [])  // well-formed

        // Terminal: the results tables and where the report is.
        XCTAssertTrue(r.stdout.contains("All combined"), r.stdout)
        XCTAssertTrue(r.stdout.contains("report: \(out.appendingPathComponent("report.html").path)"), r.stdout)
        XCTAssertTrue(r.stderr.contains("[13/13] All combined"), r.stderr)

        // Logs per run, results.csv, the generated data set.
        let runs = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("runs").path)
        XCTAssertEqual(Set(runs).count, 20, "\(runs)")
        for run in ["baseline", "line-plain", "init-normal"] {
            let files = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("runs/\(run)").path)
            XCTAssertTrue(files.contains { $0.hasPrefix("events.out.tfevents.") }, "\(run): \(files)")
            XCTAssertTrue(files.contains("metrics.csv") && files.contains("model.yaml"), "\(run): \(files)")
        }
        let csv = try String(contentsOf: out.appendingPathComponent("results.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 1 + 20)

        // A run's own command repeats it exactly: BatchNorm, dropout, decay and augmentation at once.
        for key in ["combined", "init-normal"] {
            // key,"name",epochs,train_loss,train_accuracy,test_loss,…: the fields after the quoted name.
            let line = csv.split(separator: "\n").first { $0.hasPrefix(key + ",") }!
            let row = line.components(separatedBy: "\",").last!.split(separator: ",").map(String.init)
            let model = try XCTUnwrap(html.range(of: "--model \(out.path)/runs/\(key)/model.yaml"), key)
            let start = try XCTUnwrap(html.range(of: "<pre>", options: .backwards, range: html.startIndex..<model.lowerBound))
            let end = try XCTUnwrap(html.range(of: "</pre>", range: model.upperBound..<html.endIndex))
            let command = html[start.lowerBound..<end.lowerBound].dropFirst("<pre>".count).replacingOccurrences(of: " \\\n", with: " ")
            let words = command.split(separator: " ").map(String.init)
            XCTAssertEqual(Array(words.prefix(2)), ["nabla", "train"])
            let again = try CLI.run(Array(words.dropFirst()) + ["--quiet"], timeout: 120)
            XCTAssertEqual(again.status, 0, again.stderr)
            let fields = Dictionary(uniqueKeysWithValues: again.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                .split(separator: "\t").dropFirst().map { f -> (String, Double) in
                    let kv = f.split(separator: "=")
                    return (String(kv[0]), Double(kv[1])!)
                })
            let (trainLoss, testLoss) = (Double(row[1])!, Double(row[3])!)
            XCTAssertEqual(fields["train_loss"]!, trainLoss, accuracy: 1e-5 * max(1, abs(trainLoss)), key)
            XCTAssertEqual(fields["test_loss"]!, testLoss, accuracy: 1e-5 * max(1, abs(testLoss)), key)
        }
    }

    func testOptimizerAndSearchStudiesWriteTheirReports() throws {
        let optimizers = directory.appendingPathComponent("opt")
        let r = try CLI.run(["study", "optimizers"] + Self.tiny + ["--path-steps", "10", "--output", optimizers.path, "--quiet"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        let html = try String(contentsOf: optimizers.appendingPathComponent("report.html"), encoding: .utf8)
        for name in ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW"] {
            XCTAssertTrue(html.contains(">\(name)<"), name)
        }
        for title in ["f(x, y) = x²/20 + y² from (−7, 2), 10 steps", "Training loss (evaluation mode)", "Test accuracy"] {
            XCTAssertTrue(html.contains("<title>\(title)</title>"), title)
        }
        XCTAssertTrue(r.stdout.contains("Paths on f(x, y)"), r.stdout)

        let search = directory.appendingPathComponent("search")
        let s = try CLI.run(["study", "search", "--data", StudyData.syntheticSpec, "--train-subset", "100", "--trials", "4", "--epochs", "2",
                             "--output", search.path], timeout: 300)
        XCTAssertEqual(s.status, 0, s.stderr)
        let page = try String(contentsOf: search.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("<title>Validation accuracy of 4 random trials</title>"))
        XCTAssertTrue(page.contains("weight decay (log scale)"))
        XCTAssertTrue(page.contains("--val-split 0.2 "))
        XCTAssertTrue(s.stdout.contains("rank"), s.stdout)
        XCTAssertTrue(s.stderr.contains("[4/4] trial 4"), s.stderr)
    }

    func testBadStudyFlagsFailWithOneLine() throws {
        let cases: [([String], Int32, String)] = [
            (["study", "regularization", "--variants", "nope"], 2, "--variants nope: unknown variant"),
            (["study", "regularization", "--quick", "--full"], 2, "--quick and --full are exclusive"),
            (["study", "search", "--lr-range", "1,0.1"], 2, "--lr-range 1,0.1"),
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
}
