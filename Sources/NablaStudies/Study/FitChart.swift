import NablaNN

/// A regression fit: model predictions as lines over a dense x grid, and the data as scatter points
/// — seed 004's plots of the noisy line with and without weight decay or dropout.
public struct FitChart: Chart {
    /// A fitted curve.
    public struct Curve {
        /// The legend label.
        public var name: String
        /// The x coordinates of the curve, increasing.
        public var x: [Double]
        /// The model's predictions at ``x``.
        public var y: [Double]
        /// `#rrggbb`; `nil` picks the palette color of the curve's index.
        public var color: String?
        /// Whether the curve is dashed (`7 4`).
        public var dashed: Bool
        /// A curve through `(x[i], y[i])`.
        ///
        /// - Precondition: `x` and `y` have the same length.
        public init(name: String, x: [Double], y: [Double], color: String? = nil, dashed: Bool = false) {
            precondition(x.count == y.count, "FitChart.Curve '\(name)': \(x.count) x values but \(y.count) y values")
            self.name = name
            self.x = x
            self.y = y
            self.color = color
            self.dashed = dashed
        }
    }

    /// A set of data points drawn as markers.
    public struct Points {
        /// The legend label.
        public var name: String
        /// The data points.
        public var points: [(x: Double, y: Double)]
        /// The marker shape.
        public var shape: MarkerShape
        /// The marker color, `#rrggbb`.
        public var color: String
        /// Data points drawn as `shape` markers in `color` (dark grey circles by default).
        public init(name: String, points: [(x: Double, y: Double)], shape: MarkerShape = .circle, color: String = "#222222") {
            self.name = name
            self.points = points
            self.shape = shape
            self.color = color
        }
    }

    /// The title drawn above the plot; `nil` for none.
    public var title: String?
    /// The x-axis title; `nil` for none.
    public var xTitle: String?
    /// The y-axis title; `nil` for none.
    public var yTitle: String?
    /// The fitted curves, drawn as lines.
    public var curves: [Curve]
    /// The data, drawn as markers over the curves.
    public var points: [Points]
    /// A fixed x range (e.g. the prediction grid's); `nil` fits the data.
    public var xRange: ClosedRange<Double>?
    /// The width in SVG user units (CSS pixels at 100%).
    public var width: Double
    /// The height in SVG user units.
    public var height: Double

    /// A chart of `curves` over `points` (axes titled `x` and `y`, 560 × 380 by default).
    public init(title: String? = nil, xTitle: String? = "x", yTitle: String? = "y", curves: [Curve], points: [Points],
                xRange: ClosedRange<Double>? = nil, width: Double = 560, height: Double = 380) {
        self.xRange = xRange
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.curves = curves
        self.points = points
        self.width = width
        self.height = height
    }

    private func color(_ i: Int) -> String { curves[i].color ?? ChartPalette.color(forSeries: i) }

    /// Draws the axes, the curves, the data points and the legend.
    public func makeSVG() -> SVGDocument {
        let xs = curves.flatMap(\.x) + points.flatMap { $0.points.map(\.x) }
        let ys = curves.flatMap(\.y) + points.flatMap { $0.points.map(\.y) }
        let legend = curves.indices.map { LegendEntry(name: curves[$0].name, color: color($0), symbol: .line(dash: curves[$0].dashed ? "7 4" : nil)) }
            + points.map { LegendEntry(name: $0.name, color: $0.color, symbol: .marker($0.shape)) }
        let frame = ChartFrame(
            width: width, height: height, title: title, xTitle: xTitle, yTitle: yTitle, legend: legend,
            xAxis: { ChartAxis.numeric(covering: xs, scale: .linear, range: xRange, targetTickCount: $0) },
            yAxis: { ChartAxis.numeric(covering: ys, scale: .linear, targetTickCount: $0) })
        var svg = SVGDocument(width: width, height: height)
        frame.drawBackground(into: &svg)
        for (i, curve) in curves.enumerated() {
            let projected = zip(curve.x, curve.y).map { frame.point($0, $1) }
            for run in Clipping.polylines(projected, in: frame.plot) {
                svg.polyline(run.map { ($0.x, $0.y) }, stroke: color(i), width: 2.2, dash: curve.dashed ? "7 4" : nil)
            }
        }
        for set in points {
            for point in set.points {
                guard let p = frame.point(point.x, point.y), frame.contains(p) else { continue }
                set.shape.draw(into: &svg, x: p.x, y: p.y, size: 9, fill: set.color, stroke: "#ffffff",
                               title: "\(set.name): x=\(point.x), y=\(point.y)")
            }
        }
        frame.drawForeground(into: &svg)
        return svg
    }
}
