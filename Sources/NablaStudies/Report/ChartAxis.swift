import Foundation
import NablaNN
import NablaOptim

/// How an axis maps values to positions.
public enum AxisScale: Sendable, Equatable {
    /// Positions proportional to the value.
    case linear
    /// Base-10 logarithmic; values ≤ 0 cannot be shown and are left out.
    case logarithmic
}

/// A chart axis: its domain, its labelled ticks, unlabelled minor ticks, and the map from values to a
/// fraction of the axis length.
///
/// Linear ticks use "nice numbers" (Heckbert, "Nice Numbers for Graph Labels", Graphics Gems, 1990):
/// the step is 1, 2 or 5 × 10ᵏ, chosen so about `targetTickCount` ticks cover the data, and the domain
/// is widened to whole steps. Logarithmic axes cover whole decades, with ticks at 1, 2, 5 × 10ᵏ when
/// the data span at most two decades, otherwise at every (or every n-th) power of ten.
public struct ChartAxis: Sendable {
    /// How values map to positions.
    public let scale: AxisScale
    /// The low end of the (widened) domain.
    public let lower: Double
    /// The high end of the (widened) domain.
    public let upper: Double
    /// The values of the labelled ticks, increasing.
    public let ticks: [Double]
    /// The tick labels, parallel to ``ticks``.
    public let labels: [String]
    /// Unlabelled ticks between the labelled ones (logarithmic axes: 2…9 × 10ᵏ).
    public let minorTicks: [Double]

    /// The position of `value` as a fraction of the axis (0 at ``lower``, 1 at ``upper``), or `nil` when
    /// the value cannot be drawn (not finite, or ≤ 0 on a logarithmic axis). Values outside the domain
    /// map outside [0, 1].
    public func fraction(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        switch scale {
        case .linear:
            return (value - lower) / (upper - lower)
        case .logarithmic:
            guard value > 0 else { return nil }
            return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
    }

    /// A category axis: domain [0, n], a tick and a label at the middle of each slot.
    public static func categorical(_ names: [String]) -> ChartAxis {
        ChartAxis(scale: .linear, lower: 0, upper: Double(max(1, names.count)),
                  ticks: names.indices.map { Double($0) + 0.5 }, labels: names, minorTicks: [])
    }

    /// A numeric axis covering `values` (non-finite values, and values ≤ 0 on a log axis, are ignored).
    /// - Parameters:
    ///   - values: the data the axis must cover.
    ///   - scale: linear or logarithmic.
    ///   - range: a fixed domain instead of one derived from the data.
    ///   - targetTickCount: about how many labelled ticks to aim for (at least 2; default 6).
    ///   - includeZero: widen a linear domain to include 0 (bar charts, counts).
    public static func numeric(covering values: [Double], scale: AxisScale, range: ClosedRange<Double>? = nil,
                               targetTickCount: Int = 6, includeZero: Bool = false) -> ChartAxis {
        let target = max(2, targetTickCount)
        switch scale {
        case .linear: return linear(values.filter(\.isFinite), range: range, target: target, includeZero: includeZero)
        case .logarithmic: return logarithmic(values.filter { $0.isFinite && $0 > 0 }, range: range, target: target)
        }
    }

    private static func linear(_ values: [Double], range: ClosedRange<Double>?, target: Int, includeZero: Bool) -> ChartAxis {
        var low = range?.lowerBound ?? values.min() ?? 0
        var high = range?.upperBound ?? values.max() ?? 1
        if includeZero && range == nil { low = Swift.min(low, 0); high = Swift.max(high, 0) }
        if high <= low {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            low -= pad
            high += pad
        }
        let step = niceStep((high - low) / Double(target - 1))
        if range == nil {
            low = (low / step).rounded(.down) * step
            high = (high / step).rounded(.up) * step
        }
        let first = Int((low / step - 1e-9).rounded(.up)), last = Int((high / step + 1e-9).rounded(.down))
        let ticks = first <= last ? (first...last).map { $0 == 0 ? 0 : Double($0) * step } : []
        let labels = ticks.map { linearLabel($0, step: step, magnitude: Swift.max(abs(low), abs(high))) }
        return ChartAxis(scale: .linear, lower: low, upper: high, ticks: ticks, labels: labels, minorTicks: [])
    }

    private static func logarithmic(_ values: [Double], range: ClosedRange<Double>?, target: Int) -> ChartAxis {
        var low: Double, high: Double
        if let range, range.lowerBound > 0 {
            low = range.lowerBound
            high = Swift.max(range.upperBound, low * 10)
        } else {
            let minimum = values.min() ?? 1, maximum = values.max() ?? 10
            low = pow(10, (log10(minimum) + 1e-9).rounded(.down))
            high = pow(10, (log10(maximum) - 1e-9).rounded(.up))
            if high <= low { high = low * 10 }
        }
        let firstDecade = Int((log10(low) - 1e-9).rounded(.down)), lastDecade = Int((log10(high) + 1e-9).rounded(.up))
        let decades = log10(high) - log10(low)
        let inside = { (v: Double) in v >= low * (1 - 1e-9) && v <= high * (1 + 1e-9) }
        var ticks: [Double] = [], minor: [Double] = []
        if decades <= 2.01 {
            for e in firstDecade...lastDecade {
                for m in [1.0, 2, 5] where inside(m * pow(10, Double(e))) { ticks.append(m * pow(10, Double(e))) }
            }
        } else {
            let stride = Swift.max(1, Int((decades / Double(target - 1)).rounded(.up)))
            for e in firstDecade...lastDecade where e % stride == 0 && inside(pow(10, Double(e))) {
                ticks.append(pow(10, Double(e)))
            }
        }
        if decades <= 8 {
            for e in firstDecade...lastDecade {
                for m in 2...9 {
                    let v = Double(m) * pow(10, Double(e))
                    if inside(v) && !ticks.contains(where: { abs($0 - v) <= 1e-9 * v }) { minor.append(v) }
                }
            }
        }
        return ChartAxis(scale: .logarithmic, lower: low, upper: high, ticks: ticks,
                         labels: ticks.map(logLabel), minorTicks: minor)
    }

    /// 1, 2 or 5 × 10ᵏ, the smallest such number ≥ `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        let power = pow(10, log10(raw).rounded(.down))
        let fraction = raw / power
        let nice: Double = fraction <= 1 + 1e-9 ? 1 : fraction <= 2 + 1e-9 ? 2 : fraction <= 5 + 1e-9 ? 5 : 10
        return nice * power
    }

