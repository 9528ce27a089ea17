import Foundation

/// The paired sign-flip permutation test of H₀: the differences dᵢ = variantᵢ − baselineᵢ are
/// symmetric about 0 (Fisher, *The Design of Experiments*, 1935, ch. III, §21, on Darwin's paired
/// Zea mays data; Good, *Permutation, Parametric, and Bootstrap Tests of Hypotheses*, 3rd ed.,
/// 2005). Two-sided.
///
/// Under H₀ each of the 2ⁿ sign assignments sᵢ ∈ {−1, +1} is equally likely; the statistic is
/// S = Σᵢ sᵢ dᵢ (equivalently the mean difference) and
///
///     p = #{assignments with |S| ≥ |S_observed|} / 2ⁿ.
///
/// Exact enumeration for n ≤ `exactLimit` (20, about a million sums). This equals
/// `scipy.stats.permutation_test((d,), np.mean, permutation_type='samples', n_resamples=np.inf)`,
/// whose two-sided p, 2·min(P(S ≤ s), P(S ≥ s)), coincides with the count above because the
/// sign-flip distribution is symmetric. Sums that differ from |S_observed| by rounding only (at most
/// 1e-12 · Σ|dᵢ|) count as equal, so mathematically tied assignments are not lost to
/// floating-point noise.
///
/// For n > 20, `monteCarloResamples` random assignments are drawn from `SplitMix64` seeded with
/// `seed`, and p = (1 + #{|S| ≥ |S_observed|}) / (1 + resamples) (Phipson & Smyth, 2010, "Permutation
/// p-values should never be zero", Stat. Appl. Genet. Mol. Biol. 9).
///
/// The smallest exact p is 2/2ⁿ: 0.0625 for n = 5 seeds, so at n = 5 this test can never reach
/// p < 0.05 two-sided. Differences that are all 0 give p = 1.
public struct SignFlipPermutationTest: Sendable, Equatable {
    /// The largest n for which all 2ⁿ assignments are enumerated.
    public static let exactLimit = 20
    /// The number of random assignments drawn when n > `exactLimit`.
    public static let monteCarloResamples = 100_000

    /// The mean difference d̄ = S_observed / n.
    public let meanDifference: Double
    /// The number of assignments evaluated: 2ⁿ when exact, otherwise `monteCarloResamples`.
    public let assignmentCount: Int
    /// How many of them gave |S| ≥ |S_observed|.
    public let extremeCount: Int
    /// Whether all 2ⁿ assignments were enumerated.
    public let isExact: Bool
    /// The two-sided p-value.
    public let pValue: Double

    /// The test on `differences` (variant − baseline, one per seed); `seed` drives the Monte Carlo
    /// assignments used only when n > `exactLimit`.
    ///
    /// - Throws: `StatisticsError` for an empty sample or a non-finite difference.
    public init(differences: [Double], seed: UInt64 = ConfidenceInterval.defaultBootstrapSeed) throws {
        try StatisticsError.checkSample(differences, named: "differences")
        let n = differences.count
        let observed = differences.reduce(0, +)
        meanDifference = differences.mean() ?? 0
        let tolerance = 1e-12 * differences.reduce(0) { $0 + abs($1) }
        let threshold = abs(observed) - tolerance
        if n <= Self.exactLimit {
            // Assignment `mask` gives +dᵢ where bit i is 0 and −dᵢ where it is 1; the complement of a
            // mask negates S exactly, so only masks with the top bit clear are summed and counted twice.
            let half = 1 << (n - 1)
            var count = 0
            for mask in 0..<half {
                var sum = 0.0
                for i in 0..<n { sum += mask & (1 << i) == 0 ? differences[i] : -differences[i] }
                if abs(sum) >= threshold { count += 1 }
            }
            assignmentCount = 2 * half
            extremeCount = 2 * count
            isExact = true
            pValue = min(1, Double(extremeCount) / Double(assignmentCount))
        } else {
            var generator = SplitMix64(seed: seed)
            var count = 0
            for _ in 0..<Self.monteCarloResamples {
                var sum = 0.0
                for d in differences { sum += generator.nextBool() ? -d : d }
                if abs(sum) >= threshold { count += 1 }
            }
            assignmentCount = Self.monteCarloResamples
            extremeCount = count
            isExact = false
            pValue = min(1, Double(1 + count) / Double(1 + Self.monteCarloResamples))
        }
    }

    /// The test on the pairs (baselineᵢ, variantᵢ), dᵢ = variantᵢ − baselineᵢ.
    ///
    /// - Throws: `StatisticsError` for empty or unequal-length samples or a non-finite value.
    public init(baseline: [Double], variant: [Double]) throws {
        try self.init(differences: pairedDifferences(baseline: baseline, variant: variant))
    }
}
