import Foundation

/// The layout shared by every chart: title on top, plot area with grid, axes with ticks and tick labels,
/// axis titles, and a right-hand column with the legend and/or a color bar.
///
/// Margins are measured from the text they must hold (estimated glyph widths), and the number of ticks
/// is reduced until the tick labels of the x axis no longer overlap; category labels that still do not
/// fit are rotated by 35°. Everything outside the plot area lives in the margins, so legends never
/// cover data.
struct ChartFrame {
    static let tickFont = 12.0, axisTitleFont = 13.0, titleFont = 15.0, legendFont = 12.0

    let width: Double, height: Double
    let title: String?, xTitle: String?, yTitle: String?
    let xAxis: ChartAxis, yAxis: ChartAxis
    let legend: [LegendEntry]
    let colorBar: ColorBar?
    let rotateXLabels: Bool
    let categoricalX: Bool
    /// The plot rectangle.
    let plot: (x: Double, y: Double, width: Double, height: Double)
    let legendWidth: Double

    /// Lays out a chart.
    /// - Parameters:
    ///   - xAxis: builds the x axis for a target tick count (called until the labels fit).
    ///   - yAxis: builds the y axis for a target tick count.
    ///   - categoricalX: x labels are category names (may be rotated rather than thinned out).
    init(width: Double, height: Double, title: String?, xTitle: String?, yTitle: String?,
         legend: [LegendEntry], colorBar: ColorBar? = nil, categoricalX: Bool = false,
         xAxis makeX: (Int) -> ChartAxis, yAxis makeY: (Int) -> ChartAxis) {
        self.width = width
        self.height = height
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.legend = legend
        self.colorBar = colorBar
        self.categoricalX = categoricalX
        let width16 = { (s: String, size: Double) in SVGDocument.estimatedWidth(of: s, fontSize: size) }

        // Right column: legend entries and/or the color bar.
        let legendLabels = legend.map { Self.truncated($0.name, to: 26) }
        legendWidth = legend.isEmpty ? 0 : min(190, legendLabels.map { width16($0, Self.legendFont) }.max() ?? 0) + 34
        var colorBarWidth = 0.0
        if let colorBar {
            let labelWidth = colorBar.axis.labels.map { width16($0, 11) }.max() ?? 0
            colorBarWidth = max(14 + 6 + labelWidth, min(150, width16(colorBar.title, 12)))
        }
        let right = 14 + (legend.isEmpty && colorBar == nil ? 0 : max(legendWidth, colorBarWidth) + 12)
        let top = title == nil ? 14.0 : 40.0
        var bottom = 10 + Self.tickFont + 12 + (xTitle == nil ? 0 : 22)

        // y axis first (its labels set the left margin), then x axis; rotated category labels need a
        // taller bottom margin, which changes the y axis, hence the second pass.
        var yAxis = makeY(6), xAxis = makeX(6)
        var left = 0.0, plotWidth = 0.0, plotHeight = 0.0, rotate = false
        for pass in 0..<2 {
            plotHeight = height - top - bottom
            yAxis = makeY(max(2, min(10, Int(plotHeight / 48))))
            let yLabelWidth = yAxis.labels.map { width16($0, Self.tickFont) }.max() ?? 0
            left = 10 + (yTitle == nil ? 0 : 24) + yLabelWidth + 8
            plotWidth = width - left - right
            if categoricalX {
                xAxis = makeX(0)
                let slot = plotWidth / Double(max(1, xAxis.ticks.count))
                let widest = xAxis.labels.map { width16(Self.truncated($0, to: 22), Self.tickFont) }.max() ?? 0
                rotate = widest + 6 > slot
                if rotate && pass == 0 {
                    bottom += widest * sin(35 * Double.pi / 180) + 4
                    continue
                }
            } else {
                var target = max(2, min(12, Int(plotWidth / 70)))
                while true {
                    xAxis = makeX(target)
                    let positions = xAxis.ticks.compactMap { xAxis.fraction($0) }.map { $0 * plotWidth }
                    let widths = xAxis.labels.map { width16($0, Self.tickFont) }
                    var fits = true
                    for i in positions.indices.dropFirst() where positions[i] - positions[i - 1] < (widths[i] + widths[i - 1]) / 2 + 10 {
                        fits = false
                    }
                    if fits || target <= 2 { break }
                    target -= 1
                }
            }
            break
        }
        self.xAxis = xAxis
        self.yAxis = yAxis
        self.rotateXLabels = rotate
        plot = (left, top, max(40, plotWidth), max(40, plotHeight))
    }

