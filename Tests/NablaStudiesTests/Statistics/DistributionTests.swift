import Foundation
import XCTest
@testable import NablaStudies

/// Special functions and distributions against scipy (corrected by mpmath where scipy is off).
/// The tolerances are tighter than the ~1e-9 the studies need: measured errors are below 2e-13.
final class DistributionTests: XCTestCase {
    private let fixture = StatisticsFixture.shared

    func testIncompleteBetaMatchesScipy() {
        XCTAssertGreaterThan(fixture.incompleteBeta.count, 50)
        for row in fixture.incompleteBeta {
            let value = SpecialFunctions.regularizedIncompleteBeta(row.x, a: row.a, b: row.b)
            assertClose(value, row.value, relative: 1e-10, "I_\(row.x)(\(row.a), \(row.b))")
        }
    }

    func testIncompleteBetaEdgesAndDomain() {
        XCTAssertEqual(SpecialFunctions.regularizedIncompleteBeta(0, a: 2, b: 3), 0)
        XCTAssertEqual(SpecialFunctions.regularizedIncompleteBeta(1, a: 2, b: 3), 1)
        // I_x(1, 1) = x and I_x(a, 1) = x^a.
        assertClose(SpecialFunctions.regularizedIncompleteBeta(0.3, a: 1, b: 1), 0.3, relative: 1e-14)
        assertClose(SpecialFunctions.regularizedIncompleteBeta(0.3, a: 4, b: 1), pow(0.3, 4), relative: 1e-13)
        XCTAssertTrue(SpecialFunctions.regularizedIncompleteBeta(-0.1, a: 2, b: 3).isNaN)
        XCTAssertTrue(SpecialFunctions.regularizedIncompleteBeta(0.5, a: 0, b: 3).isNaN)
        XCTAssertTrue(SpecialFunctions.regularizedIncompleteBeta(.nan, a: 2, b: 3).isNaN)
    }

    func testLogBetaUsesStirlingForLargeArguments() {
        // log B(a, 1/2) for a = 5e7 against lgamma differences is where the plain formula loses digits;
        // compare with the asymptotic value log Γ(1/2) − (1/2) log a + 1/(8a) (A&S 6.1.47).
        let a = 5e7
        let expected = 0.5 * log(Double.pi) - 0.5 * log(a) + 1 / (8 * a)
        assertClose(SpecialFunctions.logBeta(a, 0.5), expected, relative: 1e-14)
        assertClose(SpecialFunctions.logBeta(0.5, a), expected, relative: 1e-14)
        assertClose(SpecialFunctions.logBeta(2, 3), log(1.0 / 12), relative: 1e-14)
    }

    func testStudentTCDFAndSurvivalMatchScipy() {
        XCTAssertGreaterThan(fixture.studentT.count, 500)
        for row in fixture.studentT {
            let distribution = StudentTDistribution(degreesOfFreedom: row.df)
            assertClose(distribution.cdf(row.t), row.cdf, relative: 1e-11, absolute: 1e-300, "cdf(\(row.t); ν = \(row.df))")
            assertClose(distribution.survivalFunction(row.t), row.sf, relative: 1e-11, absolute: 1e-300, "sf(\(row.t); ν = \(row.df))")
        }
    }

    func testStudentTQuantileMatchesScipy() {
        XCTAssertGreaterThan(fixture.studentTQuantile.count, 500)
        for row in fixture.studentTQuantile {
            let quantile = StudentTDistribution(degreesOfFreedom: row.df).quantile(row.p)
            assertClose(quantile, row.quantile, relative: 1e-11, "quantile(\(row.p); ν = \(row.df))")
        }
    }

