import Foundation
import XCTest
@testable import NablaStudies

/// Mean, standard deviation, standard error, `SampleSummary` and the Student t interval.
final class DescriptiveTests: XCTestCase {
    private let fixture = StatisticsFixture.shared

    func testDescriptiveStatisticsMatchReference() throws {
        XCTAssertGreaterThanOrEqual(fixture.descriptive.count, 8)
        for row in fixture.descriptive {
            let values = row.values
            assertClose(try XCTUnwrap(values.mean()), row.mean, relative: 1e-15, "mean \(values)")
            assertClose(try XCTUnwrap(values.sampleStandardDeviation()), row.sd, relative: 1e-9, "sd \(values)")
            assertClose(try XCTUnwrap(values.standardError()), row.se, relative: 1e-9, "se \(values)")
            assertClose(try XCTUnwrap(values.sampleVariance()), row.sd * row.sd, relative: 1e-9, "variance \(values)")
        }
    }

    func testStudentTIntervalsMatchScipy() throws {
        for row in fixture.descriptive {
            for (level, expected) in [(0.9, row.tInterval90), (0.95, row.tInterval95), (0.99, row.tInterval99)] {
                let interval = try XCTUnwrap(ConfidenceInterval.studentT(forMeanOf: row.values, level: level))
                assertClose(interval.lower, expected[0], "lower \(level) \(row.values)")
                assertClose(interval.upper, expected[1], "upper \(level) \(row.values)")
                XCTAssertEqual(interval.level, level)
                XCTAssertEqual(interval.method, .studentT)
                XCTAssertTrue(interval.contains(try XCTUnwrap(row.values.mean())))
            }
        }
    }

    func testSummaryOfSeeds() throws {
        let row = fixture.descriptive[0]
        let summary = try SampleSummary(of: row.values)
        XCTAssertEqual(summary.count, row.values.count)
        assertClose(summary.mean, row.mean, relative: 1e-15)
        assertClose(try XCTUnwrap(summary.standardDeviation), row.sd)
        assertClose(try XCTUnwrap(summary.standardError), row.se)
        let interval = try XCTUnwrap(summary.interval)
        assertClose(interval.lower, row.tInterval95[0])
        assertClose(interval.upper, row.tInterval95[1])
        XCTAssertEqual(interval.level, 0.95)
        XCTAssertTrue(summary.description.hasSuffix("(n = 5)"), summary.description)

        let bootstrapped = try SampleSummary(of: row.values, method: .bootstrapPercentile())
        XCTAssertEqual(bootstrapped.interval?.method,
                       .bootstrapPercentile(resamples: 10_000, seed: ConfidenceInterval.defaultBootstrapSeed))
    }

    func testSmallAndDegenerateSamples() throws {
        // Empty: the plain functions give nil, the validating types throw.
        XCTAssertNil([Double]().mean())
        XCTAssertNil([Double]().sampleStandardDeviation())
        XCTAssertThrowsError(try SampleSummary(of: [])) { XCTAssertEqual($0 as? StatisticsError, .emptySample("values")) }
        // One value: a mean but no spread and no interval.
        XCTAssertEqual([0.75].mean(), 0.75)
        XCTAssertNil([0.75].sampleStandardDeviation())
        XCTAssertNil([0.75].standardError())
        let single = try SampleSummary(of: [0.75])
        XCTAssertEqual(single.mean, 0.75)
        XCTAssertNil(single.standardDeviation)
        XCTAssertNil(single.interval)
        XCTAssertEqual(single.description, "0.75 (n = 1)")
        XCTAssertNil(try ConfidenceInterval.studentT(forMeanOf: [0.75]))
        // Identical values: sd exactly 0, mean exactly the value, zero-width interval.
        let same = [0.1, 0.1, 0.1, 0.1, 0.1]
        XCTAssertEqual(same.mean(), 0.1)
        XCTAssertEqual(same.sampleStandardDeviation(), 0)
        let interval = try XCTUnwrap(ConfidenceInterval.studentT(forMeanOf: same))
        XCTAssertEqual(interval.lower, 0.1)
        XCTAssertEqual(interval.upper, 0.1)
    }

    func testNonFiniteValuesAndBadLevelsAreRejected() {
        XCTAssertThrowsError(try SampleSummary(of: [0.9, .nan, 0.8])) {
            XCTAssertEqual($0 as? StatisticsError, .nonFiniteValue(sample: "values", index: 1))
        }
        XCTAssertThrowsError(try SampleSummary(of: [0.9, .infinity]))
        XCTAssertThrowsError(try ConfidenceInterval.studentT(forMeanOf: [1, 2, 3], level: 1))
        XCTAssertThrowsError(try ConfidenceInterval.studentT(forMeanOf: [1, 2, 3], level: 0))
        XCTAssertThrowsError(try ConfidenceInterval.studentT(forMeanOf: [1, 2, 3], level: .nan))
        // The plain functions propagate NaN instead.
        XCTAssertTrue([1, .nan, 3].mean()!.isNaN)
    }

    func testCompensatedMeanOfLargeOffsets() throws {
        // Naive left-to-right summation of these loses the small terms entirely.
        let values = [1e16, 1, 1, 1, 1, -1e16]
        XCTAssertEqual(try XCTUnwrap(values.mean()), 4.0 / 6.0, accuracy: 1e-15)
    }
}