    /// The horizontal position of `value`, or `nil` if it cannot be drawn.
    func x(_ value: Double) -> Double? { xAxis.fraction(value).map { plot.x + $0 * plot.width } }
    /// The vertical position of `value` (larger values higher), or `nil`.
    func y(_ value: Double) -> Double? { yAxis.fraction(value).map { plot.y + (1 - $0) * plot.height } }
    /// The point for (x, y), or `nil` if either coordinate cannot be drawn.
    func point(_ x: Double, _ y: Double) -> ChartPoint? {
        guard let px = self.x(x), let py = self.y(y) else { return nil }
        return ChartPoint(x: px, y: py)
    }
    /// Whether a point lies inside the plot area (with a half-pixel tolerance).
    func contains(_ p: ChartPoint) -> Bool {
        p.x >= plot.x - 0.5 && p.x <= plot.x + plot.width + 0.5 && p.y >= plot.y - 0.5 && p.y <= plot.y + plot.height + 0.5
    }

    static func truncated(_ text: String, to length: Int) -> String {
        text.count <= length ? text : String(text.prefix(length - 1)) + "…"
    }

    /// Background, grid lines and the title: drawn before the data.
    func drawBackground(into svg: inout SVGDocument) {
        svg.rect(x: 0, y: 0, width: width, height: height, fill: "#ffffff")
        if let title {
            var size = Self.titleFont
            while size > 11 && SVGDocument.estimatedWidth(of: title, fontSize: size) * 1.1 > width - 16 { size -= 1 }
            svg.text(title, x: width / 2, y: 25, size: size, anchor: "middle", weight: "bold", maxWidth: width - 16)
        }
        svg.rect(x: plot.x, y: plot.y, width: plot.width, height: plot.height, fill: "#fcfcfd")
        for v in yAxis.minorTicks { if let py = y(v) { svg.line(x1: plot.x, y1: py, x2: plot.x + plot.width, y2: py, stroke: "#f0f0f0") } }
        for v in xAxis.minorTicks { if let px = x(v) { svg.line(x1: px, y1: plot.y, x2: px, y2: plot.y + plot.height, stroke: "#f0f0f0") } }
        for v in yAxis.ticks { if let py = y(v) { svg.line(x1: plot.x, y1: py, x2: plot.x + plot.width, y2: py, stroke: "#e2e2e2") } }
        if !categoricalX {
            for v in xAxis.ticks { if let px = x(v) { svg.line(x1: px, y1: plot.y, x2: px, y2: plot.y + plot.height, stroke: "#e2e2e2") } }
        }
    }

