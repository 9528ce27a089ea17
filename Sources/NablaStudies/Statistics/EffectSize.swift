import Foundation

/// The standardized effect size of paired differences dᵢ = variantᵢ − baselineᵢ: Cohen's d_z and its
/// small-sample (Hedges) correction g_z.
///
///     d_z = d̄ / s_d,
///     g_z = J · d_z,  J = 1 − 3 / (4ν − 1),  ν = n − 1,
///
/// d_z is Cohen's standardized mean difference for paired data (Cohen, *Statistical Power Analysis
/// for the Behavioral Sciences*, 2nd ed., 1988, ch. 2; named d_z in Lakens, 2013, "Calculating and
/// reporting effect sizes to facilitate cumulative science", Frontiers in Psychology 4:863); J is the
/// usual approximation of Hedges' exact small-sample correction Γ(ν/2) / (√(ν/2) Γ((ν−1)/2))
/// (Hedges & Olkin, *Statistical Methods for Meta-Analysis*, 1985, ch. 5),
/// with s_d the sample standard deviation (n − 1) of the differences. d_z = t/√n, so it measures how
/// consistently the variant beats the baseline across seeds, in units of the seed-to-seed spread of
/// the difference — not in units of the metric's spread (that would be d_av or d_rm). d_z is biased
/// away from 0 for small n; J shrinks it (J = 0.8 at n = 5, 0 at n = 2).
public struct EffectSize: Sendable, Equatable, Codable {
    /// Cohen's d_z = d̄ / s_d.
    public let cohensDz: Double
    /// Hedges' g_z = J · d_z.
    public let hedgesGz: Double
    /// The correction factor J = 1 − 3/(4(n − 1) − 1).
    public let correction: Double

    /// The effect size of `differences` (variant − baseline, one per seed), or `nil` when it is not
    /// defined: fewer than two differences, or all differences equal (s_d = 0, so d_z would be ±∞
    /// or 0/0).
    ///
    /// - Throws: `StatisticsError` for an empty sample or a non-finite difference.
    public init?(differences: [Double]) throws {
        try StatisticsError.checkSample(differences, named: "differences")
        guard let mean = differences.mean(), let sd = differences.sampleStandardDeviation(), sd > 0 else {
            return nil
        }
        let dz = mean / sd
        let nu = Double(differences.count - 1)
        correction = 1 - 3 / (4 * nu - 1)
        cohensDz = dz
        hedgesGz = correction * dz
    }
}

extension EffectSize: CustomStringConvertible {
    /// "d_z = 1.23, g_z = 0.984" with three significant digits.
    public var description: String {
        "d_z = \(String(format: "%.3g", cohensDz)), g_z = \(String(format: "%.3g", hedgesGz))"
    }
}
