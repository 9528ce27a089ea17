import Foundation
import NablaNN

/// A grouped bar chart: one group per category, one bar per series — e.g. test accuracy and
/// train–test gap for every regularization variant.
///
/// Bars start at zero on a linear axis (negative values hang below it) and at the bottom of the axis
/// on a logarithmic one. Category names that do not fit under their group are rotated by 35°.
public struct BarChart: Chart {
    /// One bar per category, in one color.
    public struct Series {
        /// The legend label (the legend is drawn when there are several series).
        public var name: String
        /// One value per category; NaN leaves the slot empty.
        public var values: [Double]
        /// `#rrggbb`; `nil` picks the palette color of the series' index.
        public var color: String?

        /// A series of `values`, one per category.
        public init(name: String, values: [Double], color: String? = nil) {
            self.name = name
            self.values = values
            self.color = color
        }
    }

    /// The title drawn above the plot; `nil` for none.
    public var title: String?
    /// The x-axis title; `nil` for none.
    public var xTitle: String?
    /// The y-axis title; `nil` for none.
    public var yTitle: String?
    /// The group labels along the x axis, left to right.
    public var categories: [String]
    /// The bars of each group, left to right.
    public var series: [Series]
    /// Linear (bars from zero) or logarithmic (bars from the bottom of the axis).
    public var yScale: AxisScale
    /// A fixed y range; `nil` fits the data.
    public var yRange: ClosedRange<Double>?
    /// Printed above each bar, e.g. `{ String(format: "%.1f%%", $0 * 100) }`; `nil` prints nothing.
    public var valueLabel: ((Double) -> String)?
    /// The width in SVG user units (CSS pixels at 100%).
    public var width: Double
    /// The height in SVG user units.
    public var height: Double

    /// A chart of `series` over `categories` (640 × 380 by default).
    ///
    /// - Precondition: every series has one value per category.
    public init(title: String? = nil, xTitle: String? = nil, yTitle: String? = nil, categories: [String],
                series: [Series], yScale: AxisScale = .linear, yRange: ClosedRange<Double>? = nil,
                valueLabel: ((Double) -> String)? = nil, width: Double = 640, height: Double = 380) {
        for s in series {
            precondition(s.values.count == categories.count,
                         "BarChart.Series '\(s.name)': \(s.values.count) values for \(categories.count) categories")
        }
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.categories = categories
        self.series = series
        self.yScale = yScale
        self.yRange = yRange
        self.valueLabel = valueLabel
        self.width = width
        self.height = height
    }

    /// Draws the axes, the grouped bars, their value labels and the legend.
    public func makeSVG() -> SVGDocument {
        let color = { (i: Int) in self.series[i].color ?? ChartPalette.color(forSeries: i) }
        let values = series.flatMap(\.values)
        let legend = series.count > 1 ? series.indices.map { LegendEntry(name: series[$0].name, color: color($0), symbol: .patch) } : []
        let frame = ChartFrame(
            width: width, height: height, title: title, xTitle: xTitle, yTitle: yTitle, legend: legend,
            categoricalX: true,
            xAxis: { _ in ChartAxis.categorical(categories) },
            yAxis: { ChartAxis.numeric(covering: values, scale: yScale, range: yRange, targetTickCount: $0,
                                       includeZero: yScale == .linear) })
        var svg = SVGDocument(width: width, height: height)
        frame.drawBackground(into: &svg)
        let slot = frame.plot.width / Double(max(1, categories.count))
        let groupWidth = slot * 0.78
        let barWidth = groupWidth / Double(max(1, series.count))
        let baseline: Double = {
            if frame.yAxis.scale == .logarithmic { return frame.plot.y + frame.plot.height }
            return min(frame.plot.y + frame.plot.height, max(frame.plot.y, frame.y(0) ?? frame.plot.y + frame.plot.height))
        }()
        let labelSize = min(11, max(8, barWidth * 0.45))
        for (i, s) in series.enumerated() {
            for (c, value) in s.values.enumerated() {
                guard let rawY = frame.y(value) else { continue }
                let y = min(frame.plot.y + frame.plot.height, max(frame.plot.y, rawY))
                let x = frame.plot.x + Double(c) * slot + (slot - groupWidth) / 2 + Double(i) * barWidth
                svg.element("rect", [
                    ("x", SVGDocument.number(x + 0.5)), ("y", SVGDocument.number(min(y, baseline))),
                    ("width", SVGDocument.number(max(0.5, barWidth - 1))), ("height", SVGDocument.number(abs(baseline - y))),
                    ("fill", color(i)), ("fill-opacity", "0.85"),
                ], content: "<title>\(SVGDocument.escape("\(categories[c]) · \(s.name): \(value)"))</title>")
                if let valueLabel {
                    let above = value >= 0 || frame.yAxis.scale == .logarithmic
                    svg.text(valueLabel(value), x: x + barWidth / 2, y: above ? min(y, baseline) - 4 : max(y, baseline) + labelSize + 2,
                             size: labelSize, anchor: "middle", fill: "#333")
                }
            }
        }
        frame.drawForeground(into: &svg)
        return svg
    }
}