    func testStudentTQuantileInvertsCDF() {
        for nu in [1.0, 2, 2.5, 4, 6, 13, 40, 250, 3e4] {
            let distribution = StudentTDistribution(degreesOfFreedom: nu)
            for p in [1e-15, 1e-8, 0.003, 0.02, 0.1, 0.3, 0.47, 0.5 - 1e-14, 0.53, 0.8, 0.97, 0.999] {
                let t = distribution.quantile(p)
                assertClose(distribution.cdf(t), p, relative: 1e-11, "ν = \(nu), p = \(p)")
                // Symmetry, with the tail probability of 1 − p as it is actually represented.
                let upper = 1 - p, tail = 1 - upper
                assertClose(distribution.quantile(upper), -distribution.quantile(tail), relative: 1e-12,
                            "symmetry ν = \(nu), p = \(p)")
            }
        }
    }

    func testStudentTKnownCriticalValues() {
        // Two-sided 95% critical values t(0.975, ν) (scipy.stats.t.ppf).
        let table: [(Double, Double)] = [(1, 12.706204736174694), (2, 4.302652729749462), (4, 2.7764451051977934),
                                         (9, 2.262157162798205), (19, 2.0930240544083087), (30, 2.0422724563012378)]
        for (nu, critical) in table {
            assertClose(StudentTDistribution(degreesOfFreedom: nu).quantile(0.975), critical, relative: 1e-12)
        }
    }

    func testStudentTSpecialArguments() {
        let t4 = StudentTDistribution(degreesOfFreedom: 4)
        XCTAssertEqual(t4.cdf(0), 0.5)
        XCTAssertEqual(t4.cdf(.infinity), 1)
        XCTAssertEqual(t4.cdf(-.infinity), 0)
        XCTAssertEqual(t4.quantile(0), -.infinity)
        XCTAssertEqual(t4.quantile(1), .infinity)
        XCTAssertEqual(t4.quantile(0.5), 0)
        XCTAssertTrue(t4.quantile(1.5).isNaN)
        XCTAssertTrue(t4.quantile(.nan).isNaN)
        XCTAssertTrue(t4.cdf(.nan).isNaN)
        XCTAssertTrue(StudentTDistribution(degreesOfFreedom: 0).cdf(1).isNaN)
        XCTAssertTrue(StudentTDistribution(degreesOfFreedom: -3).quantile(0.3).isNaN)
        XCTAssertEqual(t4.twoSidedPValue(0), 1)
        assertClose(t4.twoSidedPValue(-2.7764451051977934), 0.05, relative: 1e-12)
        // Density: ν = 1 is Cauchy, 1/(π(1 + t²)).
        assertClose(StudentTDistribution(degreesOfFreedom: 1).density(2), 1 / (Double.pi * 5), relative: 1e-13)
        // ν = ∞ is the standard normal.
        let normal = StudentTDistribution(degreesOfFreedom: .infinity)
        assertClose(normal.quantile(0.975), 1.959963984540054, relative: 1e-14)
        assertClose(normal.cdf(-1), StandardNormal.cdf(-1), relative: 1e-15)
        // Huge t with ν < 2 does not overflow t².
        let cauchyLike = StudentTDistribution(degreesOfFreedom: 1.5)
        XCTAssertGreaterThan(cauchyLike.cdf(-1e160), 0)
        XCTAssertLessThan(cauchyLike.cdf(-1e160), 1e-200)
    }

    func testNormalMatchesScipy() {
        for row in fixture.normal {
            assertClose(StandardNormal.cdf(row.z), row.cdf, relative: 1e-12, absolute: 1e-300, "Φ(\(row.z))")
            assertClose(StandardNormal.survivalFunction(-row.z), row.cdf, relative: 1e-12, absolute: 1e-300, "1 − Φ(\(-row.z))")
        }
        for row in fixture.normalQuantile {
            assertClose(StandardNormal.quantile(row.p), row.quantile, relative: 1e-14, "Φ⁻¹(\(row.p))")
        }
        XCTAssertEqual(StandardNormal.quantile(0), -.infinity)
        XCTAssertEqual(StandardNormal.quantile(1), .infinity)
        XCTAssertTrue(StandardNormal.quantile(-0.1).isNaN)
        XCTAssertEqual(StandardNormal.quantile(0.5), 0)
        assertClose(StandardNormal.density(0), 1 / (2 * Double.pi).squareRoot(), relative: 1e-15)
    }
}
