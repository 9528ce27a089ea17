import Foundation

/// Special functions behind the Student t distribution: log Γ, log B and the regularized incomplete
/// beta function.
public enum SpecialFunctions {
    /// The regularized incomplete beta function
    ///
    ///     I_x(a, b) = B(x; a, b) / B(a, b) = (1 / B(a, b)) ∫₀ˣ t^(a−1) (1 − t)^(b−1) dt,
    ///
    /// for 0 ≤ x ≤ 1 and a, b > 0; NaN outside that domain. This is `scipy.special.betainc(a, b, x)`.
    ///
    /// Evaluated by the continued fraction of Numerical Recipes (Press, Teukolsky, Vetterling &
    /// Flannery, *Numerical Recipes*, 3rd ed., 2007, §6.4, eqs. 6.4.5–6.4.6) with the modified Lentz
    /// algorithm (§5.2), on I_x(a, b) when x < (a + 1)/(a + b + 2) and on
    /// I_{1−x}(b, a) = 1 − I_x(a, b) otherwise, so that the fraction converges quickly. The prefactor
    /// x^a (1 − x)^b / B(a, b) is computed in logarithms with an accurate log B (see `logBeta(_:_:)`).
    /// For b = ½, a ≥ 100 and x ≥ 1/e (the t distribution with ν ≥ 200 and t² ≤ 1.7ν) the first case
    /// uses the large-a expansion `BGRAT` instead (see `largeAHalfB(a:logX:)`), because the fraction evaluated at
    /// x ≈ 1 amplifies x's rounding error by a factor of order a. Relative accuracy is about 1e-13
    /// for the smaller of I_x(a, b) and 1 − I_x(a, b), relative to the x given.
    public static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        guard x >= 0, x <= 1, a > 0, b > 0, a.isFinite, b.isFinite else { return .nan }
        let y = 1 - x
        return incompleteBeta(a: a, b: b, x: x, y: y, logX: log(x), logY: x < 0.5 ? log1p(-x) : log(y)).lower
    }

    /// log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b) for a, b > 0.
    ///
    /// When the larger argument is at least 10 the difference log Γ(a + b) − log Γ(a) is taken from
    /// Stirling's series (Abramowitz & Stegun 6.1.41) instead of subtracting two large log Γ values,
    /// which keeps log B accurate to ~1e-15 absolute for the t distribution's B(ν/2, 1/2) even at
    /// ν = 10⁸ (the plain difference loses about log₁₀(log Γ(ν/2)) digits).
    public static func logBeta(_ a: Double, _ b: Double) -> Double {
        let large = max(a, b), small = min(a, b)
        if large < 10 { return logGamma(a) + logGamma(b) - logGamma(a + b) }
        return logGamma(small) - logGammaRatio(large, small)
    }

    /// log Γ(x) for x > 0 (the C library's `lgamma`, via its thread-safe Swift overlay).
    public static func logGamma(_ x: Double) -> Double {
        let (value, _): (Double, Int) = lgamma(x)
        return value
    }

    /// log Γ(a + b) − log Γ(a) for a ≥ 10, b > 0, from
    /// log Γ(x) = (x − ½) log x − x + ½ log 2π + δ(x):
    /// b log a + (a + b − ½) log1p(b/a) − b + δ(a + b) − δ(a).
    static func logGammaRatio(_ a: Double, _ b: Double) -> Double {
        b * log(a) + (a + b - 0.5) * log1p(b / a) - b + stirlingCorrection(a + b) - stirlingCorrection(a)
    }

    /// δ(x) = log Γ(x) − [(x − ½) log x − x + ½ log 2π] for x ≥ 10, from the Stirling series
    /// Σ B₂ₖ / (2k (2k − 1) x^(2k−1)) (Abramowitz & Stegun 6.1.41); seven terms leave an error below
    /// 1e-16 at x = 10.
    static func stirlingCorrection(_ x: Double) -> Double {
        let r = 1 / x, r2 = r * r
        let series = 1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 * (1.0 / 1188
            - r2 * (691.0 / 360_360 - r2 * (1.0 / 156))))))
        return series * r
    }

    /// Both I_x(a, b) (`lower`) and I_y(b, a) = 1 − I_x(a, b) (`upper`), where the caller passes
    /// y = 1 − x and the logarithms log x, log y computed without cancellation (the t distribution
    /// knows them from t²/ν; with a = ν/2 large, a·log x needs log x to full relative accuracy, and
    /// for huge t, x itself may underflow while log x is still finite). The one the continued
    /// fraction evaluates is accurate to ~1e-14 relative; the other is 1 minus it.
    static func incompleteBeta(a: Double, b: Double, x: Double, y: Double,
                               logX: Double, logY: Double) -> (lower: Double, upper: Double) {
        if logX == -.infinity { return (0, 1) }
        if logY == -.infinity { return (1, 0) }
        let logFront = a * logX + b * logY - logBeta(a, b)
        if x < (a + 1) / (a + b + 2) {
            // For large a the fraction on x ≈ 1 inherits x's rounding error times a condition number
            // of order a; the expansion for b = ½ works from log x instead. (It needs x near 1: its
            // terms shrink like (log x)²/4 at best, so x < 1/e keeps the fraction, well conditioned there.)
            let lower = b == 0.5 && a >= largeParameter && logX >= -1
                ? largeAHalfB(a: a, logX: logX)
                : exp(logFront) * continuedFraction(a: a, b: b, x: x) / a
            return (lower, 1 - lower)
        } else {
            let upper = exp(logFront) * continuedFraction(a: b, b: a, x: y) / b
            return (1 - upper, upper)
        }
    }

    /// From this a on, I_x(a, ½) below the switch point and with x ≥ 1/e uses `largeAHalfB(a:logX:)`.
    static let largeParameter = 100.0

    /// I_x(a, ½) for large a (≥ 100) by the asymptotic expansion of DiDonato & Morris (ACM TOMS 18,
    /// 1992, Algorithm 708, `BGRAT`, eqs. 9–9.6; the same as Boost's `beta_small_b_large_a_series`),
    /// specialised to b = ½ where the incomplete gamma ratio is Q(½, u) = erfc(√u):
    ///
    ///     T = a + (b − 1)/2,  u = −T log x,  h = u^b e^(−u) / Γ(b),
    ///     I_x(a, b) = Γ(a + b) / (Γ(a) T^b) · Σₙ pₙ Kₙ,
    ///     K₀ = Q(b, u),
    ///     Kₙ = [(b + 2n − 2)(b + 2n − 1) Kₙ₋₁ + (u + b + 2n − 1) h (log x / 2)^(2n−2)] / (4T²),
    ///     p₀ = 1,  pₙ = (b − 1)/(2n + 1)! + (1/n) Σ_{m=1}^{n−1} (m b − n) pₙ₋ₘ / (2m + 1)!.
    ///
    /// It needs only log x, which the t distribution has to full accuracy as −log1p(t²/ν). Being
    /// asymptotic in a with terms shrinking roughly like (log x)²/4, it is used for a ≥ 100 and
    /// x ≥ 1/e, where its relative error stays below ~1e-13 (checked against mpmath).
    static func largeAHalfB(a: Double, logX: Double) -> Double {
        let b = 0.5
        let t = a + (b - 1) / 2
        let u = -t * logX
        let ratio = exp(logGammaRatio(a, b) - b * log(t))
        let h = exp(b * log(u) - u - logGamma(b))
        var k = erfc(u.squareRoot())
        var sum = k
        var p: [Double] = [1]
        let halfLogSquared = (logX / 2) * (logX / 2)
        var logPower = 1.0
        let fourTSquared = 4 * t * t
        var b2n = b
        var factorials: [Double] = [1, 1]  // factorials[i] = i!, extended on demand
        func oddFactorial(_ m: Int) -> Double {
            while factorials.count <= 2 * m + 1 { factorials.append(factorials.last! * Double(factorials.count)) }
            return factorials[2 * m + 1]
        }
        for n in 1..<30 {
            var pn = 0.0
            for m in 1..<n { pn += (Double(m) * b - Double(n)) * p[n - m] / oddFactorial(m) }
            pn = pn / Double(n) + (b - 1) / oddFactorial(n)
            p.append(pn)
            k = (b2n * (b2n + 1) * k + (u + b2n + 1) * logPower * h) / fourTSquared
            logPower *= halfLogSquared
            b2n += 2
            let term = pn * k
            sum += term
            if abs(term) <= 1e-17 * abs(sum) { break }
        }
        return ratio * sum
    }

    /// The continued fraction for I_x(a, b) of Numerical Recipes eqs. 6.4.5–6.4.6 (`betacf`),
    ///
    ///     1/(1 + d₁/(1 + d₂/(1 + …))),  d₂ₘ₊₁ = −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)),
    ///                                   d₂ₘ   = m (b − m) x / ((a + 2m − 1)(a + 2m)),
    ///
    /// evaluated with the modified Lentz method until a full step changes it by at most 1e-15 relative.
    /// It needs O(√max(a, b)) steps; the cap is generous.
    static func continuedFraction(a: Double, b: Double, x: Double) -> Double {
        let tiny = 1e-300
        let epsilon = 1e-15
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        var m = 1.0
        while m <= 1_000_000 {
            let m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) <= epsilon { break }
            m += 1
        }
        return h
    }
}
