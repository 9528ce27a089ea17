import Foundation
import NablaNN

/// Contour lines of a function of two variables with paths drawn over them — e.g.
/// `f(x, y) = x²/20 + y²` and the iterates of SGD, Momentum, AdaGrad and Adam from (−7, 2).
///
/// The function is sampled on a `resolution × resolution` grid and each level is traced with
/// marching squares (Lorensen & Cline, "Marching Cubes", SIGGRAPH 1987, in two dimensions): every
/// grid cell whose corners straddle the level contributes a segment between the linearly
/// interpolated crossings on its edges; saddle cells are disambiguated by the value at the cell's
/// centre; segments sharing a crossing are chained into polylines. Levels default to a 1-2-5
/// sequence spanning three decades below the maximum when the function is non-negative and spans
/// more than two decades (a bowl, like a loss surface), otherwise to evenly spaced nice numbers.
public struct ContourPlot: Chart {
    /// A path drawn over the contours (an optimizer's iterates).
    public struct Path {
        /// The legend label.
        public var name: String
        /// The iterates `(x, y)`, in order; the first is marked as the start.
        public var points: [(x: Double, y: Double)]
        /// `#rrggbb`; `nil` picks the palette color of the path's index.
        public var color: String?

        /// A path through `points`.
        public init(name: String, points: [(x: Double, y: Double)], color: String? = nil) {
            self.name = name
            self.points = points
            self.color = color
        }
    }

    /// A labelled point (e.g. the minimum).
    public struct Marker {
        /// The marker's x coordinate.
        public var x: Double
        /// The marker's y coordinate.
        public var y: Double
        /// The text drawn beside the marker.
        public var label: String

        /// A marker labelled `label` at `(x, y)`.
        public init(x: Double, y: Double, label: String) {
            self.x = x
            self.y = y
            self.label = label
        }
    }

    /// The title drawn above the plot; `nil` for none.
    public var title: String?
    /// The x-axis title; `nil` for none.
    public var xTitle: String?
    /// The y-axis title; `nil` for none.
    public var yTitle: String?
    /// The function `f(x, y)` whose level sets are drawn.
    public var function: (Double, Double) -> Double
    /// The x domain sampled and shown.
    public var xRange: ClosedRange<Double>
    /// The y domain sampled and shown.
    public var yRange: ClosedRange<Double>
    /// Contour levels; `nil` chooses them (see the type's documentation).
    public var levels: [Double]?
    /// The paths drawn over the contours.
    public var paths: [Path]
    /// Labelled points drawn on top.
    public var markers: [Marker]
    /// Title of the color bar of the levels.
    public var colorTitle: String
    /// Grid cells per axis.
    public var resolution: Int
    /// The width in SVG user units (CSS pixels at 100%).
    public var width: Double
    /// The height in SVG user units.
    public var height: Double

    /// A contour plot of `function` over `xRange × yRange` (640 × 420, a 120-cell grid by default).
    /// - Precondition: `resolution ≥ 2`; both ranges are non-empty.
    public init(title: String? = nil, xTitle: String? = "x", yTitle: String? = "y",
                function: @escaping (Double, Double) -> Double,
                xRange: ClosedRange<Double>, yRange: ClosedRange<Double>, levels: [Double]? = nil,
                paths: [Path] = [], markers: [Marker] = [], colorTitle: String = "f(x, y)",
                resolution: Int = 120, width: Double = 640, height: Double = 420) {
        precondition(resolution >= 2, "ContourPlot: resolution \(resolution) must be at least 2")
        precondition(xRange.upperBound > xRange.lowerBound && yRange.upperBound > yRange.lowerBound,
                     "ContourPlot: ranges \(xRange) × \(yRange) must not be empty")
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.function = function
        self.xRange = xRange
        self.yRange = yRange
        self.levels = levels
        self.paths = paths
        self.markers = markers
        self.colorTitle = colorTitle
        self.resolution = resolution
        self.width = width
        self.height = height
    }

