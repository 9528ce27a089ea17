import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// CSV and JSON-lines metrics: header handling, escaping, per-row persistence, appending on resume.
final class MetricsLoggerTests: XCTestCase {
    private func temporaryFile(_ name: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-metrics-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory.appendingPathComponent(name)
    }

    private func contents(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    func testCSVUnionOfKeysInFirstSeenOrderWithOneHeader() throws {
        let url = try temporaryFile("metrics.csv")
        let logger = try CSVMetricsLogger(url: url)
        try logger.log(["epoch": 1, "train_loss": 0.5])
        // Each row is on disk as soon as log returns.
        XCTAssertEqual(try contents(url), "epoch,train_loss\n1,0.5\n")
        try logger.log(["epoch": 2, "train_loss": 0.25, "test_loss": .number(0.3)])
        try logger.log(["test_loss": 0.2, "epoch": 3])
        try logger.close()
        XCTAssertEqual(try contents(url), "epoch,train_loss,test_loss\n1,0.5,\n2,0.25,0.3\n3,,0.2\n")
        XCTAssertEqual(logger.columns, ["epoch", "train_loss", "test_loss"])
    }

    func testCSVFixedColumnsRejectUnknownKeysAndLeaveMissingCellsEmpty() throws {
        let url = try temporaryFile("fixed.csv")
        let logger = try CSVMetricsLogger(url: url, columns: ["step", "loss", "lr"])
        XCTAssertEqual(try contents(url), "step,loss,lr\n", "header written at creation")
        try logger.log(["step": 10, "loss": .number(.nan)])
        XCTAssertThrowsError(try logger.log(["step": 11, "accuracy": 0.9])) { error in
            XCTAssertEqual((error as? NablaError)?.kind, .invalidArgument)
            XCTAssertTrue("\(error)".contains("'accuracy'"), "\(error)")
        }
        try logger.log(["lr": 1e-5, "step": 12, "loss": .number(-.infinity)])
        XCTAssertEqual(try contents(url), "step,loss,lr\n10,nan,\n12,-inf,1e-05\n")
    }

    func testCSVEscapingRoundTripsThroughTheParser() throws {
        let url = try temporaryFile("escaped.csv")
        let logger = try CSVMetricsLogger(url: url)
        let tricky = "dropout, \"vanilla\"\nline two"
        try logger.log(["run": .text(tricky), "note": "plain", "x,y": 1])
        XCTAssertEqual(try contents(url), "run,note,\"x,y\"\n\"dropout, \"\"vanilla\"\"\nline two\",plain,1\n")
        XCTAssertEqual(try CSVMetricsLogger.parse(try contents(url)), [["run", "note", "x,y"], [tricky, "plain", "1"]])
        XCTAssertEqual(try CSVMetricsLogger.parse("a,b\r\n1,\"\"\r\n\r\n"), [["a", "b"], ["1", ""]])
        XCTAssertThrowsError(try CSVMetricsLogger.parse("a,\"b\n", source: "m.csv")) { error in
            XCTAssertEqual("\(error)", "m.csv: unterminated quoted field at the end")
        }
    }

    func testCSVAppendKeepsEarlierRowsAndHeader() throws {
        let url = try temporaryFile("resume.csv")
        let first = try CSVMetricsLogger(url: url)
        try first.log(["epoch": 1, "loss": 0.9])
        try first.close()
        let resumed = try CSVMetricsLogger(url: url, append: true)
        try resumed.log(["epoch": 2, "loss": 0.8])
        try resumed.log(["epoch": 3, "loss": 0.7, "accuracy": 0.5])
        try resumed.close()
        XCTAssertEqual(try contents(url), "epoch,loss,accuracy\n1,0.9,\n2,0.8,\n3,0.7,0.5\n")
        XCTAssertThrowsError(try CSVMetricsLogger(url: url, columns: ["epoch"], append: true)) { error in
            XCTAssertEqual((error as? NablaError)?.kind, .invalidFile)
        }
        // Without append the file starts over.
        let fresh = try CSVMetricsLogger(url: url)
        try fresh.log(["epoch": 1])
        XCTAssertEqual(try contents(url), "epoch\n1\n")
    }

    func testJSONLinesRowsAreValidJSONInKeyOrder() throws {
        let url = try temporaryFile("metrics.jsonl")
        let logger = try JSONLinesMetricsLogger(url: url)
        try logger.log(["epoch": 1, "loss": 0.25, "run": "L2 \"1e-4\"\n", "diverged": .number(.nan)])
        try logger.log(["epoch": 2, "loss": .number(1e-7)])
        try logger.close()
        let text = try contents(url)
        XCTAssertEqual(text, "{\"epoch\": 1, \"loss\": 0.25, \"run\": \"L2 \\\"1e-4\\\"\\n\", \"diverged\": null}\n"
                       + "{\"epoch\": 2, \"loss\": 1e-07}\n")
        let lines = text.split(separator: "\n")
        let objects = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(objects[0]["run"] as? String, "L2 \"1e-4\"\n")
        XCTAssertEqual(objects[1]["loss"] as? Double, 1e-7)
        XCTAssertTrue(objects[0]["diverged"] is NSNull)

        let appended = try JSONLinesMetricsLogger(url: url, append: true)
        try appended.log(["epoch": 3])
        XCTAssertEqual(try contents(url).split(separator: "\n").count, 3)
        XCTAssertEqual(MetricValue.jsonString("\u{01}tab\t"), "\"\\u0001tab\\t\"")
    }

    func testUnwritableLocationThrowsIOErrorNamingThePath() throws {
        let blocker = try temporaryFile("blocker")
        try FileManager.default.createDirectory(at: blocker.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data().write(to: blocker)
        let target = blocker.appendingPathComponent("metrics.csv")
        XCTAssertThrowsError(try CSVMetricsLogger(url: target)) { error in
            XCTAssertEqual((error as? NablaError)?.kind, .io)
            XCTAssertTrue("\(error)".hasPrefix(target.path), "\(error)")
        }
        XCTAssertThrowsError(try JSONLinesMetricsLogger(url: target)) { error in
            XCTAssertEqual((error as? NablaError)?.kind, .io)
        }
    }
}
