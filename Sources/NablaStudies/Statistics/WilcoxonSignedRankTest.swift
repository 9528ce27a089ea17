import Foundation

/// The Wilcoxon signed-rank test of H₀: the differences dᵢ = variantᵢ − baselineᵢ are symmetric about
/// 0 (Wilcoxon, 1945, "Individual comparisons by ranking methods", Biometrics Bulletin 1, 80–83;
/// Hollander, Wolfe & Chicken, *Nonparametric Statistical Methods*, 3rd ed., 2014, §3.1). Two-sided.
///
/// **Zeros** are dropped before ranking (Wilcoxon's own rule; scipy's `zero_method='wilcox'`, the
/// default): n′ = number of non-zero differences. With no non-zero difference the test has no
/// evidence either way and p = 1.
///
/// **Ranks** are those of |dᵢ| among the n′ non-zero differences; tied |dᵢ| share their average
/// (mid-)rank. R⁺ = Σ ranks of positive dᵢ, R⁻ = Σ ranks of negative dᵢ, R⁺ + R⁻ = n′(n′+1)/2.
/// The reported statistic is min(R⁺, R⁻), as scipy reports for the two-sided test.
///
/// **p-value**, with P taken over the 2^n′ equally likely sign assignments under H₀:
///
/// - n′ ≤ `exactLimit` (25): exact, p = min(1, 2 min(P(R⁺ ≤ r⁺), P(R⁺ ≥ r⁺))). The null
///   distribution is counted exactly by dynamic programming over the doubled ranks (integers even
///   with mid-ranks). Without ties this is the classical exact distribution and equals
///   `scipy.stats.wilcoxon(variant, baseline, method='exact')`; with ties it is the exact
///   permutation distribution conditional on the tie pattern, which equals scipy's
///   `method=PermutationMethod()` (what scipy's `method='auto'` uses for ties or zeros when n ≤ 13).
///   (scipy's `method='exact'` would instead round a mid-rank statistic and use the untied
///   distribution.)
/// - n′ > 25: normal approximation without continuity correction, with the tie correction of the
///   variance (scipy's `method='asymptotic'`, `correction=False`):
///
///       z = (R⁺ − n′(n′+1)/4) / σ,  σ² = [n′(n′+1)(2n′+1) − ½ Σ (tⱼ³ − tⱼ)] / 24,  p = 2Φ(−|z|),
///
///   tⱼ the sizes of the groups of tied |dᵢ|.
///
/// **Small n.** The smallest two-sided exact p-value is 2/2^n′: 0.0625 for n = 5, so with five seeds
/// this test can never reach p < 0.05 (nor can the sign-flip permutation test). It is therefore not
/// the default test of a `PairedComparison`.
public struct WilcoxonSignedRankTest: Sendable, Equatable {
    /// How the p-value was obtained.
    public enum Method: String, Sendable, Codable {
        /// Exact null distribution of R⁺ (conditional on ties, if any).
        case exact
        /// Normal approximation with tie correction, no continuity correction.
        case normalApproximation
    }

    /// The largest number of non-zero differences for which the exact distribution is used.
    public static let exactLimit = 25

    /// R⁺, the sum of the ranks of the positive differences.
    public let positiveRankSum: Double
    /// R⁻, the sum of the ranks of the negative differences.
    public let negativeRankSum: Double
    /// n′, the number of non-zero differences (the effective sample size).
    public let nonzeroCount: Int
    /// The number of zero differences dropped.
    public let zeroCount: Int
    /// Whether some non-zero |dᵢ| are tied (mid-ranks were used).
    public let hasTies: Bool
    /// How the p-value was obtained.
    public let method: Method
    /// z of the normal approximation (`nil` for the exact method).
    public let zStatistic: Double?
    /// The two-sided p-value.
    public let pValue: Double

    /// The two-sided statistic min(R⁺, R⁻) (scipy's `statistic`).
    public var statistic: Double { min(positiveRankSum, negativeRankSum) }

    /// The test on `differences` (variant − baseline, one per seed).
    ///
    /// - Throws: `StatisticsError` for an empty sample or a non-finite difference.
    public init(differences: [Double]) throws {
        try StatisticsError.checkSample(differences, named: "differences")
        let nonzero = differences.filter { $0 != 0 }
        let n = nonzero.count
        nonzeroCount = n
        zeroCount = differences.count - n
        // Mid-ranks of |d|, doubled so that they are integers: tied values at 0-based sorted
        // positions i…j share rank (i + j)/2 + 1, doubled i + j + 2.
        let order = nonzero.indices.sorted { abs(nonzero[$0]) < abs(nonzero[$1]) }
        var doubledRanks = [Int](repeating: 0, count: n)
        var tieSizes = [Int]()
        var start = 0
        while start < n {
            var end = start
            while end + 1 < n && abs(nonzero[order[end + 1]]) == abs(nonzero[order[start]]) { end += 1 }
            for k in start...end { doubledRanks[order[k]] = start + end + 2 }
            tieSizes.append(end - start + 1)
            start = end + 1
        }
        hasTies = tieSizes.contains { $0 > 1 }
        let doubledPositive = (0..<n).filter { nonzero[$0] > 0 }.reduce(0) { $0 + doubledRanks[$1] }
        let doubledTotal = n * (n + 1)
        positiveRankSum = Double(doubledPositive) / 2
        negativeRankSum = Double(doubledTotal - doubledPositive) / 2

        if n == 0 {
            method = .exact
            zStatistic = nil
            pValue = 1
        } else if n <= Self.exactLimit {
            method = .exact
            zStatistic = nil
            // counts[s] = number of sign assignments whose doubled positive rank sum is s.
            var counts = [Double](repeating: 0, count: doubledTotal + 1)
            counts[0] = 1
            var reach = 0
            for rank in doubledRanks {
                reach += rank
                for s in stride(from: reach, through: rank, by: -1) { counts[s] += counts[s - rank] }
            }
            let total = pow(2, Double(n))
            let atMost = counts[0...doubledPositive].reduce(0, +) / total
            let atLeast = counts[doubledPositive...].reduce(0, +) / total
            pValue = min(1, 2 * min(atMost, atLeast))
        } else {
            method = .normalApproximation
            let nn = Double(n)
            let tieTerm = tieSizes.reduce(0.0) { $0 + Double($1 * $1 * $1 - $1) }
            let sigma = ((nn * (nn + 1) * (2 * nn + 1) - tieTerm / 2) / 24).squareRoot()
            let z = (positiveRankSum - nn * (nn + 1) / 4) / sigma
            zStatistic = z
            pValue = min(1, 2 * StandardNormal.survivalFunction(abs(z)))
        }
    }

    /// The test on the pairs (baselineᵢ, variantᵢ), dᵢ = variantᵢ − baselineᵢ.
    ///
    /// - Throws: `StatisticsError` for empty or unequal-length samples or a non-finite value.
    public init(baseline: [Double], variant: [Double]) throws {
        try self.init(differences: pairedDifferences(baseline: baseline, variant: variant))
    }
}