    /// The function sampled at the grid nodes, row `j` (y) major: `values[j * (n + 1) + i]`.
    func sample() -> [Double] {
        let n = resolution
        var values = [Double](repeating: 0, count: (n + 1) * (n + 1))
        for j in 0...n {
            let y = yRange.lowerBound + (yRange.upperBound - yRange.lowerBound) * Double(j) / Double(n)
            for i in 0...n {
                values[j * (n + 1) + i] = function(xRange.lowerBound + (xRange.upperBound - xRange.lowerBound) * Double(i) / Double(n), y)
            }
        }
        return values
    }

    /// The levels drawn and the color-scale axis that explains them.
    func resolvedLevels(_ values: [Double]) -> (levels: [Double], axis: ChartAxis) {
        let finite = values.filter(\.isFinite)
        let low = finite.min() ?? 0, high = finite.max() ?? 1
        if let levels {
            let scale: AxisScale = levels.allSatisfy { $0 > 0 } && (levels.max()! / levels.min()! > 100) ? .logarithmic : .linear
            return (levels.sorted(), ChartAxis.numeric(covering: levels, scale: scale, targetTickCount: 6))
        }
        if low >= 0, high > 0, high / max(low, high * 1e-12) > 100 {
            var generated: [Double] = []
            let floor = max(low, high * 1e-3)
            for e in Int(log10(floor).rounded(.down))...Int(log10(high).rounded(.up)) {
                for m in [1.0, 2, 5] {
                    let v = m * pow(10, Double(e))
                    if v > low && v >= floor * 0.999 && v < high { generated.append(v) }
                }
            }
            return (generated, ChartAxis.numeric(covering: generated, scale: .logarithmic, targetTickCount: 6))
        }
        let axis = ChartAxis.numeric(covering: [low, high], scale: .linear, targetTickCount: 12)
        return (axis.ticks.filter { $0 > low && $0 < high }, axis)
    }

    /// Marching squares for one level: polylines in grid coordinates (i, j as Doubles).
    func trace(level: Double, values: [Double]) -> [[(x: Double, y: Double)]] {
        let n = resolution, stride = n + 1
        // Crossings are keyed by edge: horizontal edge (i, j)→(i+1, j) is 2·(j·stride + i), vertical
        // edge (i, j)→(i, j+1) is 2·(j·stride + i) + 1; both cells sharing an edge compute the same point.
        func crossing(_ edge: Int) -> (x: Double, y: Double) {
            let node = edge / 2, i = node % stride, j = node / stride
            let a = values[node], b = values[edge % 2 == 0 ? node + 1 : node + stride]
            let t = a == b ? 0.5 : min(1, max(0, (level - a) / (b - a)))
            return edge % 2 == 0 ? (Double(i) + t, Double(j)) : (Double(i), Double(j) + t)
        }
        var neighbors: [Int: [Int]] = [:]
        func connect(_ p: Int, _ q: Int) { neighbors[p, default: []].append(q); neighbors[q, default: []].append(p) }
        for j in 0..<n {
            for i in 0..<n {
                let node = j * stride + i
                let a = values[node], b = values[node + 1], c = values[node + stride + 1], d = values[node + stride]
                guard a.isFinite, b.isFinite, c.isFinite, d.isFinite else { continue }
                let bottom = 2 * node, right = 2 * (node + 1) + 1, top = 2 * (node + stride), left = 2 * node + 1
                let code = (a >= level ? 1 : 0) | (b >= level ? 2 : 0) | (c >= level ? 4 : 0) | (d >= level ? 8 : 0)
                switch code {
                case 0, 15: break
                case 1, 14: connect(left, bottom)
                case 2, 13: connect(bottom, right)
                case 3, 12: connect(left, right)
                case 4, 11: connect(right, top)
                case 6, 9: connect(bottom, top)
                case 7, 8: connect(left, top)
                case 5, 10:
                    let centreHigh = (a + b + c + d) / 4 >= level
                    // Corners a and c agree in case 5 (b and d in case 10); the centre decides
                    // whether the high corners connect across the cell.
                    if (code == 5) == centreHigh {
                        connect(bottom, right); connect(top, left)
                    } else {
                        connect(left, bottom); connect(right, top)
                    }
                default: break
                }
            }
        }
        var visited = Set<Int>(), lines: [[(x: Double, y: Double)]] = []
        // Open chains first (start at a crossing with one neighbour), then the closed loops.
        let starts = neighbors.keys.sorted { (neighbors[$0]!.count, $0) < (neighbors[$1]!.count, $1) }
        for start in starts where !visited.contains(start) {
            var chain = [start], current = start
            visited.insert(start)
            while let next = neighbors[current]?.first(where: { !visited.contains($0) }) {
                visited.insert(next)
                chain.append(next)
                current = next
            }
            if neighbors[current]?.contains(start) == true && chain.count > 2 { chain.append(start) }
            lines.append(chain.map(crossing))
        }
        return lines
    }

