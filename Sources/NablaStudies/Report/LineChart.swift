import NablaNN

/// A line chart of one or more series, e.g. training and test loss per epoch for several runs.
///
/// Non-finite points (a diverged run's NaN loss) and, on a logarithmic axis, points ≤ 0 break the
/// line instead of distorting the axis; parts outside a fixed ``yRange`` are clipped at the plot edge.
/// A series may carry a band (``Series/lower`` and ``Series/upper``, e.g. a 95% interval of the
/// mean over seeds), drawn as a translucent area under its line; the axes cover the bands too.
///
/// ```swift
/// let chart = LineChart(title: "Test loss", xTitle: "epoch", yTitle: "loss", series: [
///     .init(name: "baseline", y: baselineLosses),
///     .init(name: "L2 1e-4", y: l2Losses, dashed: true),
/// ])
/// let svg = chart.svg()
/// ```
public struct LineChart: Chart {
    /// One line.
    public struct Series {
        /// The legend label.
        public var name: String
        /// The x coordinates of the points, in drawing order.
        public var x: [Double]
        /// The y coordinates, parallel to ``x``.
        public var y: [Double]
        /// `#rrggbb`; `nil` picks the palette color of the series' index.
        public var color: String?
        /// Whether the line is dashed (`7 4`); otherwise the palette's dash of the series' index.
        public var dashed: Bool
        /// Draw a dot at every point; `nil` draws them when the series has at most 30 points.
        public var showsMarkers: Bool?
        /// A band around the line: its lower and upper edge at every x (both or neither).
        public var lower: [Double]?
        /// The band's upper edge at every x (see ``lower``).
        public var upper: [Double]?

        /// A series of points (x[i], y[i]).
        /// - Precondition: `x` and `y` have the same length.
        public init(name: String, x: [Double], y: [Double], color: String? = nil, dashed: Bool = false,
                    showsMarkers: Bool? = nil) {
            precondition(x.count == y.count, "LineChart.Series '\(name)': \(x.count) x values but \(y.count) y values")
            self.name = name
            self.x = x
            self.y = y
            self.color = color
            self.dashed = dashed
            self.showsMarkers = showsMarkers
        }

        /// A series with a band from `lower` to `upper` around it (same lengths as `x`).
        public init(name: String, x: [Double], y: [Double], lower: [Double], upper: [Double], color: String? = nil,
                    dashed: Bool = false, showsMarkers: Bool? = false) {
            precondition(lower.count == x.count && upper.count == x.count, "LineChart.Series '\(name)': band of \(lower.count)/\(upper.count) values for \(x.count) points")
            self.init(name: name, x: x, y: y, color: color, dashed: dashed, showsMarkers: showsMarkers)
            self.lower = lower
            self.upper = upper
        }

        /// A series plotted against 1, 2, 3, … (epochs).
        public init(name: String, y: [Double], color: String? = nil, dashed: Bool = false, showsMarkers: Bool? = nil) {
            self.init(name: name, x: y.indices.map { Double($0 + 1) }, y: y, color: color, dashed: dashed,
                      showsMarkers: showsMarkers)
        }
    }

    /// The title drawn above the plot; `nil` for none.
    public var title: String?
    /// The x-axis title; `nil` for none.
    public var xTitle: String?
    /// The y-axis title; `nil` for none.
    public var yTitle: String?
    /// The lines, drawn in order.
    public var series: [Series]
    /// Linear or logarithmic x axis.
    public var xScale: AxisScale
    /// Linear or logarithmic y axis (`.logarithmic` for losses spanning decades).
    public var yScale: AxisScale
    /// Fixed axis ranges; `nil` fits the data.
    public var xRange: ClosedRange<Double>?
    /// A fixed y range; `nil` fits the data.
    public var yRange: ClosedRange<Double>?
    /// Size in SVG user units (CSS pixels at 100%).
    public var width: Double
    /// The height in SVG user units.
    public var height: Double

