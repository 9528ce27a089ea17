import Foundation

/// The hypothesis test whose p-value a `PairedComparison` (and hence its `Verdict`) uses.
public enum PairedTest: String, Sendable, Hashable, Codable, CaseIterable {
    /// The paired t-test (`PairedTTest`). The default: it can reach p < 0.05 with n = 5 seeds and
    /// agrees with the default t interval (p < α ⇔ the interval excludes 0).
    case pairedT
    /// The Wilcoxon signed-rank test (`WilcoxonSignedRankTest`). Needs no normality, but with n
    /// seeds its smallest two-sided p is 2/2ⁿ (0.0625 for n = 5), so it cannot detect anything at
    /// α = 0.05 with fewer than six seeds.
    case wilcoxonSignedRank
    /// The exact sign-flip permutation test of the mean difference (`SignFlipPermutationTest`). Same
    /// floor as Wilcoxon: 2/2ⁿ, 0.0625 for n = 5.
    case signFlipPermutation

    /// A readable name: "paired t-test", "Wilcoxon signed-rank test", "sign-flip permutation test".
    public var name: String {
        switch self {
        case .pairedT: return "paired t-test"
        case .wilcoxonSignedRank: return "Wilcoxon signed-rank test"
        case .signFlipPermutation: return "sign-flip permutation test"
        }
    }
}

/// A variant compared with the baseline over the same seeds.
///
/// Seed i gives both runs the same data order and initialisation, so the runs are paired and the
/// analysis works on the per-seed differences dᵢ = variantᵢ − baselineᵢ (positive: the variant's
/// metric is higher). Pairing removes the seed-to-seed variation the two runs share, which is usually
/// most of it. Everything is computed from d:
///
/// - d̄ (`meanDifference`), s_d (`standardDeviation`, n − 1), s_d/√n (`standardError`);
/// - the confidence interval of d̄ (`interval`; Student t by default, bootstrap percentile optional);
/// - all three tests (paired t, Wilcoxon signed-rank, sign-flip permutation), with `test` choosing
///   whose p-value is `pValue`;
/// - the effect size d_z = d̄/s_d and g_z (`effectSize`).
///
/// **Degenerate cases.** Malformed input throws `StatisticsError` (NaN or infinite values, samples of
/// different lengths, an empty sample). With a single pair the comparison is not computable
/// (`isComputable == false`): `standardDeviation`, `interval`, `pValue`, `pairedTTest` and
/// `effectSize` are `nil`, and the verdict is "no detectable difference (n = 1)". When all differences
/// are equal (zero variance) the t-test gives p = 0 if they are non-zero and p = 1 if they are zero
/// (see `PairedTTest`), the t interval has zero width, and `effectSize` is `nil`.
public struct PairedComparison: Sendable, Equatable {
    /// dᵢ = variantᵢ − baselineᵢ, in seed order.
    public let differences: [Double]
    /// d̄, the mean difference.
    public let meanDifference: Double
    /// s_d, the sample standard deviation of the differences (`nil` when n < 2).
    public let standardDeviation: Double?
    /// s_d/√n, the standard error of d̄ (`nil` when n < 2).
    public let standardError: Double?
    /// The confidence interval of d̄ (`nil` when n < 2).
    public let interval: ConfidenceInterval?
    /// The test whose p-value is `pValue`.
    public let test: PairedTest
    /// The paired t-test (`nil` when n < 2).
    public let pairedTTest: PairedTTest?
    /// The Wilcoxon signed-rank test.
    public let wilcoxonTest: WilcoxonSignedRankTest
    /// The sign-flip permutation test.
    public let permutationTest: SignFlipPermutationTest
    /// d_z and g_z (`nil` when n < 2 or s_d = 0).
    public let effectSize: EffectSize?

    /// n, the number of pairs (seeds).
    public var count: Int { differences.count }

    /// Whether there are at least two pairs, so that a spread, an interval and a test exist.
    public var isComputable: Bool { count >= 2 }

    /// The two-sided p-value of `test`, unadjusted; `nil` when the comparison is not computable.
    /// Adjust a family of these with `HolmBonferroni` before judging them.
    public var pValue: Double? {
        guard isComputable else { return nil }
        switch test {
        case .pairedT: return pairedTTest?.pValue
        case .wilcoxonSignedRank: return wilcoxonTest.pValue
        case .signFlipPermutation: return permutationTest.pValue
        }
    }

    /// Compares `variant` with `baseline`, where index i of both is seed i.
    ///
    /// - Parameters:
    ///   - baseline: The baseline's metric per seed.
    ///   - variant: The variant's metric per seed, same seeds in the same order.
    ///   - test: The test whose p-value is `pValue` (default: paired t-test).
    ///   - level: The confidence level of `interval` (default 0.95).
    ///   - intervalMethod: How `interval` is built (default: Student t).
    /// - Throws: `StatisticsError` for empty or unequal-length samples, a non-finite value, a level
    ///   outside (0, 1) or too few bootstrap resamples.
    public init(baseline: [Double], variant: [Double], test: PairedTest = .pairedT, level: Double = 0.95,
                intervalMethod: IntervalMethod = .studentT) throws {
        try self.init(differences: pairedDifferences(baseline: baseline, variant: variant),
                      test: test, level: level, intervalMethod: intervalMethod)
    }

    /// A comparison from the per-seed differences dᵢ = variantᵢ − baselineᵢ directly.
    ///
    /// - Throws: `StatisticsError` for an empty sample, a non-finite difference, a level outside
    ///   (0, 1) or too few bootstrap resamples.
    public init(differences: [Double], test: PairedTest = .pairedT, level: Double = 0.95,
                intervalMethod: IntervalMethod = .studentT) throws {
        try StatisticsError.checkSample(differences, named: "differences")
        try StatisticsError.checkLevel(level)
        self.differences = differences
        self.test = test
        meanDifference = differences.mean() ?? 0
        standardDeviation = differences.sampleStandardDeviation()
        standardError = differences.standardError()
        interval = try ConfidenceInterval.forMean(of: differences, level: level, method: intervalMethod)
        pairedTTest = try PairedTTest(differences: differences)
        wilcoxonTest = try WilcoxonSignedRankTest(differences: differences)
        permutationTest = try SignFlipPermutationTest(differences: differences)
        effectSize = try EffectSize(differences: differences)
    }
}
