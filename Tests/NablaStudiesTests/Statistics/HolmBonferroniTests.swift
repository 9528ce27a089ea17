import Foundation
import XCTest
@testable import NablaStudies

/// Holm's step-down adjustment against statsmodels' formula.
final class HolmBonferroniTests: XCTestCase {
    func testMatchesStatsmodelsFormula() throws {
        let rows = StatisticsFixture.shared.holm
        XCTAssertGreaterThanOrEqual(rows.count, 6)
        for row in rows {
            let adjusted = try HolmBonferroni.adjustedPValues(row.p)
            XCTAssertEqual(adjusted.count, row.p.count)
            for (value, expected) in zip(adjusted, row.adjusted) {
                assertClose(value, expected, relative: 1e-15, "\(row.p)")
            }
        }
    }

    func testPropertiesOfTheAdjustment() throws {
        let p = [0.04, 0.001, 0.03, 0.2, 0.012, 0.7, 0.012]
        let adjusted = try HolmBonferroni.adjustedPValues(p)
        for i in p.indices {
            XCTAssertGreaterThanOrEqual(adjusted[i], p[i])  // never smaller than the raw p
            XCTAssertLessThanOrEqual(adjusted[i], 1)        // capped
            for j in p.indices where p[i] <= p[j] {
                XCTAssertLessThanOrEqual(adjusted[i], adjusted[j])  // monotone in the raw p
            }
        }
        XCTAssertEqual(adjusted[6], adjusted[4])  // tied raw p-values, tied adjusted ones
        XCTAssertEqual(adjusted[1], 0.007)        // smallest of 7: × 7
        XCTAssertEqual(try HolmBonferroni.adjustedPValues([]), [])
        XCTAssertEqual(try HolmBonferroni.adjustedPValues([0.3]), [0.3])
    }

    func testRejectionsUseStrictInequality() throws {
        // Adjusted: 0.02 × 2 = 0.04 < 0.05 → rejected; 0.05 (already α) → not rejected.
        XCTAssertEqual(try HolmBonferroni.rejections([0.02, 0.05]), [true, false])
        XCTAssertEqual(try HolmBonferroni.rejections([0.025, 0.03]), [false, false])  // 0.05 is not < 0.05
        XCTAssertThrowsError(try HolmBonferroni.rejections([0.01], alpha: 0))
    }

    func testMissingValuesAreLeftOutOfTheFamily() throws {
        let adjusted = try HolmBonferroni.adjustedPValues([0.01, nil, 0.04] as [Double?])
        XCTAssertEqual(adjusted[0], 0.02)
        XCTAssertNil(adjusted[1])
        XCTAssertEqual(adjusted[2], 0.04)
    }

    func testInvalidPValuesThrow() {
        XCTAssertThrowsError(try HolmBonferroni.adjustedPValues([0.1, .nan]))
        XCTAssertThrowsError(try HolmBonferroni.adjustedPValues([0.1, 1.5]))
        XCTAssertThrowsError(try HolmBonferroni.adjustedPValues([-0.1]))
    }
}
