import Foundation

/// The standard normal distribution N(0, 1): density, CDF Φ, survival function and quantile Φ⁻¹.
///
/// Used for the large-sample Wilcoxon signed-rank approximation, as the ν = ∞ limit of
/// `StudentTDistribution`, and for the Cornish–Fisher start of the t quantile.
public enum StandardNormal {
    /// The density φ(z) = exp(−z²/2) / √(2π).
    public static func density(_ z: Double) -> Double {
        exp(-0.5 * z * z) / (2 * Double.pi).squareRoot()
    }

    /// The CDF Φ(z) = ½ erfc(−z/√2) (Abramowitz & Stegun 26.2.29), evaluated as Cephes' `ndtr`
    /// does (and hence `scipy.stats.norm.cdf` / `scipy.special.ndtr`): with x = z/√2,
    /// ½ + ½ erf(x) when |x| < 1/√2, otherwise ½ erfc(|x|) or its complement. The lower tail keeps
    /// full relative accuracy down to Φ(−37) ≈ 5.7e-300.
    public static func cdf(_ z: Double) -> Double {
        if z.isNaN { return .nan }
        let x = z * 0.707_106_781_186_547_524_40
        if abs(x) < 0.707_106_781_186_547_524_40 { return 0.5 + 0.5 * erf(x) }
        let tail = 0.5 * erfc(abs(x))
        return x > 0 ? 1 - tail : tail
    }

    /// The survival function 1 − Φ(z) = Φ(−z), without cancellation.
    public static func survivalFunction(_ z: Double) -> Double {
        cdf(-z)
    }

    /// The quantile Φ⁻¹(p) for 0 ≤ p ≤ 1 (−∞ at 0, +∞ at 1, NaN outside), by Wichura's algorithm
    /// AS 241 (PPND16): M. J. Wichura, "The Percentage Points of the Normal Distribution", Applied
    /// Statistics 37 (1988), 477–484. Rational approximations of degree 7 in
    /// r = 0.180625 − (p − ½)² for |p − ½| ≤ 0.425, and in r = √(−log min(p, 1 − p)) − 1.6 (r ≤ 5)
    /// or − 5 beyond; relative accuracy about 1e-16. `scipy.stats.norm.ppf(p)`.
    public static func quantile(_ p: Double) -> Double {
        guard p >= 0, p <= 1 else { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        let q = p - 0.5
        if abs(q) <= 0.425 {
            let r = 0.180625 - q * q
            return q * polynomial(a, r) / polynomial(b, r)
        }
        var r = (-log(q < 0 ? p : 1 - p)).squareRoot()
        let value: Double
        if r <= 5 {
            r -= 1.6
            value = polynomial(c, r) / polynomial(d, r)
        } else {
            r -= 5
            value = polynomial(e, r) / polynomial(f, r)
        }
        return q < 0 ? -value : value
    }

    /// Σ coefficients[i] xⁱ by Horner's rule.
    private static func polynomial(_ coefficients: [Double], _ x: Double) -> Double {
        coefficients.reversed().reduce(0) { $0 * x + $1 }
    }

    // AS 241 coefficients, lowest degree first.
    private static let a: [Double] = [
        3.3871328727963666080e0, 1.3314166789178437745e+2, 1.9715909503065514427e+3, 1.3731693765509461125e+4,
        4.5921953931549871457e+4, 6.7265770927008700853e+4, 3.3430575583588128105e+4, 2.5090809287301226727e+3,
    ]
    private static let b: [Double] = [
        1, 4.2313330701600911252e+1, 6.8718700749205790830e+2, 5.3941960214247511077e+3,
        2.1213794301586595867e+4, 3.9307895800092710610e+4, 2.8729085735721942674e+4, 5.2264952788528545610e+3,
    ]
    private static let c: [Double] = [
        1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0, 3.64784832476320460504e0,
        1.27045825245236838258e0, 2.41780725177450611770e-1, 2.27238449892691845833e-2, 7.74545014278341407640e-4,
    ]
    private static let d: [Double] = [
        1, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
        1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4, 1.05075007164441684324e-9,
    ]
    private static let e: [Double] = [
        6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0, 2.96560571828504891230e-1,
        2.65321895265761230930e-2, 1.24266094738807843860e-3, 2.71155556874348757815e-5, 2.01033439929228813265e-7,
    ]
    private static let f: [Double] = [
        1, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
        7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7, 2.04426310338993978564e-15,
    ]
}
