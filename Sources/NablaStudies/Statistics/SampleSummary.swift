import Foundation

/// The summary of one metric over a study's seeds: n, mean, sample standard deviation, standard error
/// and a confidence interval of the mean — the "mean ± sd [95% CI]" of a report row.
///
///     x̄ = (1/n) Σ xᵢ,  s = √(Σ (xᵢ − x̄)² / (n − 1)),  SE = s/√n,
///     95% CI (default) = x̄ ± t₍0.975, n−1₎ · SE
///
/// (see `Collection.mean()`, `sampleStandardDeviation()`, `ConfidenceInterval.studentT(forMeanOf:level:)`).
/// The interval describes where the mean over seeds lies; to compare two variants run on the same
/// seeds, use `PairedComparison`, whose interval of the paired difference is much narrower than
/// anything read off two overlapping per-variant intervals.
///
/// With a single value the mean is that value and the spread quantities are `nil` (not computable).
public struct SampleSummary: Sendable, Equatable, Codable {
    /// n, the number of values (seeds).
    public let count: Int
    /// The mean x̄.
    public let mean: Double
    /// The sample standard deviation s (n − 1 denominator); `nil` when n < 2.
    public let standardDeviation: Double?
    /// The standard error of the mean s/√n; `nil` when n < 2.
    public let standardError: Double?
    /// The confidence interval of the mean; `nil` when n < 2.
    public let interval: ConfidenceInterval?

    /// Summarizes `values` (one per seed).
    ///
    /// - Parameters:
    ///   - values: The metric per seed.
    ///   - level: The confidence level of `interval` (default 0.95).
    ///   - method: How `interval` is built (default: Student t).
    /// - Throws: `StatisticsError` for an empty sample, a non-finite value, a level outside (0, 1) or
    ///   too few bootstrap resamples.
    public init(of values: [Double], level: Double = 0.95, method: IntervalMethod = .studentT) throws {
        try StatisticsError.checkSample(values, named: "values")
        count = values.count
        mean = values.mean() ?? 0
        standardDeviation = values.sampleStandardDeviation()
        standardError = values.standardError()
        interval = try ConfidenceInterval.forMean(of: values, level: level, method: method)
    }
}

extension SampleSummary: CustomStringConvertible {
    /// "mean ± sd [lower, upper] (n = 5)" with six significant digits, or "mean (n = 1)".
    public var description: String {
        let mean = String(format: "%.6g", self.mean)
        guard let sd = standardDeviation, let interval = interval else { return "\(mean) (n = \(count))" }
        return "\(mean) ± \(String(format: "%.6g", sd)) \(interval) (n = \(count))"
    }
}
