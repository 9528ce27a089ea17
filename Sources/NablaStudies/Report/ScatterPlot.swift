import NablaNN

/// A scatter plot, optionally on logarithmic axes and colored by a value — e.g. a random search of
/// learning rate × weight decay, each point colored by its validation accuracy.
///
/// With a ``colorTitle``, every point's ``Point/value`` picks its color on the viridis scale and a
/// color bar explains it; series are then told apart by marker shape. Without it, each series has its
/// palette color. Points that cannot be drawn (non-finite, ≤ 0 on a log axis, outside fixed ranges)
/// are left out.
public struct ScatterPlot: Chart {
    /// One point of a series.
    public struct Point {
        /// The x coordinate.
        public var x: Double
        /// The y coordinate.
        public var y: Double
        /// The value that colors the point when the plot has a ``ScatterPlot/colorTitle``.
        public var value: Double?
        /// A short annotation drawn beside the point (e.g. "best").
        public var label: String?

        /// A point at `(x, y)`.
        public init(x: Double, y: Double, value: Double? = nil, label: String? = nil) {
            self.x = x
            self.y = y
            self.value = value
            self.label = label
        }
    }

    /// Points drawn with one marker shape and (without a color scale) one color.
    public struct Series {
        /// The legend label.
        public var name: String
        /// The points.
        public var points: [Point]
        /// `#rrggbb`; `nil` picks the palette color of the series' index.
        public var color: String?

        /// A series of `points`.
        public init(name: String, points: [Point], color: String? = nil) {
            self.name = name
            self.points = points
            self.color = color
        }
    }

    /// The title drawn above the plot; `nil` for none.
    public var title: String?
    /// The x-axis title; `nil` for none.
    public var xTitle: String?
    /// The y-axis title; `nil` for none.
    public var yTitle: String?
    /// The series: with a ``colorTitle`` each has its own marker shape (`MarkerShape.allCases` in
    /// order), otherwise its own color and circles.
    public var series: [Series]
    /// Linear or logarithmic x axis.
    public var xScale: AxisScale
    /// Linear or logarithmic y axis.
    public var yScale: AxisScale
    /// Title of the color bar; set it to color points by their value.
    public var colorTitle: String?
    /// The color scale of values (`.logarithmic` for values spanning decades).
    public var colorScale: AxisScale
    /// A fixed x range; `nil` fits the data.
    public var xRange: ClosedRange<Double>?
    /// A fixed y range; `nil` fits the data.
    public var yRange: ClosedRange<Double>?
    /// The width in SVG user units (CSS pixels at 100%).
    public var width: Double
    /// The height in SVG user units.
    public var height: Double
    /// Marker diameter.
    public var markerSize: Double

    /// A scatter plot of `series` (linear axes, palette colors, 640 × 400, 9-unit markers by default).
    public init(title: String? = nil, xTitle: String? = nil, yTitle: String? = nil, series: [Series],
                xScale: AxisScale = .linear, yScale: AxisScale = .linear,
                colorTitle: String? = nil, colorScale: AxisScale = .linear,
                xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil,
                width: Double = 640, height: Double = 400, markerSize: Double = 9) {
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.series = series
        self.xScale = xScale
        self.yScale = yScale
        self.colorTitle = colorTitle
        self.colorScale = colorScale
        self.xRange = xRange
        self.yRange = yRange
        self.width = width
        self.height = height
        self.markerSize = markerSize
    }

    /// Draws the axes, the markers (colored by value with a color bar, or by series), labels and the legend.
    public func makeSVG() -> SVGDocument {
        let all = series.flatMap(\.points)
        let colored = colorTitle != nil
        let shapes = MarkerShape.allCases
        let shape = { (i: Int) in colored ? shapes[i % shapes.count] : .circle }
        let seriesColor = { (i: Int) in self.series[i].color ?? ChartPalette.color(forSeries: i) }
        var colorBar: ColorBar?
        var valueAxis: ChartAxis?
        if let colorTitle {
            let axis = ChartAxis.numeric(covering: all.compactMap(\.value), scale: colorScale, targetTickCount: 6)
            valueAxis = axis
            colorBar = ColorBar(title: colorTitle, axis: axis, color: ChartPalette.viridis)
        }
        let showLegend = series.count > 1 || (!colored && !(series.first?.name.isEmpty ?? true))
        let legend = showLegend ? series.indices.map {
            LegendEntry(name: series[$0].name, color: colored ? "#bbbbbb" : seriesColor($0), symbol: .marker(shape($0)))
        } : []
        let frame = ChartFrame(
            width: width, height: height, title: title, xTitle: xTitle, yTitle: yTitle, legend: legend, colorBar: colorBar,
            xAxis: { ChartAxis.numeric(covering: all.map(\.x), scale: xScale, range: xRange, targetTickCount: $0) },
            yAxis: { ChartAxis.numeric(covering: all.map(\.y), scale: yScale, range: yRange, targetTickCount: $0) })
        var svg = SVGDocument(width: width, height: height)
        frame.drawBackground(into: &svg)
        var labels: [(String, ChartPoint)] = []
        for (i, s) in series.enumerated() {
            for point in s.points {
                guard let p = frame.point(point.x, point.y), frame.contains(p) else { continue }
                var fill = seriesColor(i)
                if let axis = valueAxis {
                    if let value = point.value, let t = axis.fraction(value) {
                        fill = ChartPalette.viridis(t)
                    } else {
                        fill = "#bbbbbb"  // no value: drawn, but outside the color scale
                    }
                }
                var tooltip = "\(s.name.isEmpty ? "" : s.name + ": ")x=\(point.x), y=\(point.y)"
                if let value = point.value { tooltip += ", value=\(value)" }
                shape(i).draw(into: &svg, x: p.x, y: p.y, size: markerSize, fill: fill,
                              stroke: colored ? "#333333" : "#ffffff", title: tooltip)
                if let label = point.label { labels.append((label, p)) }
            }
        }
        for (label, p) in labels {
            let rightRoom = frame.plot.x + frame.plot.width - p.x
            let anchorEnd = SVGDocument.estimatedWidth(of: label, fontSize: 11) + 10 > rightRoom
            svg.text(label, x: anchorEnd ? p.x - 8 : p.x + 8, y: p.y - 7, size: 11, anchor: anchorEnd ? "end" : "start",
                     weight: "bold", halo: true)
        }
        frame.drawForeground(into: &svg)
        return svg
    }
}
