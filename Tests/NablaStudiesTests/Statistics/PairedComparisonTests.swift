import Foundation
import XCTest
@testable import NablaStudies

/// Paired t-test, Wilcoxon signed-rank, sign-flip permutation, effect size and `PairedComparison`.
final class PairedComparisonTests: XCTestCase {
    private let fixture = StatisticsFixture.shared

    func testPairedCasesMatchScipy() throws {
        XCTAssertGreaterThanOrEqual(fixture.paired.count, 15)
        for row in fixture.paired {
            let name = row.name
            let comparison = try PairedComparison(baseline: row.baseline, variant: row.variant)
            XCTAssertEqual(comparison.differences, row.differences, name)
            XCTAssertEqual(comparison.count, row.baseline.count, name)
            // Means near 0 are compared on the scale of the differences.
            let scale = row.differences.map(abs).max() ?? 1
            assertClose(comparison.meanDifference, row.mean, relative: 1e-12, absolute: 1e-15 * scale, name)
            assertClose(try XCTUnwrap(comparison.standardDeviation), row.sd, name)
            assertClose(try XCTUnwrap(comparison.standardError), row.se, name)

            let interval = try XCTUnwrap(comparison.interval, name)
            assertClose(interval.lower, row.tInterval[0], absolute: 1e-14 * scale, "interval \(name)")
            assertClose(interval.upper, row.tInterval[1], absolute: 1e-14 * scale, "interval \(name)")

            let t = try XCTUnwrap(comparison.pairedTTest, name)
            assertClose(t.statistic, row.t, absolute: 1e-12, "t \(name)")
            XCTAssertEqual(t.degreesOfFreedom, row.df, name)
            assertClose(t.pValue, row.tP, "t-test p \(name)")
            XCTAssertEqual(comparison.pValue, t.pValue, name)

            let wilcoxon = comparison.wilcoxonTest
            XCTAssertEqual(wilcoxon.statistic, row.wilcoxon.statistic, "W \(name)")
            XCTAssertEqual(wilcoxon.method.rawValue, row.wilcoxon.method, name)
            assertClose(wilcoxon.pValue, row.wilcoxon.p, "Wilcoxon p \(name)")
            if let z = row.wilcoxon.z {
                // scipy reports −|z| for the two-sided test.
                assertClose(-abs(try XCTUnwrap(wilcoxon.zStatistic)), z, "z \(name)")
            } else {
                XCTAssertNil(wilcoxon.zStatistic, name)
            }

            if let p = row.permutationP {
                XCTAssertTrue(comparison.permutationTest.isExact, name)
                assertClose(comparison.permutationTest.pValue, p, "permutation p \(name)")
            } else {
                XCTAssertFalse(comparison.permutationTest.isExact, name)
                XCTAssertEqual(comparison.permutationTest.assignmentCount, SignFlipPermutationTest.monteCarloResamples)
            }

            let effect = try XCTUnwrap(comparison.effectSize, name)
            assertClose(effect.cohensDz, row.dz, absolute: 1e-13, "d_z \(name)")
            assertClose(effect.hedgesGz, row.gz, absolute: 1e-13, "g_z \(name)")
        }
    }

    func testTestSelection() throws {
        let baseline = [0.9123, 0.9087, 0.9151, 0.9102, 0.9135]
        let variant = [0.9201, 0.9178, 0.9230, 0.9169, 0.9212]
        let t = try PairedComparison(baseline: baseline, variant: variant)
        let w = try PairedComparison(baseline: baseline, variant: variant, test: .wilcoxonSignedRank)
        let s = try PairedComparison(baseline: baseline, variant: variant, test: .signFlipPermutation)
        XCTAssertEqual(t.test, .pairedT)
        XCTAssertLessThan(try XCTUnwrap(t.pValue), 0.001)
        // n = 5: every difference positive is the most extreme outcome, yet p = 2/32.
        XCTAssertEqual(w.pValue, 0.0625)
        XCTAssertEqual(s.pValue, 0.0625)
        XCTAssertEqual(PairedTest.wilcoxonSignedRank.name, "Wilcoxon signed-rank test")
    }

