/// A chart that renders itself as SVG: ``LineChart``, ``ScatterPlot``, ``HistogramChart``,
/// ``ContourPlot`` and ``BarChart``.
public protocol Chart {
    /// The chart's title (also the SVG `<title>` read by screen readers).
    var title: String? { get }
    /// Draws the chart.
    func makeSVG() -> SVGDocument
}

extension Chart {
    /// The chart as SVG markup: inline (for HTML) or `standalone` (a `.svg` file with its namespace).
    public func svg(standalone: Bool = false) -> String {
        makeSVG().render(standalone: standalone, title: title)
    }
}

/// The shape of a scatter marker.
public enum MarkerShape: Sendable, CaseIterable {
    /// A filled circle.
    case circle
    /// A filled square.
    case square
    /// A filled upward triangle.
    case triangle
    /// A filled diamond (a square on its corner).
    case diamond
    /// An × drawn with two strokes.
    case cross

    /// Draws the marker centred at (x, y), `size` being its approximate diameter.
    func draw(into svg: inout SVGDocument, x: Double, y: Double, size: Double, fill: String,
              stroke: String = "#ffffff", title: String? = nil) {
        let r = size / 2
        let t = title.map { "<title>\(SVGDocument.escape($0))</title>" }
        let n = SVGDocument.number
        switch self {
        case .circle:
            svg.circle(cx: x, cy: y, r: r, fill: fill, stroke: stroke, strokeWidth: 0.8, title: title)
        case .square:
            let s = r * 0.9
            svg.element("rect", [("x", n(x - s)), ("y", n(y - s)), ("width", n(2 * s)), ("height", n(2 * s)),
                                 ("fill", fill), ("stroke", stroke), ("stroke-width", "0.8")], content: t)
        case .triangle:
            let d = "M\(n(x)),\(n(y - r * 1.15))L\(n(x + r)),\(n(y + r * 0.75))L\(n(x - r)),\(n(y + r * 0.75))Z"
            svg.element("path", [("d", d), ("fill", fill), ("stroke", stroke), ("stroke-width", "0.8")], content: t)
        case .diamond:
            let s = r * 1.2
            let d = "M\(n(x)),\(n(y - s))L\(n(x + s)),\(n(y))L\(n(x)),\(n(y + s))L\(n(x - s)),\(n(y))Z"
            svg.element("path", [("d", d), ("fill", fill), ("stroke", stroke), ("stroke-width", "0.8")], content: t)
        case .cross:
            let s = r * 0.9
            let d = "M\(n(x - s)),\(n(y - s))L\(n(x + s)),\(n(y + s))M\(n(x - s)),\(n(y + s))L\(n(x + s)),\(n(y - s))"
            svg.element("path", [("d", d), ("fill", "none"), ("stroke", fill), ("stroke-width", "2")], content: t)
        }
    }
}

/// What a legend entry shows beside its label.
public enum LegendSymbol: Sendable {
    /// A short line, dashed with the SVG `stroke-dasharray` `dash` (`nil` for solid).
    case line(dash: String?)
    /// A short line with a marker dot in its middle.
    case lineWithMarker(dash: String?)
    /// A scatter marker of the given shape.
    case marker(MarkerShape)
    /// A filled square (bars, histograms).
    case patch
}

/// One entry of a chart legend.
public struct LegendEntry: Sendable {
    /// The label.
    public var name: String
    /// The color, `#rrggbb`.
    public var color: String
    /// What is drawn beside the label.
    public var symbol: LegendSymbol

    /// An entry labelled `name` showing `symbol` in `color`.
    public init(name: String, color: String, symbol: LegendSymbol) {
        self.name = name
        self.color = color
        self.symbol = symbol
    }
}

/// A color scale shown beside the plot: values on `axis` mapped to colors by `color(t)`, t ∈ [0, 1].
struct ColorBar {
    var title: String
    var axis: ChartAxis
    var color: (Double) -> String
}

/// A point in SVG user units.
struct ChartPoint: Equatable {
    var x: Double
    var y: Double
}

/// Clipping of polylines to the plot rectangle (Liang & Barsky, "A New Concept and Method for Line
/// Clipping", ACM TOG 1984), so that nothing a chart draws spills over its axes and no clip-path
/// (whose `id` would have to be unique within an HTML page) is needed.
enum Clipping {
    /// The part of segment a→b inside the rectangle, or `nil`.
    static func segment(_ a: ChartPoint, _ b: ChartPoint, in rect: (x: Double, y: Double, width: Double, height: Double))
        -> (ChartPoint, ChartPoint)? {
        var t0 = 0.0, t1 = 1.0
        let dx = b.x - a.x, dy = b.y - a.y
        let checks = [(-dx, a.x - rect.x), (dx, rect.x + rect.width - a.x),
                      (-dy, a.y - rect.y), (dy, rect.y + rect.height - a.y)]
        for (p, q) in checks {
            if p == 0 {
                if q < 0 { return nil }
            } else {
                let r = q / p
                if p < 0 { if r > t1 { return nil }; t0 = max(t0, r) } else { if r < t0 { return nil }; t1 = min(t1, r) }
            }
        }
        return (ChartPoint(x: a.x + t0 * dx, y: a.y + t0 * dy), ChartPoint(x: a.x + t1 * dx, y: a.y + t1 * dy))
    }

    /// Splits a polyline at missing points (`nil`: not finite, or not on a log axis) and clips it,
    /// returning the visible runs.
    static func polylines(_ points: [ChartPoint?], in rect: (x: Double, y: Double, width: Double, height: Double))
        -> [[ChartPoint]] {
        var runs: [[ChartPoint]] = [], current: [ChartPoint] = []
        func finish() { if current.count >= 2 { runs.append(current) }; current = [] }
        guard points.count >= 2 else { return [] }
        for i in 1..<points.count {
            guard let a = points[i - 1], let b = points[i], let (p, q) = segment(a, b, in: rect) else {
                finish()
                continue
            }
            if let last = current.last, abs(last.x - p.x) < 1e-9, abs(last.y - p.y) < 1e-9 {
                current.append(q)
            } else {
                finish()
                current = [p, q]
            }
        }
        finish()
        return runs
    }
}