    /// Axes, ticks, labels, axis titles, legend and color bar: drawn after the data.
    func drawForeground(into svg: inout SVGDocument) {
        let bottomY = plot.y + plot.height
        svg.line(x1: plot.x, y1: bottomY, x2: plot.x + plot.width, y2: bottomY, stroke: "#444")
        svg.line(x1: plot.x, y1: plot.y, x2: plot.x, y2: bottomY, stroke: "#444")
        for (v, label) in zip(xAxis.ticks, xAxis.labels) {
            guard let px = x(v) else { continue }
            svg.line(x1: px, y1: bottomY, x2: px, y2: bottomY + 5, stroke: "#444")
            if rotateXLabels {
                svg.text(Self.truncated(label, to: 22), x: px + 3, y: bottomY + 14, size: Self.tickFont, anchor: "end",
                         rotation: -35)
            } else {
                svg.text(label, x: px, y: bottomY + 18, size: Self.tickFont, anchor: "middle")
            }
        }
        for (v, label) in zip(yAxis.ticks, yAxis.labels) {
            guard let py = y(v) else { continue }
            svg.line(x1: plot.x - 5, y1: py, x2: plot.x, y2: py, stroke: "#444")
            svg.text(label, x: plot.x - 8, y: py + 4, size: Self.tickFont, anchor: "end")
        }
        if let xTitle {
            svg.text(xTitle, x: plot.x + plot.width / 2, y: height - 10, size: Self.axisTitleFont, anchor: "middle", fill: "#333")
        }
        if let yTitle {
            let cy = plot.y + plot.height / 2
            svg.text(yTitle, x: 18, y: cy, size: Self.axisTitleFont, anchor: "middle", fill: "#333", rotation: -90)
        }
        var nextY = plot.y + 4
        if !legend.isEmpty { nextY = drawLegend(into: &svg) + 14 }
        if let colorBar { drawColorBar(colorBar, top: nextY, into: &svg) }
    }

    /// Draws the legend in the right column; returns the y just below it.
    private func drawLegend(into svg: inout SVGDocument) -> Double {
        let x0 = plot.x + plot.width + 16
        let spacing = min(18, max(13, (plot.height - 4) / Double(legend.count)))
        let fontSize = spacing < 16 ? 11 : Self.legendFont
        var y = plot.y + 4 + spacing / 2
        for entry in legend {
            switch entry.symbol {
            case .line(let dash):
                svg.line(x1: x0, y1: y, x2: x0 + 22, y2: y, stroke: entry.color, width: 2.5, dash: dash)
            case .lineWithMarker(let dash):
                svg.line(x1: x0, y1: y, x2: x0 + 22, y2: y, stroke: entry.color, width: 2.5, dash: dash)
                svg.circle(cx: x0 + 11, cy: y, r: 3, fill: entry.color)
            case .marker(let shape):
                shape.draw(into: &svg, x: x0 + 11, y: y, size: 9, fill: entry.color, stroke: "#333")
            case .patch:
                svg.rect(x: x0 + 3, y: y - 6, width: 16, height: 12, fill: entry.color, stroke: entry.color, fillOpacity: 0.6)
            }
            svg.text(Self.truncated(entry.name, to: 26), x: x0 + 28, y: y + fontSize * 0.35, size: fontSize)
            y += spacing
        }
        return y - spacing / 2
    }

    /// Draws a vertical color bar with its tick labels and title, starting at `top`.
    private func drawColorBar(_ bar: ColorBar, top: Double, into svg: inout SVGDocument) {
        let x0 = plot.x + plot.width + 16
        svg.text(Self.truncated(bar.title, to: 22), x: x0, y: top + 8, size: 12, weight: "bold", fill: "#333")
        let barTop = top + 18, barHeight = max(40, min(220, plot.y + plot.height - barTop))
        let steps = 48
        for i in 0..<steps {
            let t0 = Double(i) / Double(steps)
            svg.rect(x: x0, y: barTop + (1 - t0 - 1 / Double(steps)) * barHeight, width: 14,
                     height: barHeight / Double(steps) + 0.6, fill: bar.color(t0 + 0.5 / Double(steps)))
        }
        svg.rect(x: x0, y: barTop, width: 14, height: barHeight, fill: "none", stroke: "#666", strokeWidth: 0.8)
        for (v, label) in zip(bar.axis.ticks, bar.axis.labels) {
            guard let f = bar.axis.fraction(v), f >= -1e-9, f <= 1 + 1e-9 else { continue }
            let py = barTop + (1 - f) * barHeight
            svg.line(x1: x0 + 14, y1: py, x2: x0 + 18, y2: py, stroke: "#444")
            svg.text(label, x: x0 + 21, y: py + 4, size: 11)
        }
    }
}
