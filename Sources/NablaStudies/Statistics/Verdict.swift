import Foundation

/// The verdict on one variant against the baseline: better, worse, or no detectable difference.
///
/// **Rule.** With adjusted p the Holm-adjusted p-value of the comparison's test within the study's
/// family of comparisons (`HolmBonferroni`), and I the comparison's confidence interval of the mean
/// paired difference d̄ (95% by default):
///
/// - *better* / *worse* requires **both** p < α **and** 0 ∉ I. The direction is the side of 0 on
///   which I lies (I > 0: the variant's metric is higher), read through `higherIsBetter` (accuracy:
///   higher is better; loss or error: lower is better);
/// - otherwise *no detectable difference*, also when the comparison is not computable (n < 2).
///
/// Requiring both conditions means a reader never sees "better" next to an interval that contains 0.
/// With the defaults (paired t-test, t interval) the unadjusted conditions coincide; Holm's adjustment
/// only raises p, so the p-condition is the binding one when several variants are compared. "No
/// detectable difference" is not "no difference": with few seeds only large, consistent effects are
/// detectable.
///
/// **Why the paired t-test is the default test.** With n = 5 seeds the exact Wilcoxon signed-rank and
/// sign-flip permutation tests have 2⁵ = 32 equally likely sign patterns, so their smallest two-sided
/// p-value is 2/32 = 0.0625 > 0.05: they can never report a difference at α = 0.05, however large.
/// The test is choosable (`PairedTest`); choose a rank or permutation test only with n ≥ 6 (and in
/// practice more, since Holm's adjustment multiplies the smallest p by the number of variants).
public struct Verdict: Sendable, Equatable, Codable {
    /// The three possible verdicts.
    public enum Label: String, Sendable, Hashable, Codable, CaseIterable {
        case better
        case worse
        case noDetectableDifference
    }

    /// The verdict.
    public let label: Label
    /// n, the number of seeds (pairs) behind it.
    public let count: Int
    /// The Holm-adjusted p-value it was judged on (`nil` if there was none).
    public let adjustedPValue: Double?
    /// The family-wise significance level α.
    public let alpha: Double

    /// "better", "worse", or "no detectable difference (n = 5)".
    public var text: String {
        switch label {
        case .better: return "better"
        case .worse: return "worse"
        case .noDetectableDifference: return "no detectable difference (n = \(count))"
        }
    }

    /// The verdict on `comparison` given its Holm-adjusted p-value.
    ///
    /// - Parameters:
    ///   - comparison: The variant-versus-baseline comparison (its `interval` is the one checked).
    ///   - adjustedPValue: The Holm-adjusted p-value of `comparison.pValue` within the study's family
    ///     of comparisons; `nil` when the comparison has no p-value.
    ///   - alpha: The family-wise significance level (default 0.05).
    ///   - higherIsBetter: Whether a higher value of the metric is better (accuracy) or worse (loss).
    /// - Throws: `StatisticsError.invalidParameter` for α outside (0, 1) or a p-value outside [0, 1].
    public init(comparison: PairedComparison, adjustedPValue: Double?, alpha: Double = 0.05,
                higherIsBetter: Bool) throws {
        try StatisticsError.checkAlpha(alpha)
        if let p = adjustedPValue, !(p >= 0 && p <= 1) {
            throw StatisticsError.invalidParameter("adjusted p-value \(p) is not in [0, 1]")
        }
        self.count = comparison.count
        self.adjustedPValue = adjustedPValue
        self.alpha = alpha
        guard comparison.isComputable, let p = adjustedPValue, p < alpha,
              let interval = comparison.interval, interval.excludesZero else {
            label = .noDetectableDifference
            return
        }
        let variantIsHigher = interval.lower > 0
        label = variantIsHigher == higherIsBetter ? .better : .worse
    }

    /// The verdicts on a study's family of comparisons (every variant against the same baseline):
    /// their p-values (`PairedComparison.pValue`) are Holm-adjusted together — comparisons without a
    /// p-value are left out of the family — and each is judged by
    /// `init(comparison:adjustedPValue:alpha:higherIsBetter:)`.
    ///
    /// - Throws: `StatisticsError.invalidParameter` for α outside (0, 1).
    public static func verdicts(for comparisons: [PairedComparison], alpha: Double = 0.05,
                                higherIsBetter: Bool) throws -> [Verdict] {
        let adjusted = try HolmBonferroni.adjustedPValues(comparisons.map(\.pValue))
        return try zip(comparisons, adjusted).map {
            try Verdict(comparison: $0, adjustedPValue: $1, alpha: alpha, higherIsBetter: higherIsBetter)
        }
    }
}
