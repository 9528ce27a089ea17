import Foundation
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
import XCTest

/// The HTML report: self-contained (no network, no scripts), well-formed, escaped, with formatted
/// tables; and a sample page with every chart type (set `NABLA_SAMPLE_REPORT=/path/report.html` to
/// keep it for a look in a browser).
final class ReportTests: XCTestCase {
    func testNumberFormats() {
        XCTAssertEqual(NumberFormat.fixed(3).string(0.12345), "0.123")
        XCTAssertEqual(NumberFormat.significant(3).string(0.000123456), "0.000123")
        XCTAssertEqual(NumberFormat.significant(3).string(1_234_567), "1.23e+06")
        XCTAssertEqual(NumberFormat.scientific(2).string(0.000125), "1.25e-04")
        XCTAssertEqual(NumberFormat.percent(1).string(0.9041), "90.4%")
        XCTAssertEqual(NumberFormat.fixed(2).string(.nan), "NaN")
        XCTAssertEqual(NumberFormat.fixed(2).string(-.infinity), "-inf")
    }

    func testTableHTMLAndPlainText() {
        var table = ReportTable(columns: ["run", "test acc", "gap"], caption: "Results <quick>")
        table.append([.text("baseline"), .percent(0.8512), .number(0.1234, .fixed(3))])
        table.append(["L2 & dropout", .percent(0.8731).emphasized(), .number(0.05, .fixed(3))])
        let html = table.html
        XCTAssertTrue(html.contains("<caption>Results &lt;quick&gt;</caption>"))
        XCTAssertTrue(html.contains("<td>L2 &amp; dropout</td>"))
        XCTAssertTrue(html.contains("<td class=\"num\"><strong>87.3%</strong></td>"))
        XCTAssertTrue(html.contains("<td class=\"num\">0.123</td>"))
        XCTAssertTrue(html.contains("<th>run</th><th class=\"num\">test acc</th>"), "numeric headers align right")
        XCTAssertEqual(table.plainText, """
        run           test acc    gap
        ------------  --------  -----
        baseline         85.1%  0.123
        L2 & dropout     87.3%  0.050
        """)
    }

    func testPageIsSelfContainedWellFormedAndEscaped() throws {
        var report = HTMLReport(title: "Study <A & B>", subtitle: "seed 0 & friends")
        report.heading("Results & <tables>")
        report.paragraph("Loss < 0.1 & accuracy > 90%")
        report.table(ReportTable(columns: ["a<b"], rows: [[.text("x & y")]]))
        report.heading("Charts")
        report.chart(LineChart(title: "curve <1>", series: [.init(name: "s&t", y: [1, 2, 3])]), caption: "a <caption>")
        report.heading("Reproduce")
        report.preformatted("nabla train --model <m> --lr 1e-3 && echo done", caption: "Command")
        report.list(["one <1>", "two & three"])
        let html = report.render()
        for forbidden in ["http", "<script", "<link", "src=", "url(", "@import", "<img", "<iframe"] {
            XCTAssertFalse(html.lowercased().contains(forbidden), "page contains \(forbidden)")
        }
        XCTAssertTrue(html.contains("<pre>nabla train --model &lt;m&gt; --lr 1e-3 &amp;&amp; echo done</pre>"))
        XCTAssertTrue(html.contains("<nav>"), "table of contents with three sections")
        XCTAssertTrue(html.contains("<a href=\"#results-tables\">Results &amp; &lt;tables&gt;</a>"))
        let probe = try XCTUnwrap(XMLProbe.parse(html), "the page is well-formed XML")
        for text in ["Study <A & B>", "Loss < 0.1 & accuracy > 90%", "a<b", "x & y", "curve <1>", "s&t", "a <caption>",
                     "one <1>", "two & three"] {
            XCTAssertTrue(probe.texts.contains(text), "missing \(text)")
        }
        XCTAssertEqual(probe.count("svg"), 1)
        XCTAssertEqual(probe.count("h2"), 3)
    }