    /// Samples the function, traces the levels and draws them with the color bar, paths, markers and legend.
    public func makeSVG() -> SVGDocument {
        let values = sample()
        let (levels, levelAxis) = resolvedLevels(values)
        let pathColor = { (i: Int) in self.paths[i].color ?? ChartPalette.color(forSeries: i) }
        let legend = paths.indices.map { LegendEntry(name: paths[$0].name, color: pathColor($0), symbol: .lineWithMarker(dash: nil)) }
        let frame = ChartFrame(
            width: width, height: height, title: title, xTitle: xTitle, yTitle: yTitle, legend: legend,
            colorBar: ColorBar(title: colorTitle, axis: levelAxis, color: ChartPalette.slate),
            xAxis: { ChartAxis.numeric(covering: [], scale: .linear, range: xRange, targetTickCount: $0) },
            yAxis: { ChartAxis.numeric(covering: [], scale: .linear, range: yRange, targetTickCount: $0) })
        var svg = SVGDocument(width: width, height: height)
        frame.drawBackground(into: &svg)
        let n = Double(resolution)
        for level in levels {
            let color = ChartPalette.slate(levelAxis.fraction(level) ?? 0)
            for line in trace(level: level, values: values) {
                let points = line.compactMap {
                    frame.point(xRange.lowerBound + (xRange.upperBound - xRange.lowerBound) * $0.x / n,
                                yRange.lowerBound + (yRange.upperBound - yRange.lowerBound) * $0.y / n)
                }
                svg.polyline(points.map { ($0.x, $0.y) }, stroke: color, width: 1.1)
            }
        }
        for (i, path) in paths.enumerated() {
            let points = path.points.map { frame.point($0.x, $0.y) }
            for run in Clipping.polylines(points, in: frame.plot) {
                svg.polyline(run.map { ($0.x, $0.y) }, stroke: pathColor(i), width: 1.8)
            }
            for case let p? in points where frame.contains(p) {
                svg.circle(cx: p.x, cy: p.y, r: 2.4, fill: pathColor(i))
            }
            if let first = points.first, let p = first, frame.contains(p) {
                svg.circle(cx: p.x, cy: p.y, r: 4.5, fill: pathColor(i), stroke: "#ffffff", strokeWidth: 1.2,
                           title: "\(path.name) start")
            }
        }
        for marker in markers {
            guard let p = frame.point(marker.x, marker.y), frame.contains(p) else { continue }
            MarkerShape.cross.draw(into: &svg, x: p.x, y: p.y, size: 11, fill: "#111111")
            svg.text(marker.label, x: p.x + 8, y: p.y - 8, size: 12, weight: "bold", halo: true)
        }
        frame.drawForeground(into: &svg)
        return svg
    }
}
