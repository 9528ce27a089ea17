import Foundation

/// Colors for chart series and color scales.
public enum ChartPalette {
    /// Twelve distinguishable series colors: the Tableau 10 palette (the matplotlib default cycle)
    /// followed by a dark navy and a gold. Series beyond twelve reuse the colors with a dash pattern
    /// (see ``dash(forSeries:)``).
    public static let series: [String] = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#e7ba52",
    ]

    /// The color of series `index`.
    public static func color(forSeries index: Int) -> String { series[index % series.count] }

    /// `nil` (solid) for the first twelve series, then dash patterns so that a reused color is still
    /// a distinguishable line.
    public static func dash(forSeries index: Int) -> String? {
        let patterns: [String?] = [nil, "6 3", "2 3", "8 3 2 3"]
        return patterns[(index / series.count) % patterns.count]
    }

    /// Viridis (van der Walt & Smith, matplotlib 2.0 default colormap), sampled at eleven stops:
    /// perceptually uniform and readable in grayscale and by color-blind readers.
    static let viridis: [(Double, Double, Double)] = [
        (0.267, 0.005, 0.329), (0.283, 0.141, 0.458), (0.254, 0.265, 0.530), (0.207, 0.372, 0.553),
        (0.164, 0.471, 0.558), (0.128, 0.567, 0.551), (0.135, 0.659, 0.518), (0.267, 0.749, 0.441),
        (0.478, 0.821, 0.318), (0.741, 0.873, 0.150), (0.993, 0.906, 0.144),
    ]

    /// A light-to-dark slate ramp for contour lines: every level visible, all of them muted so that
    /// colored paths stand out over them.
    static let slate: [(Double, Double, Double)] = [
        (0.62, 0.68, 0.80), (0.47, 0.54, 0.67), (0.30, 0.36, 0.50),
    ]

    /// The viridis color at `t` ∈ [0, 1] (clamped), as `#rrggbb`.
    public static func viridis(_ t: Double) -> String { interpolate(viridis, t) }

    /// The contour ramp color at `t` ∈ [0, 1] (clamped).
    public static func slate(_ t: Double) -> String { interpolate(slate, t) }

    static func interpolate(_ stops: [(Double, Double, Double)], _ t: Double) -> String {
        let t = t.isFinite ? min(1, max(0, t)) : 0
        let position = t * Double(stops.count - 1)
        let i = min(stops.count - 2, Int(position))
        let f = position - Double(i)
        let a = stops[i], b = stops[i + 1]
        func hex(_ x: Double, _ y: Double) -> String {
            let v = Int(((x + (y - x) * f) * 255).rounded())
            return String(format: "%02x", min(255, max(0, v)))
        }
        return "#" + hex(a.0, b.0) + hex(a.1, b.1) + hex(a.2, b.2)
    }
}