    func testWriteIsAtomicAndReportsUnwritablePaths() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-report-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("out/report.html")
        var report = HTMLReport(title: "first")
        try report.write(to: url)
        report.title = "second"
        try report.write(to: url)
        XCTAssertTrue(try String(contentsOf: url, encoding: .utf8).contains("<h1>second</h1>"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path), ["report.html"],
                       "no temporary files left behind")
        let blocked = url.appendingPathComponent("inside-a-file.html")
        XCTAssertThrowsError(try report.write(to: blocked)) { error in
            XCTAssertEqual((error as? NablaError)?.kind, .io)
            XCTAssertTrue("\(error)".hasPrefix(blocked.path), "\(error)")
        }
    }

    func testSampleReportWithEveryChartType() throws {
        let report = SampleReport.make()
        let html = report.render()
        XCTAssertNotNil(XMLProbe.parse(html))
        XCTAssertFalse(html.contains("http"))
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 6)
        if let path = ProcessInfo.processInfo.environment["NABLA_SAMPLE_REPORT"] {
            try report.write(to: URL(fileURLWithPath: path))
            print("sample report written to \(path)")
        }
    }
}

/// A report shaped like the regularization and optimizer studies, with synthetic but plausible data.
enum SampleReport {
    static func make() -> HTMLReport {
        var generator = RandomGenerator(seed: 42)
        let variants = ["baseline", "L2 (weight decay 5e-4)", "L1 1e-5", "elastic net", "dropout 0.5 (inverted)",
                        "dropout 0.5 (vanilla)", "BatchNorm", "BatchNorm + dropout", "augmentation", "stochastic depth",
                        "all combined", "bad init N(0,1)"]
        var train: [LineChart.Series] = [], test: [LineChart.Series] = []
        var table = ReportTable(columns: ["variant", "train acc", "test acc", "gap", "test loss", "sparsity", "seconds"],
                                caption: "Fashion-MNIST, 2,000 training images, 20 epochs")
        var gaps: [Double] = []
        for (i, name) in variants.enumerated() {
            let strength = Double(i) / Double(variants.count)
            let trainLoss = (1...20).map { e in 2.3 * exp(-Double(e) * (0.35 - 0.12 * strength)) + 0.01 }
            let testLoss = (1...20).map { e in 0.45 + 0.6 * exp(-Double(e) * 0.4) + (0.25 - 0.2 * strength) * Double(e) / 20 }
            train.append(.init(name: name, y: trainLoss))
            test.append(.init(name: name, y: testLoss))
            let trainAccuracy = 1 - trainLoss.last! / 3, testAccuracy = 0.78 + 0.06 * strength + 0.01 * generator.nextNormal()
            gaps.append(trainAccuracy - testAccuracy)
            let row: [ReportTable.Cell] = [.text(name), .percent(trainAccuracy), .percent(testAccuracy),
                                           .number(trainAccuracy - testAccuracy, .fixed(3)), .number(testLoss.last!, .fixed(4)),
                                           .percent(i == 2 ? 0.41 : 0.0), .number(3 + generator.nextUnit(), .fixed(1))]
            table.append(i == 10 ? row.map { $0.emphasized() } : row)
        }
        var report = HTMLReport(title: "Nabla study: regularization", subtitle: "sample page generated by ReportTests")
        report.heading("Results")
        report.paragraph("Each variant trains the same network on the same 2,000 images; the gap is train minus test accuracy.")
        report.table(table)
        report.heading("Learning curves")
        report.charts([
            (LineChart(title: "Training loss", xTitle: "epoch", yTitle: "cross-entropy", series: train, yScale: .logarithmic), nil),
            (LineChart(title: "Test loss", xTitle: "epoch", yTitle: "cross-entropy", series: test), "Lower is better."),
        ])
        report.chart(BarChart(title: "Generalization gap", yTitle: "train − test accuracy", categories: variants,
                              series: [.init(name: "gap", values: gaps)], valueLabel: { String(format: "%.2f", $0) },
                              width: 900, height: 360))
        report.heading("Weight decay and dropout on the noisy line")
        let weights = { (scale: Double) in (0..<3000).map { _ in scale * generator.nextNormal() } }
        report.charts([
            (HistogramChart(title: "Hidden-layer weights", xTitle: "weight",
                            series: [.init(name: "no regularization", values: weights(0.3)),
                                     .init(name: "weight decay 1e-2", values: weights(0.12)),
                                     .init(name: "dropout 0.5", values: weights(0.2))], binCount: 50, density: true),
             "Decay concentrates the weights near zero."),
            (ScatterPlot(title: "Random search", xTitle: "learning rate", yTitle: "weight decay",
                         series: [.init(name: "trial", points: (0..<40).map { i in
                             let lr = pow(10, -5 + 4 * generator.nextUnit()), wd = pow(10, -8 + 4 * generator.nextUnit())
                             let accuracy = 0.9 - 0.08 * pow(log10(lr) + 2, 2) - 0.01 * generator.nextUnit()
                             return ScatterPlot.Point(x: lr, y: wd, value: accuracy, label: i == 7 ? "best" : nil)
                         })], xScale: .logarithmic, yScale: .logarithmic, colorTitle: "val accuracy"), nil),
        ])
        report.heading("Optimizers on f(x, y) = x²/20 + y²")
        report.chart(ContourPlot(title: "Paths from (−7, 2)", function: { x, y in x * x / 20 + y * y },
                                 xRange: -10...10, yRange: -5...5, paths: optimizerPaths(),
                                 markers: [.init(x: 0, y: 0, label: "minimum")], width: 900, height: 460))
        report.heading("Reproduce")
        report.preformatted("nabla study regularization --seed 0 --epochs 20 --train-subset 2000", caption: "Command")
        report.preformatted("""
        model: lenet-bn
        optimizer: adam (lr 1e-3, betas 0.9,0.999)
        batch size: 128
        """, caption: "Configuration <baseline>")
        return report
    }

