import Foundation

/// A matrix of values as colored cells with their numbers written in — a confusion matrix, or test
/// error over a grid of learning rate × weight decay.
///
/// Row 0 is drawn at the top. Colors follow viridis over ``colorRange`` (the data's range by
/// default; pass the same range to two heatmaps that should be compared cell by cell). Missing
/// values (`nil`, non-finite) are gray. A cell's text is black on light colors, white on dark.
public struct HeatmapChart: Chart {
    /// The heading above the chart.
    public var title: String?
    /// The title under the columns.
    public var xTitle: String?
    /// The title beside the rows.
    public var yTitle: String?
    /// One label per row, top to bottom.
    public var rowLabels: [String]
    /// One label per column, left to right.
    public var columnLabels: [String]
    /// `values[row][column]`.
    public var values: [[Double?]]
    /// The title of the color scale (`val. error (%)`).
    public var colorTitle: String
    /// The values mapped to the ends of the color scale; `nil`: the data's range.
    public var colorRange: ClosedRange<Double>?
    /// Reverse the scale so that low values are bright (errors: low is good).
    public var lowIsBright: Bool
    /// The text of a cell; `nil` writes none.
    public var cellLabel: ((Double) -> String)?
    /// Cells to outline (row, column), e.g. the best one.
    public var highlighted: Set<[Int]>
    /// The SVG's width in user units.
    public var width: Double
    /// The SVG's height in user units.
    public var height: Double

    /// - Precondition: `values` has one row per row label, each with one value per column label.
    public init(title: String? = nil, xTitle: String? = nil, yTitle: String? = nil, rowLabels: [String], columnLabels: [String],
                values: [[Double?]], colorTitle: String, colorRange: ClosedRange<Double>? = nil, lowIsBright: Bool = false,
                cellLabel: ((Double) -> String)? = { String(format: "%.2g", $0) }, highlighted: Set<[Int]> = [],
                width: Double = 560, height: Double = 460) {
        precondition(values.count == rowLabels.count && values.allSatisfy { $0.count == columnLabels.count },
                     "HeatmapChart: values must be \(rowLabels.count) × \(columnLabels.count)")
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.values = values
        self.colorTitle = colorTitle
        self.colorRange = colorRange
        self.lowIsBright = lowIsBright
        self.cellLabel = cellLabel
        self.highlighted = highlighted
        self.width = width
        self.height = height
    }

    /// The chart as SVG: the cells, their labels, the axes' labels and the color scale.
    public func makeSVG() -> SVGDocument {
        let finite = values.flatMap { $0.compactMap { $0 }.filter(\.isFinite) }
        let axis = ChartAxis.numeric(covering: finite, scale: .linear, range: colorRange, targetTickCount: 5)
        let scale = { (v: Double) -> String in
            let t = min(1, max(0, axis.fraction(v) ?? 0))
            return ChartPalette.viridis(lowIsBright ? 1 - t : t)
        }
        let bar = ColorBar(title: colorTitle, axis: axis, color: { scale(axis.lower + $0 * (axis.upper - axis.lower)) })
        let frame = ChartFrame(width: width, height: height, title: title, xTitle: xTitle, yTitle: yTitle, legend: [], colorBar: bar,
                               categoricalX: true,
                               xAxis: { _ in ChartAxis.categorical(columnLabels) },
                               yAxis: { _ in ChartAxis.categorical(rowLabels.reversed()) })
        var svg = SVGDocument(width: width, height: height)
        frame.drawBackground(into: &svg)
        let cellWidth = frame.plot.width / Double(max(1, columnLabels.count))
        let cellHeight = frame.plot.height / Double(max(1, rowLabels.count))
        let fontSize = min(13, max(8, min(cellWidth / 4.2, cellHeight / 2.2)))
        for (r, row) in values.enumerated() {
            for (c, value) in row.enumerated() {
                let x = frame.plot.x + Double(c) * cellWidth, y = frame.plot.y + Double(r) * cellHeight
                guard let value, value.isFinite else {
                    svg.rect(x: x, y: y, width: cellWidth, height: cellHeight, fill: "#dddddd", stroke: "#ffffff", strokeWidth: 1)
                    continue
                }
                let fill = scale(value)
                svg.element("rect", [("x", SVGDocument.number(x)), ("y", SVGDocument.number(y)), ("width", SVGDocument.number(cellWidth)),
                                     ("height", SVGDocument.number(cellHeight)), ("fill", fill), ("stroke", "#ffffff"), ("stroke-width", "1")],
                            content: "<title>\(SVGDocument.escape("\(rowLabels[r]) · \(columnLabels[c]): \(value)"))</title>")
                if let cellLabel {
                    let t = min(1, max(0, axis.fraction(value) ?? 0))
                    let brightness = lowIsBright ? 1 - t : t
                    svg.text(cellLabel(value), x: x + cellWidth / 2, y: y + cellHeight / 2 + fontSize * 0.35, size: fontSize,
                             anchor: "middle", fill: brightness > 0.55 ? "#111111" : "#ffffff")
                }
                if highlighted.contains([r, c]) {
                    svg.rect(x: x + 1.5, y: y + 1.5, width: cellWidth - 3, height: cellHeight - 3, fill: "none", stroke: "#d62728", strokeWidth: 3)
                }
            }
        }
        frame.drawForeground(into: &svg)
        return svg
    }
}