    func testExactTestsCannotReachFivePercentWithFiveSeeds() throws {
        for differences in [[1.0, 2, 3, 4, 5], [-0.5, -0.25, -1, -2, -0.125], [10.0, 10.5, 11, 30, 1e6]] {
            XCTAssertEqual(try WilcoxonSignedRankTest(differences: differences).pValue, 2.0 / 32)
            XCTAssertEqual(try SignFlipPermutationTest(differences: differences).pValue, 2.0 / 32)
        }
        XCTAssertEqual(try WilcoxonSignedRankTest(differences: [1, 2, 3, 4, 5, 6]).pValue, 2.0 / 64)
    }

    func testWilcoxonZerosAndTies() throws {
        // Zeros are dropped: [0, 0, 1, 2] behaves like [1, 2].
        let withZeros = try WilcoxonSignedRankTest(differences: [0, 0, 1, 2])
        let without = try WilcoxonSignedRankTest(differences: [1, 2])
        XCTAssertEqual(withZeros.pValue, without.pValue)
        XCTAssertEqual(withZeros.nonzeroCount, 2)
        XCTAssertEqual(withZeros.zeroCount, 2)
        XCTAssertEqual(withZeros.pValue, 0.5)
        // Ties get mid-ranks: |d| = 1, 1, 2 → ranks 1.5, 1.5, 3.
        let tied = try WilcoxonSignedRankTest(differences: [1, -1, 2])
        XCTAssertTrue(tied.hasTies)
        XCTAssertEqual(tied.positiveRankSum, 4.5)
        XCTAssertEqual(tied.negativeRankSum, 1.5)
        XCTAssertEqual(tied.statistic, 1.5)
        // Exact conditional distribution: R⁺ ∈ {0, 1.5, 1.5, 3, 3, 4.5, 4.5, 6}; P(R⁺ ≥ 4.5) = 3/8.
        XCTAssertEqual(tied.pValue, 0.75)
        // All zero: no evidence.
        let zeros = try WilcoxonSignedRankTest(differences: [0, 0, 0])
        XCTAssertEqual(zeros.pValue, 1)
        XCTAssertEqual(zeros.nonzeroCount, 0)
    }

    func testWilcoxonSwitchesToNormalApproximationAboveTwentyFive() throws {
        let differences = (1...26).map { Double($0) * ($0 % 3 == 0 ? -1 : 1) }
        let test = try WilcoxonSignedRankTest(differences: differences)
        XCTAssertEqual(test.method, .normalApproximation)
        XCTAssertNotNil(test.zStatistic)
        let exact = try WilcoxonSignedRankTest(differences: Array(differences.prefix(25)))
        XCTAssertEqual(exact.method, .exact)
    }

    func testSignFlipCountsAndMonteCarlo() throws {
        let test = try SignFlipPermutationTest(differences: [0.3, -0.1, 0.2])
        // S over the 8 sign patterns: ±0.4, ±0.6, ±0.2, ±0.0; |S| ≥ 0.4 for 4 of them.
        XCTAssertEqual(test.assignmentCount, 8)
        XCTAssertEqual(test.extremeCount, 4)
        XCTAssertEqual(test.pValue, 0.5)
        XCTAssertEqual(try SignFlipPermutationTest(differences: [0, 0]).pValue, 1)
        // Decimal ties: 0.1 + 0.2 and 0.3 are equal up to rounding and must count as equal.
        let decimals = try SignFlipPermutationTest(differences: [0.1, 0.2, -0.3])
        XCTAssertEqual(decimals.pValue, 1)
        // n > 20: Monte Carlo with a fixed seed, reproducible.
        let many = (0..<24).map { Double($0 % 5) - 1.5 }
        let first = try SignFlipPermutationTest(differences: many)
        XCTAssertFalse(first.isExact)
        XCTAssertEqual(first.assignmentCount, SignFlipPermutationTest.monteCarloResamples)
        XCTAssertEqual(first, try SignFlipPermutationTest(differences: many))
    }

