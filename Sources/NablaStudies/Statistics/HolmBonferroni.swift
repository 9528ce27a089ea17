import Foundation

/// Holm's step-down Bonferroni adjustment of a family of p-values (Holm, 1979, "A simple sequentially
/// rejective multiple test procedure", Scandinavian Journal of Statistics 6, 65–70).
///
/// A study compares several variants with one baseline; testing each at α would find a "better"
/// variant by chance far more often than α. Holm's procedure controls the family-wise error rate —
/// the probability of at least one false "better"/"worse" among the m comparisons — at α, under any
/// dependence between the tests, and is uniformly more powerful than plain Bonferroni.
///
/// With the p-values sorted ascending, p₍₁₎ ≤ … ≤ p₍ₘ₎, the adjusted values are
///
///     p̃₍ᵢ₎ = min(1, max_{j ≤ i} (m − j + 1) p₍ⱼ₎),
///
/// returned in the input order. The running maximum makes them monotone in the raw p-values; the
/// cap keeps them probabilities. Hypothesis i is rejected at family-wise level α when p̃ᵢ < α.
/// This is `statsmodels.stats.multitest.multipletests(p, method='holm')[1]`. Tied p-values get equal
/// adjusted values whatever their order.
public enum HolmBonferroni {
    /// The Holm-adjusted p-values of `pValues`, in the same order.
    ///
    /// An empty family gives an empty result; a family of one is unchanged.
    ///
    /// - Throws: `StatisticsError.invalidParameter` if a p-value is NaN or outside [0, 1].
    public static func adjustedPValues(_ pValues: [Double]) throws -> [Double] {
        if let bad = pValues.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
            throw StatisticsError.invalidParameter("p-value \(pValues[bad]) at index \(bad) is not in [0, 1]")
        }
        let m = pValues.count
        let order = pValues.indices.sorted { (pValues[$0], $0) < (pValues[$1], $1) }
        var adjusted = [Double](repeating: 0, count: m)
        var runningMaximum = 0.0
        for (rank, index) in order.enumerated() {
            runningMaximum = max(runningMaximum, Double(m - rank) * pValues[index])
            adjusted[index] = min(1, runningMaximum)
        }
        return adjusted
    }

    /// The Holm-adjusted p-values of a family in which some members have no p-value (`nil`, e.g. a
    /// comparison with a single seed). Those members are not tests, so they are left out of the family
    /// (m counts only the non-`nil` values) and stay `nil`.
    ///
    /// - Throws: `StatisticsError.invalidParameter` if a p-value is NaN or outside [0, 1].
    public static func adjustedPValues(_ pValues: [Double?]) throws -> [Double?] {
        let present = pValues.indices.filter { pValues[$0] != nil }
        let adjusted = try adjustedPValues(present.map { pValues[$0]! })
        var result = [Double?](repeating: nil, count: pValues.count)
        for (k, index) in present.enumerated() { result[index] = adjusted[k] }
        return result
    }

    /// Which hypotheses Holm's procedure rejects at family-wise level `alpha`: adjusted p < `alpha`.
    /// (statsmodels' `reject` uses ≤; the two differ only when an adjusted p equals α exactly.)
    ///
    /// - Throws: `StatisticsError.invalidParameter` for an invalid p-value or α outside (0, 1).
    public static func rejections(_ pValues: [Double], alpha: Double = 0.05) throws -> [Bool] {
        try StatisticsError.checkAlpha(alpha)
        return try adjustedPValues(pValues).map { $0 < alpha }
    }
}
