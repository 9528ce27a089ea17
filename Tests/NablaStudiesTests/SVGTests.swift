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

/// Parses markup with Foundation's XMLParser and records elements, attributes and text.
final class XMLProbe: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    var texts: [String] = []
    private var currentText = ""
    var error: Error?

    /// Parses `markup`; `nil` when it is not well-formed XML.
    static func parse(_ markup: String) -> XMLProbe? {
        let probe = XMLProbe()
        let parser = XMLParser(data: Data(markup.utf8))
        parser.delegate = probe
        guard parser.parse() else {
            probe.error = parser.parserError
            print("XML error: \(String(describing: parser.parserError)) at line \(parser.lineNumber)")
            return nil
        }
        return probe
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        flush()
        elements.append((elementName, attributes))
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        flush()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { currentText += string }

    private func flush() {
        let text = currentText.trimmingCharacters(in: .whitespacesAndNewlines)
        if !text.isEmpty { texts.append(text) }
        currentText = ""
    }

    func count(_ name: String) -> Int { elements.filter { $0.name == name }.count }
}

/// The SVG builder and every chart type: well-formed output, visible names and titles, escaping,
/// nice ticks, clipping and the contour tracer.
final class SVGTests: XCTestCase {
    func testEscapingOfMarkupCharactersAndControlCharacters() {
        XCTAssertEqual(SVGDocument.escape("a<b & c>\"d\" 'e'"), "a&lt;b &amp; c&gt;&quot;d&quot; &#39;e&#39;")
        XCTAssertEqual(SVGDocument.escape("bell\u{07}gone"), "bellgone")
        XCTAssertEqual(SVGDocument.number(3.14159), "3.14")
        XCTAssertEqual(SVGDocument.number(12.0), "12")
        XCTAssertEqual(SVGDocument.number(.nan), "0")
    }

    func testLineChartIsWellFormedAndShowsNamesTitlesAndEscapedLabels() throws {
        let chart = LineChart(title: "Loss <train & test>", xTitle: "epoch", yTitle: "loss (nats)", series: [
            .init(name: "baseline", y: [2.3, 1.2, 0.8, 0.6]),
            .init(name: "L2 <1e-4> & dropout", y: [2.3, 1.4, 1.0, 0.9], dashed: true),
        ], yScale: .logarithmic)
        let svg = chart.svg(standalone: true)
        XCTAssertFalse(svg.contains("<train"), "unescaped label")
        let probe = try XCTUnwrap(XMLProbe.parse(svg))
        for text in ["Loss <train & test>", "epoch", "loss (nats)", "baseline", "L2 <1e-4> & dropout"] {
            XCTAssertTrue(probe.texts.contains(text), "missing text \(text); have \(probe.texts)")
        }
        XCTAssertEqual(probe.count("polyline"), 2)
        XCTAssertEqual(probe.elements.first?.attributes["xmlns"], "http://www.w3.org/2000/svg")
        XCTAssertNil(XMLProbe.parse(chart.svg())?.elements.first?.attributes["xmlns"], "inline SVG needs no namespace")
    }

    func testNonFinitePointsBreakTheLineAndFixedRangesClip() throws {
        let chart = LineChart(series: [.init(name: "diverged", x: [1, 2, 3, 4, 5, 6], y: [1, 2, .nan, 3, 4, 1e9])],
                              yRange: 0...5)
        let probe = try XCTUnwrap(XMLProbe.parse(chart.svg()))
        let polylines = probe.elements.filter { $0.name == "polyline" }
        XCTAssertEqual(polylines.count, 2, "NaN splits the line in two")
        // Every drawn vertex lies inside the plot rectangle (the clipped spike ends at its top edge).
        let plot = try XCTUnwrap(probe.elements.first { $0.name == "rect" && $0.attributes["fill"] == "#fcfcfd" })
        let top = Double(plot.attributes["y"]!)!, bottom = top + Double(plot.attributes["height"]!)!
        for line in polylines {
            for pair in line.attributes["points"]!.split(separator: " ") {
                let y = Double(pair.split(separator: ",")[1])!
                XCTAssertTrue(y >= top - 0.01 && y <= bottom + 0.01, "vertex y=\(y) outside [\(top), \(bottom)]")
            }
        }
    }