    func testEffectSize() throws {
        let effect = try XCTUnwrap(EffectSize(differences: [1, 2, 3, 4, 5]))
        XCTAssertEqual(effect.cohensDz, 3 / 2.5.squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(effect.correction, 0.8, accuracy: 1e-15)
        XCTAssertEqual(effect.hedgesGz, 0.8 * 3 / 2.5.squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(effect.description, "d_z = 1.9, g_z = 1.52")
        XCTAssertNil(try EffectSize(differences: [1]))
        XCTAssertNil(try EffectSize(differences: [2, 2, 2]))
    }

    func testZeroVarianceDifferences() throws {
        // All seeds moved by the same non-zero amount: p = 0, zero-width interval, no d_z.
        let shifted = try PairedComparison(differences: [0.25, 0.25, 0.25, 0.25, 0.25])
        let t = try XCTUnwrap(shifted.pairedTTest)
        XCTAssertEqual(t.statistic, .infinity)
        XCTAssertEqual(t.pValue, 0)
        XCTAssertEqual(shifted.pValue, 0)
        XCTAssertEqual(shifted.standardDeviation, 0)
        XCTAssertEqual(shifted.interval?.lower, 0.25)
        XCTAssertEqual(shifted.interval?.upper, 0.25)
        XCTAssertNil(shifted.effectSize)
        let down = try XCTUnwrap(PairedTTest(differences: [-1, -1, -1]))
        XCTAssertEqual(down.statistic, -.infinity)
        XCTAssertEqual(down.pValue, 0)
        // No change at all: p = 1.
        let identical = try PairedComparison(baseline: [0.9, 0.8, 0.7], variant: [0.9, 0.8, 0.7])
        XCTAssertEqual(identical.pairedTTest?.statistic, 0)
        XCTAssertEqual(identical.pValue, 1)
        XCTAssertEqual(identical.wilcoxonTest.pValue, 1)
        XCTAssertEqual(identical.permutationTest.pValue, 1)
        XCTAssertEqual(identical.interval?.lower, 0)
        XCTAssertEqual(identical.interval?.upper, 0)
    }

    func testSinglePairIsNotComputable() throws {
        let single = try PairedComparison(baseline: [0.9], variant: [0.95])
        XCTAssertFalse(single.isComputable)
        XCTAssertEqual(single.meanDifference, 0.95 - 0.9)
        XCTAssertNil(single.standardDeviation)
        XCTAssertNil(single.interval)
        XCTAssertNil(single.pairedTTest)
        XCTAssertNil(single.pValue)
        XCTAssertNil(single.effectSize)
        XCTAssertNil(try PairedTTest(differences: [0.05]))
    }

    func testMalformedInputThrows() {
        XCTAssertThrowsError(try PairedComparison(baseline: [1, 2, 3], variant: [1, 2])) {
            XCTAssertEqual($0 as? StatisticsError, .countMismatch(baseline: 3, variant: 2))
        }
        XCTAssertThrowsError(try PairedComparison(baseline: [], variant: [])) {
            XCTAssertEqual($0 as? StatisticsError, .emptySample("baseline"))
        }
        XCTAssertThrowsError(try PairedComparison(baseline: [1, 2, .nan], variant: [1, 2, 3])) {
            XCTAssertEqual($0 as? StatisticsError, .nonFiniteValue(sample: "baseline", index: 2))
        }
        XCTAssertThrowsError(try PairedComparison(baseline: [1, 2, 3], variant: [1, -.infinity, 3])) {
            XCTAssertEqual($0 as? StatisticsError, .nonFiniteValue(sample: "variant", index: 1))
        }
        // Finite inputs whose difference overflows.
        XCTAssertThrowsError(try PairedComparison(baseline: [-1e308, 0], variant: [1e308, 1])) {
            XCTAssertEqual($0 as? StatisticsError, .nonFiniteValue(sample: "differences", index: 0))
        }
        XCTAssertThrowsError(try PairedComparison(baseline: [1, 2, 3], variant: [2, 3, 5], level: 1.5))
        XCTAssertThrowsError(try WilcoxonSignedRankTest(differences: [.nan]))
        XCTAssertThrowsError(try SignFlipPermutationTest(differences: []))
        XCTAssertEqual(StatisticsError.countMismatch(baseline: 3, variant: 2).description,
                       "paired samples differ in length: baseline has 3 values, variant 2")
    }

    func testBootstrapIntervalOption() throws {
        let comparison = try PairedComparison(baseline: [1, 2, 3, 4, 5], variant: [1.5, 2.25, 3.5, 4.5, 5.75],
                                              intervalMethod: .bootstrapPercentile(resamples: 4_000, seed: 9))
        let interval = try XCTUnwrap(comparison.interval)
        XCTAssertEqual(interval.method, .bootstrapPercentile(resamples: 4_000, seed: 9))
        XCTAssertTrue(interval.contains(comparison.meanDifference))
    }
}