    /// A linear tick label with as many decimals as the step needs (`0.25` → step 0.05 → `0.25`);
    /// scientific (`2.5e-5`) for magnitudes ≥ 10⁶ or < 10⁻³. Negative numbers use the minus sign U+2212.
    static func linearLabel(_ value: Double, step: Double, magnitude: Double) -> String {
        if value == 0 { return "0" }
        let text: String
        if magnitude >= 1e6 || magnitude < 1e-3 {
            let digits = Swift.max(0, Int((log10(magnitude) + 1e-9).rounded(.down) - (log10(step) + 1e-9).rounded(.down)))
            text = compactScientific(value, fractionDigits: digits)
        } else {
            let decimals = Swift.max(0, -Int((log10(step) + 1e-9).rounded(.down)))
            text = String(format: "%.\(decimals)f", value)
        }
        return text.hasPrefix("-") ? "\u{2212}" + text.dropFirst() : text
    }

    /// `2.5e-5` rather than C's `2.50e-05`.
    static func compactScientific(_ value: Double, fractionDigits: Int) -> String {
        let raw = String(format: "%.\(fractionDigits)e", value)
        guard let e = raw.firstIndex(of: "e") else { return raw }
        var mantissa = String(raw[..<e])
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        let exponent = Int(raw[raw.index(after: e)...]) ?? 0
        return "\(mantissa)e\(exponent)"
    }

    /// `0.001`, `20`, `10000` for 10⁻³…10⁴; `10⁻⁵`, `2×10⁶` outside.
    static func logLabel(_ value: Double) -> String {
        let exponent = Int((log10(value) + 1e-9).rounded(.down))
        let mantissa = (value / pow(10, Double(exponent))).rounded()
        if (-3...4).contains(exponent) {
            return String(format: "%.\(Swift.max(0, -exponent))f", value)
        }
        let power = "10" + superscript(exponent)
        return mantissa == 1 ? power : "\(Int(mantissa))×" + power
    }

    static func superscript(_ n: Int) -> String {
        let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
        return (n < 0 ? "⁻" : "") + String(String(abs(n)).map { digits[Int(String($0))!] })
    }
}
