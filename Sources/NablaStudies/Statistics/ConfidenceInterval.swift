import Foundation

/// How a confidence interval for a mean is built.
public enum IntervalMethod: Sendable, Hashable, Codable {
    /// Student's t interval x̄ ± t₍₁₋α/2, n−1₎ · s/√n. The default: it is the interval the paired
    /// t-test inverts, so for the paired difference "p < α" and "the (1 − α) interval excludes 0"
    /// are the same statement (up to rounding at the boundary).
    case studentT
    /// The bootstrap percentile interval (Efron & Tibshirani, *An Introduction to the Bootstrap*,
    /// 1993, §13.3): `resamples` means of n values drawn with replacement by the seeded SplitMix64
    /// generator, and their α/2 and 1 − α/2 quantiles. Deterministic for a given seed. With few
    /// values (n = 5) it is known to be too narrow (its coverage is below the nominal level), so it is
    /// offered as an option, not the default. `resamples` must be at least
    /// `ConfidenceInterval.minimumBootstrapResamples` (2,000).
    case bootstrapPercentile(resamples: Int = 10_000, seed: UInt64 = ConfidenceInterval.defaultBootstrapSeed)
}

/// A two-sided confidence interval [lower, upper] for a mean at confidence `level` (0.95 = 95%).
public struct ConfidenceInterval: Sendable, Hashable, Codable {
    /// The lower bound.
    public let lower: Double
    /// The upper bound (≥ `lower`).
    public let upper: Double
    /// The confidence level 1 − α, e.g. 0.95.
    public let level: Double
    /// How the interval was built.
    public let method: IntervalMethod

    /// An interval with the given bounds, level and method (no computation).
    public init(lower: Double, upper: Double, level: Double, method: IntervalMethod) {
        self.lower = lower
        self.upper = upper
        self.level = level
        self.method = method
    }

    /// The fewest bootstrap resamples accepted (percentile intervals need a few thousand so that the
    /// 2.5% and 97.5% quantiles of the resampled means are stable).
    public static let minimumBootstrapResamples = 2_000

    /// The fixed default seed of the bootstrap generator, so that reports are reproducible.
    public static let defaultBootstrapSeed: UInt64 = 42

    /// Whether lower ≤ value ≤ upper.
    public func contains(_ value: Double) -> Bool {
        lower <= value && value <= upper
    }

    /// Whether 0 lies outside the interval (lower > 0 or upper < 0): for an interval of a paired
    /// difference, the data rule out "no difference" at this level.
    public var excludesZero: Bool {
        lower > 0 || upper < 0
    }

    /// The interval for the mean of `values` built by `method`, or `nil` when there are fewer than two
    /// values (no spread, so no interval).
    ///
    /// - Throws: `StatisticsError` for an empty sample, a non-finite value, a level outside (0, 1) or
    ///   too few bootstrap resamples.
    public static func forMean(of values: [Double], level: Double = 0.95,
                               method: IntervalMethod = .studentT) throws -> ConfidenceInterval? {
        switch method {
        case .studentT:
            return try studentT(forMeanOf: values, level: level)
        case .bootstrapPercentile(let resamples, let seed):
            return try bootstrapPercentile(forMeanOf: values, level: level, resamples: resamples, seed: seed)
        }
    }

    /// Student's t interval for the mean (Student, 1908, "The probable error of a mean", Biometrika 6;
    /// e.g. Casella & Berger, *Statistical Inference*, 2nd ed., 2002, §9.2):
    ///
    ///     x̄ ± t₍₁₋α/2, n−1₎ · s/√n,  α = 1 − level,
    ///
    /// with s the sample standard deviation (n − 1) and t₍q, ν₎ the t quantile
    /// (`StudentTDistribution.quantile`). Identical values give the zero-width interval [x̄, x̄].
    /// Matches `scipy.stats.ttest_1samp(x, 0).confidence_interval(level)`; for paired differences
    /// `scipy.stats.ttest_rel(variant, baseline).confidence_interval(level)`.
    ///
    /// Returns `nil` when n < 2.
    ///
    /// - Throws: `StatisticsError` for an empty sample, a non-finite value or a level outside (0, 1).
    public static func studentT(forMeanOf values: [Double], level: Double = 0.95) throws -> ConfidenceInterval? {
        try StatisticsError.checkSample(values, named: "values")
        try StatisticsError.checkLevel(level)
        guard values.count >= 2, let mean = values.mean(), let standardError = values.standardError() else { return nil }
        let critical = StudentTDistribution(degreesOfFreedom: Double(values.count - 1)).quantile(0.5 + level / 2)
        let halfWidth = critical * standardError
        return ConfidenceInterval(lower: mean - halfWidth, upper: mean + halfWidth, level: level, method: .studentT)
    }
}

extension ConfidenceInterval: CustomStringConvertible {
    /// "[lower, upper]" with six significant digits.
    public var description: String {
        "[\(String(format: "%.6g", lower)), \(String(format: "%.6g", upper))]"
    }
}