    func testNiceLinearTicks() {
        let axis = ChartAxis.numeric(covering: [0.13, 0.87], scale: .linear, targetTickCount: 5)
        XCTAssertEqual(axis.lower, 0, accuracy: 1e-12)
        XCTAssertEqual(axis.upper, 1, accuracy: 1e-12)
        XCTAssertEqual(axis.labels, ["0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        let big = ChartAxis.numeric(covering: [0, 2.5e6], scale: .linear, targetTickCount: 6)
        XCTAssertEqual(big.labels.last, "2.5e6")
        let negative = ChartAxis.numeric(covering: [-7, 2], scale: .linear, targetTickCount: 6)
        XCTAssertEqual(negative.labels.first, "\u{2212}8")
        XCTAssertTrue(negative.labels.contains("0"))
        let constant = ChartAxis.numeric(covering: [3, 3], scale: .linear)
        XCTAssertLessThan(constant.lower, 3)
        XCTAssertGreaterThan(constant.upper, 3)
        XCTAssertEqual(ChartAxis.niceStep(0.23), 0.5)
        XCTAssertEqual(ChartAxis.niceStep(1.7), 2)
        XCTAssertEqual(ChartAxis.niceStep(7), 10)
    }

    func testLogarithmicTicks() {
        let wide = ChartAxis.numeric(covering: [3e-6, 0.02, -1, 0], scale: .logarithmic, targetTickCount: 6)
        XCTAssertEqual(wide.lower, 1e-6, accuracy: 1e-18)
        XCTAssertEqual(wide.upper, 0.1, accuracy: 1e-12)
        XCTAssertEqual(wide.labels, ["10⁻⁶", "10⁻⁵", "10⁻⁴", "0.001", "0.01", "0.1"])
        XCTAssertNil(wide.fraction(0), "non-positive values cannot be drawn on a log axis")
        let narrow = ChartAxis.numeric(covering: [0.3, 4], scale: .logarithmic)
        XCTAssertEqual(narrow.labels, ["0.1", "0.2", "0.5", "1", "2", "5", "10"])
        XCTAssertFalse(narrow.minorTicks.isEmpty)
    }

    func testTitlesWiderThanTheChartAreSqueezedInsideIt() throws {
        // A report's titles are data-dependent ("<variant>: test accuracy per class (mean and 95% CI …)"):
        // shrinking the font stops at a floor, so past it the title must be squeezed, never clipped.
        for (title, width) in [(String(repeating: "Validation accuracy per epoch ", count: 4), 300.0),
                               ("Overfitting regime (MLP, 2000 images): validation accuracy (mean and 95% CI over seeds)", 560.0),
                               ("Short title", 300.0)] {
            let chart = LineChart(title: title, series: [.init(name: "a", y: [1, 2, 3])], width: width, height: 200)
            let probe = try XCTUnwrap(XMLProbe.parse(chart.svg()))
            let text = try XCTUnwrap(probe.elements.first { $0.name == "text" && $0.attributes["font-weight"] == "bold" }, title)
            let size = Double(text.attributes["font-size"]!)!
            let drawn = text.attributes["textLength"].map { Double($0)! }
                ?? SVGDocument.estimatedWidth(of: title, fontSize: size) * 1.1
            XCTAssertLessThanOrEqual(drawn, width - 16 + 1e-9, "title of \(title.count) characters overflows a \(width)-wide chart")
            XCTAssertEqual(text.attributes["textLength"] == nil, title == "Short title", "only overlong titles are squeezed")
        }
    }

    func testCrowdedXTickLabelsAreThinnedUntilTheyFit() throws {
        let chart = LineChart(series: [.init(name: "", x: [1_000_000, 9_000_000], y: [0, 1])], width: 260, height: 200)
        let probe = try XCTUnwrap(XMLProbe.parse(chart.svg()))
        let labels = probe.elements.filter { $0.name == "text" && $0.attributes["text-anchor"] == "middle" }
        XCTAssertGreaterThanOrEqual(labels.count, 2)
        let xs = labels.map { Double($0.attributes["x"]!)! }.sorted()
        for (a, b) in zip(xs, xs.dropFirst()) { XCTAssertGreaterThan(b - a, 40, "tick labels closer than 40 units") }
    }

    func testScatterPlotColoredByValueHasColorBarAndShapes() throws {
        let points = (0..<20).map { (i: Int) -> ScatterPlot.Point in
            let x: Double = pow(10, -4 + Double(i) / 5), y: Double = pow(10, -6 + Double(i % 7) / 2)
            return ScatterPlot.Point(x: x, y: y, value: Double(i) / 20, label: i == 19 ? "best" : nil)
        }
        let chart = ScatterPlot(title: "Random search", xTitle: "learning rate", yTitle: "weight decay",
                                series: [.init(name: "trial", points: points)], xScale: .logarithmic, yScale: .logarithmic,
                                colorTitle: "val accuracy")
        let probe = try XCTUnwrap(XMLProbe.parse(chart.svg(standalone: true)))
        for text in ["Random search", "learning rate", "weight decay", "val accuracy", "best"] {
            XCTAssertTrue(probe.texts.contains(text), "missing \(text)")
        }
        XCTAssertGreaterThanOrEqual(probe.count("circle"), 20)
        let fills = Set(probe.elements.filter { $0.name == "circle" }.compactMap { $0.attributes["fill"] })
        XCTAssertGreaterThan(fills.count, 10, "points colored by value")
    }

    func testHistogramBinsDensityAndOverlay() throws {
        let a = HistogramChart.Series(name: "no decay", values: [0, 0.1, 0.2, 0.9, 1.0])
        let b = HistogramChart.Series(name: "decay 1e-2", values: [0.4, 0.5, 0.5, .nan])
        let chart = HistogramChart(title: "Weights", xTitle: "weight", series: [a, b], binCount: 5, density: true)
        let heights = chart.binHeights()
        let expected: [Double] = [2, 1, 0, 0, 2].map { $0 / (5 * 0.2) }
        XCTAssertEqual(heights[0], expected, "last bin holds 1.0")
        for series in heights { XCTAssertEqual(series.reduce(0, +) * 0.2, 1, accuracy: 1e-12) }
        let probe = try XCTUnwrap(XMLProbe.parse(chart.svg()))
        XCTAssertEqual(probe.count("path"), 2, "one outline per overlaid series")
        XCTAssertTrue(probe.texts.contains("decay 1e-2"))
        XCTAssertTrue(probe.texts.contains("density"))
        let single = HistogramChart(series: [a], binCount: 5)
        XCTAssertEqual(XMLProbe.parse(single.svg())?.elements.filter { $0.name == "rect" && $0.attributes["fill-opacity"] == "0.8" }.count, 3)
    }

    func testContourTracingOfACircleAndPathsOverIt() throws {
        let plot = ContourPlot(function: { x, y in x * x + y * y }, xRange: -2...2, yRange: -2...2,
                               levels: [1], resolution: 40)
        let lines = plot.trace(level: 1, values: plot.sample())
        XCTAssertEqual(lines.count, 1, "one closed loop")
        let loop = try XCTUnwrap(lines.first)
        XCTAssertEqual(loop.first!.x, loop.last!.x)
        XCTAssertEqual(loop.first!.y, loop.last!.y)
        for p in loop {
            let x = -2 + 4 * p.x / 40, y = -2 + 4 * p.y / 40
            XCTAssertEqual((x * x + y * y).squareRoot(), 1, accuracy: 0.01)
        }
        let bowl = ContourPlot(title: "f(x, y) = x²/20 + y²", function: { x, y in x * x / 20 + y * y },
                               xRange: -10...10, yRange: -5...5,
                               paths: [.init(name: "SGD", points: [(-7, 2), (-6.5, -1.5), (-6, 1), (-30, 40)])],
                               markers: [.init(x: 0, y: 0, label: "minimum")])
        let probe = try XCTUnwrap(XMLProbe.parse(bowl.svg(standalone: true)))
        XCTAssertTrue(probe.texts.contains("SGD"))
        XCTAssertTrue(probe.texts.contains("minimum"))
        XCTAssertTrue(probe.texts.contains("f(x, y)"))
        XCTAssertGreaterThan(probe.count("polyline"), 8, "contour levels were traced")
        let levels = bowl.resolvedLevels(bowl.sample()).levels
        XCTAssertTrue(levels.contains(1) && levels.contains(10) && levels.contains(0.5), "\(levels)")
    }

    func testBarChartRotatesLongCategoryNamesAndPrintsValues() throws {
        let categories = ["baseline", "L2 weight decay", "elastic net", "inverted dropout", "batch norm + dropout"]
        let chart = BarChart(title: "Generalization gap", yTitle: "train − test accuracy", categories: categories,
                             series: [.init(name: "gap", values: [0.2, 0.1, 0.12, 0.08, -0.01])],
                             valueLabel: { String(format: "%.2f", $0) }, width: 480)
        let probe = try XCTUnwrap(XMLProbe.parse(chart.svg()))
        XCTAssertTrue(probe.elements.contains { $0.name == "text" && ($0.attributes["transform"] ?? "").hasPrefix("rotate(-35") })
        XCTAssertTrue(probe.texts.contains("0.20"))
        XCTAssertTrue(probe.texts.contains("−0.01") || probe.texts.contains("-0.01"))
        XCTAssertEqual(probe.elements.filter { $0.name == "rect" && $0.attributes["fill-opacity"] == "0.85" }.count, 5)
        let grouped = BarChart(categories: ["a", "b"], series: [.init(name: "train", values: [1, 2]), .init(name: "test", values: [1, .nan])])
        let groupedProbe = try XCTUnwrap(XMLProbe.parse(grouped.svg()))
        XCTAssertEqual(groupedProbe.elements.filter { $0.name == "rect" && $0.attributes["fill-opacity"] == "0.85" }.count, 3)
        XCTAssertTrue(groupedProbe.texts.contains("test"), "legend for several series")
    }

    func testDegenerateInputsStillRenderWellFormedCharts() {
        let charts: [any Chart] = [
            LineChart(series: []),
            LineChart(series: [.init(name: "one point", y: [0.5])]),
            LineChart(series: [.init(name: "all NaN", y: [.nan, .nan])], yScale: .logarithmic),
            ScatterPlot(series: [], colorTitle: "value"),
            HistogramChart(series: [.init(name: "empty", values: [])]),
            HistogramChart(series: [.init(name: "constant", values: [2, 2, 2])], yScale: .logarithmic),
            BarChart(categories: [], series: []),
            ContourPlot(function: { _, _ in 1 }, xRange: 0...1, yRange: 0...1),
            ContourPlot(function: { x, _ in x > 0.5 ? .nan : x }, xRange: 0...1, yRange: 0...1),
        ]
        for (i, chart) in charts.enumerated() {
            let svg = chart.svg()
            XCTAssertNotNil(XMLProbe.parse(svg), "chart \(i)")
            XCTAssertFalse(svg.contains("nan") || svg.contains("inf"), "chart \(i) wrote a non-finite coordinate")
        }
    }

    func testPaletteHasTwelveDistinctColorsThenDashes() {
        XCTAssertEqual(Set(ChartPalette.series).count, 12)
        XCTAssertNil(ChartPalette.dash(forSeries: 11))
        XCTAssertNotNil(ChartPalette.dash(forSeries: 12))
        XCTAssertEqual(ChartPalette.viridis(0), "#440154")
        XCTAssertEqual(ChartPalette.viridis(1), "#fde725")
    }
}
