import Foundation
import XCTest
import NablaTestSupport

/// `nabla lr-find` on a tiny net: the curve in the terminal, SVG/HTML/CSV files, the suggestion line,
/// and one-line usage errors.
final class LRFindCLITests: XCTestCase {
    func testLRFindDrawsTheCurveAndSuggestsARate() throws {
        let directory = try DataTestSupport.temporaryDirectory(self)
        let svg = directory.appendingPathComponent("lr.svg"), html = directory.appendingPathComponent("lr.html")
        let csv = directory.appendingPathComponent("lr.csv")
        let r = try CLI.run(["lr-find", "--model", "fcnet:16", "--data", "synthetic:spirals?n=100", "--batch-size", "20",
                             "--optimizer", "adam", "--steps", "40", "--start-lr", "1e-5", "--end-lr", "1",
                             "--svg", svg.path, "--html", html.path, "--csv", csv.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.contains("│") && $0.contains("*") }, r.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("rule: steepest descent") }, r.stdout)
        let last = try XCTUnwrap(lines.last)
        XCTAssertTrue(last.hasPrefix("suggestion\tlr="), last)
        XCTAssertTrue(last.contains("\tmin_over_10="), last)
        XCTAssertTrue(try String(contentsOf: svg, encoding: .utf8).contains("<svg"))
        let page = try String(contentsOf: html, encoding: .utf8)
        XCTAssertTrue(page.contains("Suggested learning rate") && page.contains("Learning-rate range test"))
        XCTAssertEqual(try String(contentsOf: csv, encoding: .utf8).split(separator: "\n").count, 1 + Int(last.split(separator: "=").last!)!)
    }

    func testUsageErrorsAreOneLine() throws {
        let common = ["lr-find", "--model", "fcnet:8", "--data", "synthetic:spirals"]
        for (arguments, expected) in [
            (["--lr", "0.1"], "nabla: --lr does not apply to lr-find (use --start-lr and --end-lr)"),
            (["--schedule", "cosine:5"], "nabla: --schedule does not apply to lr-find (the sweep sets the learning rate)"),
            (["--start-lr", "1", "--end-lr", "0.1"], "nabla: lr-find: needs 0 < start < end, got start 1.0 and end 0.1"),
            (["--steps", "1"], "nabla: lr-find: needs at least 2 steps, got 1"),
        ] {
            let r = try CLI.run(common + arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderr)")
            XCTAssertEqual(r.stderr, expected + "\n", "\(arguments)")
        }
    }
}
