import Foundation
import XCTest
@testable import NablaStudies

/// The better / worse / no-detectable-difference rules.
final class VerdictTests: XCTestCase {
    private let baseline = [0.9123, 0.9087, 0.9151, 0.9102, 0.9135]
    private let improved = [0.9201, 0.9178, 0.9230, 0.9169, 0.9212]
    private let unchanged = [0.9131, 0.9069, 0.9160, 0.9094, 0.9129]

    func testBetterAndWorseFollowTheMetricDirection() throws {
        let comparison = try PairedComparison(baseline: baseline, variant: improved)
        let p = try XCTUnwrap(comparison.pValue)
        let accuracy = try Verdict(comparison: comparison, adjustedPValue: p, higherIsBetter: true)
        XCTAssertEqual(accuracy.label, .better)
        XCTAssertEqual(accuracy.text, "better")
        let loss = try Verdict(comparison: comparison, adjustedPValue: p, higherIsBetter: false)
        XCTAssertEqual(loss.label, .worse)
        XCTAssertEqual(loss.text, "worse")
        // Mirror image: the variant is lower.
        let lower = try PairedComparison(baseline: improved, variant: baseline)
        XCTAssertEqual(try Verdict(comparison: lower, adjustedPValue: lower.pValue, higherIsBetter: true).label, .worse)
        XCTAssertEqual(try Verdict(comparison: lower, adjustedPValue: lower.pValue, higherIsBetter: false).label, .better)
    }

    func testNoDetectableDifferenceText() throws {
        let comparison = try PairedComparison(baseline: baseline, variant: unchanged)
        let verdict = try Verdict(comparison: comparison, adjustedPValue: comparison.pValue, higherIsBetter: true)
        XCTAssertEqual(verdict.label, .noDetectableDifference)
        XCTAssertEqual(verdict.text, "no detectable difference (n = 5)")
    }

    func testBothConditionsAreRequired() throws {
        let comparison = try PairedComparison(baseline: baseline, variant: improved)
        XCTAssertTrue(try XCTUnwrap(comparison.interval).excludesZero)
        // Adjusted p at or above α: no verdict even though the interval excludes 0.
        XCTAssertEqual(try Verdict(comparison: comparison, adjustedPValue: 0.05, higherIsBetter: true).label,
                       .noDetectableDifference)
        XCTAssertEqual(try Verdict(comparison: comparison, adjustedPValue: 0.2, higherIsBetter: true).label,
                       .noDetectableDifference)
        // p below α but the interval contains 0 (e.g. a p-value from another family): no verdict.
        let noisy = try PairedComparison(baseline: baseline, variant: unchanged)
        XCTAssertFalse(try XCTUnwrap(noisy.interval).excludesZero)
        XCTAssertEqual(try Verdict(comparison: noisy, adjustedPValue: 0.001, higherIsBetter: true).label,
                       .noDetectableDifference)
        // No p-value at all.
        XCTAssertEqual(try Verdict(comparison: comparison, adjustedPValue: nil, higherIsBetter: true).label,
                       .noDetectableDifference)
    }

    func testExactTestsNeverGiveAVerdictAtFiveSeeds() throws {
        for test in [PairedTest.wilcoxonSignedRank, .signFlipPermutation] {
            let comparison = try PairedComparison(baseline: baseline, variant: improved, test: test)
            let verdict = try Verdict(comparison: comparison, adjustedPValue: comparison.pValue, higherIsBetter: true)
            XCTAssertEqual(comparison.pValue, 0.0625)
            XCTAssertEqual(verdict.label, .noDetectableDifference)
        }
    }

    func testFamilyOfVariantsIsHolmAdjusted() throws {
        // p ≈ 0.026 alone is "better"; in a family of three it is the second smallest p-value, so Holm
        // multiplies it by 2 and it is no longer below 0.05.
        let borderline = [0.9140, 0.9090, 0.9163, 0.9110, 0.9160]
        let single = try PairedComparison(baseline: baseline, variant: borderline)
        let p = try XCTUnwrap(single.pValue)
        XCTAssertLessThan(p, 0.05)
        XCTAssertGreaterThan(2 * p, 0.05, "fixture assumption: p = \(p)")
        let alone = try Verdict.verdicts(for: [single], higherIsBetter: true)
        XCTAssertEqual(alone.map(\.label), [.better])
        let family = try Verdict.verdicts(for: [
            single,
            try PairedComparison(baseline: baseline, variant: improved),
            try PairedComparison(baseline: baseline, variant: unchanged),
        ], higherIsBetter: true)
        XCTAssertEqual(family.map(\.label), [.noDetectableDifference, .better, .noDetectableDifference])
        XCTAssertEqual(family[0].adjustedPValue, 2 * p)
        XCTAssertTrue(family.allSatisfy { $0.alpha == 0.05 })
    }

    func testVerdictsNeverContradictTheirInterval() throws {
        // Whatever the data, a better/worse verdict comes with an interval excluding 0.
        var generator = SplitMix64(seed: 2024)
        for _ in 0..<300 {
            let n = 2 + generator.next(below: 9)
            let base = (0..<n).map { _ in Double(generator.next(below: 1000)) / 1000 }
            let shift = Double(generator.next(below: 200)) / 1000 - 0.1
            let variant = base.map { $0 + shift + Double(generator.next(below: 100)) / 1000 - 0.05 }
            for test in PairedTest.allCases {
                let comparison = try PairedComparison(baseline: base, variant: variant, test: test)
                let verdict = try Verdict(comparison: comparison, adjustedPValue: comparison.pValue, higherIsBetter: true)
                if verdict.label != .noDetectableDifference {
                    let interval = try XCTUnwrap(comparison.interval)
                    XCTAssertTrue(interval.excludesZero)
                    XCTAssertLessThan(try XCTUnwrap(comparison.pValue), 0.05)
                    XCTAssertEqual(verdict.label == .better, interval.lower > 0)
                }
            }
        }
    }

    func testDegenerateComparisons() throws {
        let single = try PairedComparison(baseline: [0.9], variant: [0.99])
        let verdict = try Verdict(comparison: single, adjustedPValue: nil, higherIsBetter: true)
        XCTAssertEqual(verdict.text, "no detectable difference (n = 1)")
        XCTAssertEqual(try Verdict.verdicts(for: [single], higherIsBetter: true).map(\.label), [.noDetectableDifference])
        // Zero variance, non-zero shift: p = 0 and the zero-width interval excludes 0 → better.
        let shifted = try PairedComparison(differences: [0.01, 0.01, 0.01])
        XCTAssertEqual(try Verdict(comparison: shifted, adjustedPValue: shifted.pValue, higherIsBetter: true).label, .better)
        // Zero variance, zero shift → no difference.
        let flat = try PairedComparison(differences: [0, 0, 0])
        XCTAssertEqual(try Verdict(comparison: flat, adjustedPValue: flat.pValue, higherIsBetter: true).label,
                       .noDetectableDifference)
        XCTAssertThrowsError(try Verdict(comparison: flat, adjustedPValue: 0.5, alpha: 1, higherIsBetter: true))
        XCTAssertThrowsError(try Verdict(comparison: flat, adjustedPValue: .nan, higherIsBetter: true))
    }
}