    /// A chart of `series` (linear axes fitted to the data, 640 × 380 by default).
    public init(title: String? = nil, xTitle: String? = nil, yTitle: String? = nil, series: [Series],
                xScale: AxisScale = .linear, yScale: AxisScale = .linear,
                xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil,
                width: Double = 640, height: Double = 380) {
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.series = series
        self.xScale = xScale
        self.yScale = yScale
        self.xRange = xRange
        self.yRange = yRange
        self.width = width
        self.height = height
    }

    private func color(_ i: Int) -> String { series[i].color ?? ChartPalette.color(forSeries: i) }
    private func dash(_ i: Int) -> String? { series[i].dashed ? "7 4" : ChartPalette.dash(forSeries: i) }
    private func markers(_ i: Int) -> Bool { series[i].showsMarkers ?? (series[i].x.count <= 30) }

    /// Draws the axes, the lines, their markers and the legend.
    public func makeSVG() -> SVGDocument {
        let xs = series.flatMap(\.x), ys = series.flatMap { $0.y + ($0.lower ?? []) + ($0.upper ?? []) }
        let legend = series.indices.map {
            LegendEntry(name: series[$0].name, color: color($0),
                        symbol: markers($0) ? .lineWithMarker(dash: dash($0)) : .line(dash: dash($0)))
        }
        let frame = ChartFrame(
            width: width, height: height, title: title, xTitle: xTitle, yTitle: yTitle,
            legend: series.count > 1 || !(series.first?.name.isEmpty ?? true) ? legend : [],
            xAxis: { ChartAxis.numeric(covering: xs, scale: xScale, range: xRange, targetTickCount: $0) },
            yAxis: { ChartAxis.numeric(covering: ys, scale: yScale, range: yRange, targetTickCount: $0) })
        var svg = SVGDocument(width: width, height: height)
        frame.drawBackground(into: &svg)
        for (i, line) in series.enumerated() {
            guard let lower = line.lower, let upper = line.upper else { continue }
            drawBand(x: line.x, lower: lower, upper: upper, color: color(i), frame: frame, into: &svg)
        }
        for (i, line) in series.enumerated() {
            let points = zip(line.x, line.y).map { frame.point($0, $1) }
            for run in Clipping.polylines(points, in: frame.plot) {
                svg.polyline(run.map { ($0.x, $0.y) }, stroke: color(i), width: 2, dash: dash(i))
            }
            if markers(i) {
                for case let p? in points where frame.contains(p) {
                    svg.circle(cx: p.x, cy: p.y, r: 2.8, fill: color(i), stroke: "#ffffff", strokeWidth: 0.8)
                }
            } else if points.count == 1, let p = points[0], frame.contains(p) {
                svg.circle(cx: p.x, cy: p.y, r: 2.8, fill: color(i))
            }
        }
        frame.drawForeground(into: &svg)
        return svg
    }

    /// The area between `lower` and `upper`, clamped to the plot, split where a value is missing.
    private func drawBand(x: [Double], lower: [Double], upper: [Double], color: String, frame: ChartFrame, into svg: inout SVGDocument) {
        let top = frame.plot.y, bottom = frame.plot.y + frame.plot.height
        func clampedY(_ v: Double) -> Double? { frame.y(v).map { min(bottom, max(top, $0)) } }
        var run: [(x: Double, lo: Double, hi: Double)] = []
        func flush() {
            if run.count >= 2 {
                var d = "M" + run.map { "\(SVGDocument.number($0.x)),\(SVGDocument.number($0.hi))" }.joined(separator: "L")
                d += "L" + run.reversed().map { "\(SVGDocument.number($0.x)),\(SVGDocument.number($0.lo))" }.joined(separator: "L") + "Z"
                svg.path(d, stroke: nil, fill: color, fillOpacity: 0.16)
            }
            run = []
        }
        for i in x.indices {
            guard let px = frame.x(x[i]), px >= frame.plot.x - 0.5, px <= frame.plot.x + frame.plot.width + 0.5,
                  let lo = clampedY(lower[i]), let hi = clampedY(upper[i]) else { flush(); continue }
            run.append((px, lo, hi))
        }
        flush()
    }
}
