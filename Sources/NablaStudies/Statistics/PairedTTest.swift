import Foundation

/// The paired (one-sample) t-test of H₀: E[d] = 0 for per-seed differences dᵢ = variantᵢ − baselineᵢ
/// (Student, 1908, "The probable error of a mean", Biometrika 6, 1–25):
///
///     t = d̄ / (s_d / √n),   ν = n − 1,   p = P(|T_ν| ≥ |t|) = I_{ν/(ν+t²)}(ν/2, 1/2),
///
/// with s_d the sample standard deviation (n − 1) of the differences. Two-sided. Equals
/// `scipy.stats.ttest_rel(variant, baseline)` (statistic, p-value, df).
///
/// It is the default test of a `PairedComparison` because, unlike the exact rank and permutation
/// tests, it can reach p < 0.05 with n = 5 seeds, and because it agrees with the default t interval:
/// p < α exactly when the (1 − α) interval of d̄ excludes 0.
///
/// **Zero variance.** When all differences are equal, s_d = 0 and t = d̄/0. Here: if the common
/// difference is non-zero, t = ±∞ and p = 0 (every seed moved by the same amount: as strong as
/// evidence gets; scipy 1.17 returns the same); if it is zero, t = 0 and p = 1 (scipy returns NaN
/// for both).
public struct PairedTTest: Sendable, Equatable {
    /// The t statistic d̄ / (s_d/√n); ±∞ when the differences are equal and non-zero.
    public let statistic: Double
    /// The degrees of freedom n − 1.
    public let degreesOfFreedom: Int
    /// The two-sided p-value P(|T_ν| ≥ |t|).
    public let pValue: Double
    /// The mean difference d̄.
    public let meanDifference: Double
    /// The sample standard deviation of the differences s_d (0 when they are all equal).
    public let standardDeviation: Double

    /// The test on `differences` (variant − baseline, one per seed), or `nil` when there are fewer
    /// than two (no variance, so no test).
    ///
    /// - Throws: `StatisticsError` for an empty sample or a non-finite difference.
    public init?(differences: [Double]) throws {
        try StatisticsError.checkSample(differences, named: "differences")
        guard differences.count >= 2, let mean = differences.mean(),
              let sd = differences.sampleStandardDeviation() else { return nil }
        let n = differences.count
        meanDifference = mean
        standardDeviation = sd
        degreesOfFreedom = n - 1
        if sd == 0 {
            statistic = mean == 0 ? 0 : (mean > 0 ? .infinity : -.infinity)
            pValue = mean == 0 ? 1 : 0
        } else {
            let t = mean / (sd / Double(n).squareRoot())
            statistic = t
            pValue = StudentTDistribution(degreesOfFreedom: Double(n - 1)).twoSidedPValue(t)
        }
    }

    /// The test on the pairs (baselineᵢ, variantᵢ): `init(differences:)` with dᵢ = variantᵢ − baselineᵢ.
    ///
    /// - Throws: `StatisticsError` for empty or unequal-length samples or a non-finite value.
    public init?(baseline: [Double], variant: [Double]) throws {
        try self.init(differences: pairedDifferences(baseline: baseline, variant: variant))
    }
}

/// variantᵢ − baselineᵢ after checking both samples (same non-zero length, finite values).
func pairedDifferences(baseline: [Double], variant: [Double]) throws -> [Double] {
    try StatisticsError.checkSample(baseline, named: "baseline")
    try StatisticsError.checkSample(variant, named: "variant")
    guard baseline.count == variant.count else {
        throw StatisticsError.countMismatch(baseline: baseline.count, variant: variant.count)
    }
    let differences = zip(variant, baseline).map { $0 - $1 }
    if let index = differences.firstIndex(where: { !$0.isFinite }) {
        throw StatisticsError.nonFiniteValue(sample: "differences", index: index)
    }
    return differences
}
