import Foundation

// Descriptive statistics of a sample x₁ … xₙ: mean, sample variance and standard deviation (n − 1
// denominator), standard error of the mean.
//
// These are the plain building blocks; they neither validate nor throw. NaN in gives NaN out, and a
// sample too small for the quantity gives `nil`. `SampleSummary`, `ConfidenceInterval` and
// `PairedComparison` validate their input (see `StatisticsError`) before calling them.

extension Collection where Element == Double {
    /// The arithmetic mean x̄ = (1/n) Σᵢ xᵢ, or `nil` for an empty collection.
    ///
    /// The sum uses Neumaier's compensated summation (Neumaier, 1974, "Rundungsfehleranalyse einiger
    /// Verfahren zur Summation endlicher Summen", ZAMM 54, 39–51), so the result is within a few
    /// units in the last place of the exact mean, whatever the order of magnitude of the terms. If
    /// all values are equal the mean is that value exactly.
    ///
    /// - Complexity: O(n).
    func mean() -> Double? {
        guard let first = first else { return nil }
        if allSatisfy({ $0 == first }) { return first }
        return compensatedSum(self) / Double(count)
    }

    /// The sample variance s² = Σᵢ (xᵢ − x̄)² / (n − 1) (Bessel's correction), or `nil` when n < 2.
    ///
    /// Computed with the corrected two-pass algorithm of Chan, Golub & LeVeque (1983, "Algorithms for
    /// computing the sample variance: analysis and recommendations", The American Statistician 37,
    /// 242–247): s² = [Σ (xᵢ − x̄)² − (Σ (xᵢ − x̄))² / n] / (n − 1), which removes the
    /// rounding error of x̄ to first order. The variance of identical values is exactly 0.
    ///
    /// - Complexity: O(n).
    func sampleVariance() -> Double? {
        guard count >= 2, let first = first, let mean = mean() else { return nil }
        if allSatisfy({ $0 == first }) { return 0 }
        let deviations = map { $0 - mean }
        let squares = compensatedSum(deviations.map { $0 * $0 })
        let correction = compensatedSum(deviations)
        return Swift.max(0, squares - correction * correction / Double(count)) / Double(count - 1)
    }

    /// The sample standard deviation s = √s², with s² the (n − 1)-denominator sample variance
    /// (see `sampleVariance()`), or `nil` when n < 2.
    ///
    /// This is `numpy.std(x, ddof=1)`; it is the sd reported for a study's seeds.
    ///
    /// - Complexity: O(n).
    func sampleStandardDeviation() -> Double? {
        sampleVariance().map { $0.squareRoot() }
    }

    /// The standard error of the mean, SE = s / √n, or `nil` when n < 2.
    ///
    /// This is `scipy.stats.sem(x)` (which uses ddof = 1).
    ///
    /// - Complexity: O(n).
    func standardError() -> Double? {
        sampleStandardDeviation().map { $0 / Double(count).squareRoot() }
    }
}

/// Σ values with Neumaier's improvement of Kahan summation: the running compensation also covers
/// terms larger than the partial sum.
func compensatedSum<C: Collection>(_ values: C) -> Double where C.Element == Double {
    var sum = 0.0
    var compensation = 0.0
    for x in values {
        let t = sum + x
        if abs(sum) >= abs(x) {
            compensation += (sum - t) + x
        } else {
            compensation += (x - t) + sum
        }
        sum = t
    }
    return sum + compensation
}
