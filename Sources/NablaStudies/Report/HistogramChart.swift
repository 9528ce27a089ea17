import NablaTensor
import NablaNN

/// A histogram, or several overlaid ones — e.g. the weights of runs with and without weight decay.
///
/// All series share the same `binCount` equal-width bins over ``range`` (by default the smallest and
/// largest finite value of all series), bin `i` holding `lower + i·w ≤ v < lower + (i+1)·w` and the
/// last bin also its upper edge. Values outside the range and non-finite values are not counted.
/// One series is drawn as solid bars; several as translucent filled outlines so that each stays
/// visible. With ``density`` the heights are normalized to integrate to 1 (count / (n · w)), which
/// compares sets of different sizes.
public struct HistogramChart: Chart {
    /// One set of values, binned and drawn in one color.
    public struct Series {
        /// The legend label.
        public var name: String
        /// The values; non-finite ones and those outside the chart's range are not counted.
        public var values: [Double]
        /// `#rrggbb`; `nil` picks the palette color of the series' index.
        public var color: String?

        /// A series of `values`.
        public init(name: String, values: [Double], color: String? = nil) {
            self.name = name
            self.values = values
            self.color = color
        }

        /// A series of a tensor's elements.
        public init<Scalar: TensorScalar>(name: String, tensor: Tensor<Scalar>, color: String? = nil) {
            self.init(name: name, values: tensor.scalars.map { Double($0) }, color: color)
        }
    }

    /// The title drawn above the plot; `nil` for none.
    public var title: String?
    /// The x-axis title; `nil` for none.
    public var xTitle: String?
    /// The y-axis title; `nil` for none.
    public var yTitle: String?
    /// The series, binned alike and overlaid.
    public var series: [Series]
    /// The number of equal-width bins.
    public var binCount: Int
    /// The binned interval; `nil` spans the smallest to the largest finite value of all series.
    public var range: ClosedRange<Double>?
    /// Heights as `count / (n · w)` (integrating to 1) instead of counts.
    public var density: Bool
    /// `.logarithmic` shows sparse tails next to a tall peak; empty bins then have no bar.
    public var yScale: AxisScale
    /// The width in SVG user units (CSS pixels at 100%).
    public var width: Double
    /// The height in SVG user units.
    public var height: Double

    /// A histogram of `series` (40 bins, counts, 640 × 380 by default).
    /// - Precondition: `binCount ≥ 1`.
    public init(title: String? = nil, xTitle: String? = nil, yTitle: String? = nil, series: [Series],
                binCount: Int = 40, range: ClosedRange<Double>? = nil, density: Bool = false,
                yScale: AxisScale = .linear, width: Double = 640, height: Double = 380) {
        precondition(binCount >= 1, "HistogramChart: binCount \(binCount) must be at least 1")
        self.title = title
        self.xTitle = xTitle
        self.yTitle = yTitle
        self.series = series
        self.binCount = binCount
        self.range = range
        self.density = density
        self.yScale = yScale
        self.width = width
        self.height = height
    }

    /// The common bin range: ``range`` or the finite extremes of all series (widened if they coincide).
    public var binRange: ClosedRange<Double> {
        if let range { return range }
        var low = Double.infinity, high = -Double.infinity
        for s in series { for v in s.values where v.isFinite { low = min(low, v); high = max(high, v) } }
        if low > high { return 0...1 }
        if low == high { return (low - 0.5)...(high + 0.5) }
        return low...high
    }

    /// The height of every bin of every series (counts, or densities with ``density``).
    public func binHeights() -> [[Double]] {
        let range = binRange
        let binWidth = (range.upperBound - range.lowerBound) / Double(binCount)
        return series.map { s in
            var counts = [Double](repeating: 0, count: binCount)
            var total = 0.0
            for v in s.values where v.isFinite && range.contains(v) {
                counts[min(binCount - 1, Int((v - range.lowerBound) / binWidth))] += 1
                total += 1
            }
            return density && total > 0 ? counts.map { $0 / (total * binWidth) } : counts
        }
    }

    /// Bins the series and draws the bars (or outlines), the axes and the legend.
    public func makeSVG() -> SVGDocument {
        let range = binRange
        let heights = binHeights()
        let binWidth = (range.upperBound - range.lowerBound) / Double(binCount)
        let color = { (i: Int) in self.series[i].color ?? ChartPalette.color(forSeries: i) }
        let positive = heights.flatMap { $0 }.filter { $0 > 0 }
        let legend = series.count > 1 || !(series.first?.name.isEmpty ?? true)
            ? series.indices.map { LegendEntry(name: series[$0].name, color: color($0), symbol: .patch) } : []
        let frame = ChartFrame(
            width: width, height: height, title: title, xTitle: xTitle, yTitle: yTitle ?? (density ? "density" : "count"),
            legend: legend,
            xAxis: { ChartAxis.numeric(covering: [range.lowerBound, range.upperBound], scale: .linear, targetTickCount: $0) },
            yAxis: {
                yScale == .linear
                    ? ChartAxis.numeric(covering: positive + [0], scale: .linear, targetTickCount: $0, includeZero: true)
                    : ChartAxis.numeric(covering: positive, scale: .logarithmic, targetTickCount: $0)
            })
        var svg = SVGDocument(width: width, height: height)
        frame.drawBackground(into: &svg)
        let base = frame.plot.y + frame.plot.height
        let single = series.count == 1
        for (i, bins) in heights.enumerated() {
            var outline = ""
            var penDown = false
            for (b, h) in bins.enumerated() {
                let left = range.lowerBound + Double(b) * binWidth
                guard let x0 = frame.x(left), let x1 = frame.x(left + binWidth) else { continue }
                guard h > 0, let top = frame.y(h).map({ max(frame.plot.y, $0) }) else {
                    if penDown { outline += "L\(SVGDocument.number(x0)),\(SVGDocument.number(base))"; penDown = false }
                    continue
                }
                if single {
                    svg.rect(x: x0 + 0.5, y: top, width: max(0.5, x1 - x0 - 1), height: base - top, fill: color(i),
                             fillOpacity: 0.8)
                }
                let n = SVGDocument.number
                if !penDown { outline += "M\(n(x0)),\(n(base))"; penDown = true }
                outline += "L\(n(x0)),\(n(top))L\(n(x1)),\(n(top))"
                if b == bins.count - 1 { outline += "L\(n(x1)),\(n(base))" }
            }
            if !single {
                svg.path(outline, stroke: color(i), fill: color(i), strokeWidth: 1.6, fillOpacity: 0.18)
            }
        }
        frame.drawForeground(into: &svg)
        return svg
    }
}