    /// Thirty steps of SGD, Momentum, AdaGrad and Adam on x²/20 + y² (the DL-from-scratch book's settings).
    static func optimizerPaths() -> [ContourPlot.Path] {
        func gradient(_ p: (Double, Double)) -> (Double, Double) { (p.0 / 10, 2 * p.1) }
        var paths: [ContourPlot.Path] = []
        var p = (-7.0, 2.0), points = [(x: -7.0, y: 2.0)]
        for _ in 0..<30 { let g = gradient(p); p = (p.0 - 0.95 * g.0, p.1 - 0.95 * g.1); points.append((p.0, p.1)) }
        paths.append(.init(name: "SGD (lr 0.95)", points: points))
        p = (-7, 2); points = [(-7, 2)]
        var v = (0.0, 0.0)
        for _ in 0..<30 {
            let g = gradient(p); v = (0.9 * v.0 - 0.1 * g.0, 0.9 * v.1 - 0.1 * g.1); p = (p.0 + v.0, p.1 + v.1)
            points.append((p.0, p.1))
        }
        paths.append(.init(name: "Momentum (lr 0.1)", points: points))
        p = (-7, 2); points = [(-7, 2)]
        var h = (0.0, 0.0)
        for _ in 0..<30 {
            let g = gradient(p); h = (h.0 + g.0 * g.0, h.1 + g.1 * g.1)
            p = (p.0 - 1.5 * g.0 / (h.0.squareRoot() + 1e-7), p.1 - 1.5 * g.1 / (h.1.squareRoot() + 1e-7))
            points.append((p.0, p.1))
        }
        paths.append(.init(name: "AdaGrad (lr 1.5)", points: points))
        p = (-7, 2); points = [(-7, 2)]
        var m = (0.0, 0.0), s = (0.0, 0.0)
        for t in 1...30 {
            let g = gradient(p)
            m = (0.9 * m.0 + 0.1 * g.0, 0.9 * m.1 + 0.1 * g.1)
            s = (0.999 * s.0 + 0.001 * g.0 * g.0, 0.999 * s.1 + 0.001 * g.1 * g.1)
            let c1 = 1 - pow(0.9, Double(t)), c2 = 1 - pow(0.999, Double(t))
            p = (p.0 - 0.3 * (m.0 / c1) / ((s.0 / c2).squareRoot() + 1e-8), p.1 - 0.3 * (m.1 / c1) / ((s.1 / c2).squareRoot() + 1e-8))
            points.append((p.0, p.1))
        }
        paths.append(.init(name: "Adam (lr 0.3)", points: points))
        return paths
    }
}

extension ReportTests {
    /// The report's machine line names the CPU from /proc/cpuinfo's first entry (x86 and arm64 forms).
    func testMachineLineNamesTheProcessor() {
        let x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\n\n"
            + "processor\t: 1\ncpu family\t: 6\nmodel\t\t: 143\nmodel name\t: Intel(R) Xeon(R) Platinum 8481C\n"
        XCTAssertEqual(StudyReport.processorName(cpuinfo: x86), "AMD EPYC (family 25 model 17)")
        let noFamily = "processor\t: 0\nmodel name\t: Some CPU\n"
        XCTAssertEqual(StudyReport.processorName(cpuinfo: noFamily), "Some CPU")
        XCTAssertNil(StudyReport.processorName(cpuinfo: "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n"))
        XCTAssertNil(StudyReport.processorName(cpuinfo: ""))
        XCTAssertTrue(StudyReport.subtitle(seconds: 12).hasSuffix("cores · 12 s"))
    }
}
