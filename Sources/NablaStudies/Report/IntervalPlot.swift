import Foundation

/// Estimates with intervals, one row per category — a forest plot (each variant's difference to the
/// baseline with its 95% interval, a line at 0) or a dot plot of means with intervals.
///
/// Rows run top to bottom in the order given; each ``Series`` adds one marker per row, offset a
/// little so that two estimates of one row (say tuned and textbook) stay apart. The x axis covers
/// the data — every interval and the ``reference`` line — not a fixed range, so small differences
/// are visible. A point's ``Point/color`` overrides its series color (e.g. by verdict).
public struct IntervalPlot: Chart {
    /// One estimate with its interval.
    public struct Point: Sendable {
        /// The estimate (a marker).
        public var value: Double
        /// The interval's lower end.
        public var lower: Double
        /// The interval's upper end.
        public var upper: Double
        /// `#rrggbb`; `nil` uses the series color.
        public var color: String?
        /// Shown when hovering.
        public var tooltip: String?

        /// An estimate `value` with the interval [`lower`, `upper`].
        public init(value: Double, lower: Double, upper: Double, color: String? = nil, tooltip: String? = nil) {
            self.value = value
            self.lower = lower
            self.upper = upper
            self.color = color
            self.tooltip = tooltip
        }
    }

    /// A set of estimates, one per row, with one marker and color.
    public struct Series: Sendable {
        /// The legend's entry.
        public var name: String
        /// One point per row (`nil`: nothing in that row).
        public var points: [Point?]
        /// `#rrggbb`; `nil` picks from ``ChartPalette``.
        public var color: String?
        /// The marker's shape.
        public var shape: MarkerShape

        /// A series named `name` of `points`, one per row.
        public init(name: String, points: [Point?], color: String? = nil, shape: MarkerShape = .circle) {
            self.name = name
            self.points = points
            self.color = color
            self.shape = shape
        }
    }

    /// The heading above the chart.
    public var title: String?
    /// The title under the x axis (`difference to the baseline (points)`).
    public var xTitle: String?
    /// The row labels, top to bottom.
    public var rows: [String]
    /// The estimates.
    public var series: [Series]
    /// A vertical reference line (0 for differences); `nil` for none.
    public var reference: Double?
    /// Extra legend entries (e.g. what the colors mean).
    public var extraLegend: [LegendEntry]
    /// The SVG's width in user units.
    public var width: Double
    /// `nil`: 34 units per row plus margins.
    public var height: Double?

    /// - Precondition: every series has one point (or `nil`) per row.
    public init(title: String? = nil, xTitle: String? = nil, rows: [String], series: [Series], reference: Double? = 0,
                extraLegend: [LegendEntry] = [], width: Double = 760, height: Double? = nil) {
        for s in series { precondition(s.points.count == rows.count, "IntervalPlot.Series '\(s.name)': \(s.points.count) points for \(rows.count) rows") }
        self.title = title
        self.xTitle = xTitle
        self.rows = rows
        self.series = series
        self.reference = reference
        self.extraLegend = extraLegend
        self.width = width
        self.height = height
    }

    /// The chart as SVG: one row per category with each series' markers and interval whiskers, the reference line and a legend.
    public func makeSVG() -> SVGDocument {
        let chartHeight = height ?? Double(max(2, rows.count)) * 34 + 110
        let values = series.flatMap { $0.points.compactMap { $0 }.flatMap { [$0.lower, $0.upper, $0.value] } } + (reference.map { [$0] } ?? [])
        let color = { (i: Int) in self.series[i].color ?? ChartPalette.color(forSeries: i) }
        var legend = series.count > 1 || !(series.first?.name.isEmpty ?? true)
            ? series.indices.map { LegendEntry(name: series[$0].name, color: color($0), symbol: .marker(series[$0].shape)) } : []
        legend += extraLegend
        // Rows from the top: the categorical axis runs upwards, so it gets them reversed.
        let frame = ChartFrame(width: width, height: chartHeight, title: title, xTitle: xTitle, yTitle: nil, legend: legend,
                               xAxis: { ChartAxis.numeric(covering: values, scale: .linear, targetTickCount: $0) },
                               yAxis: { _ in ChartAxis.categorical(rows.reversed()) })
        var svg = SVGDocument(width: width, height: chartHeight)
        frame.drawBackground(into: &svg)
        if let reference, let x = frame.x(reference) {
            svg.line(x1: x, y1: frame.plot.y, x2: x, y2: frame.plot.y + frame.plot.height, stroke: "#555555", width: 1.2, dash: "5 4")
        }
        let slot = frame.plot.height / Double(max(1, rows.count))
        for (i, s) in series.enumerated() {
            let offset = series.count == 1 ? 0 : (Double(i) - Double(series.count - 1) / 2) * min(12, slot / Double(series.count + 1))
            for (r, point) in s.points.enumerated() {
                guard let point, let y = frame.y(Double(rows.count - r) - 0.5) else { continue }
                let cy = y + offset
                let fill = point.color ?? color(i)
                if let x1 = frame.x(point.lower), let x2 = frame.x(point.upper) {
                    svg.line(x1: x1, y1: cy, x2: x2, y2: cy, stroke: fill, width: 2.2)
                    svg.line(x1: x1, y1: cy - 4, x2: x1, y2: cy + 4, stroke: fill, width: 1.6)
                    svg.line(x1: x2, y1: cy - 4, x2: x2, y2: cy + 4, stroke: fill, width: 1.6)
                }
                if let x = frame.x(point.value) {
                    s.shape.draw(into: &svg, x: x, y: cy, size: 10, fill: fill, stroke: "#ffffff",
                                 title: point.tooltip ?? "\(rows[r]) · \(s.name): \(point.value) [\(point.lower), \(point.upper)]")
                }
            }
        }
        frame.drawForeground(into: &svg)
        return svg
    }
}
