import Foundation
import XCTest
@testable import NablaStudies

/// The bootstrap percentile interval, its generator, and interval helpers.
final class IntervalTests: XCTestCase {
    private let fixture = StatisticsFixture.shared

    func testSplitMix64MatchesReferenceStream() throws {
        // Vigna's splitmix64.c from state 0 starts 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, ...
        var generator = SplitMix64(seed: 0)
        XCTAssertEqual(generator.next(), 0xE220_A839_7B1D_CDAF)
        generator = SplitMix64(seed: try XCTUnwrap(UInt64(fixture.splitMix64.seed)))
        for expected in fixture.splitMix64.outputs {
            XCTAssertEqual(generator.next(), try XCTUnwrap(UInt64(expected)))
        }
        var bounded = SplitMix64(seed: try XCTUnwrap(UInt64(fixture.splitMix64Bounded.seed)))
        let draws = (0..<fixture.splitMix64Bounded.values.count).map { _ in bounded.next(below: fixture.splitMix64Bounded.bound) }
        XCTAssertEqual(draws, fixture.splitMix64Bounded.values)
    }

    func testBootstrapPercentileMatchesReimplementation() throws {
        XCTAssertGreaterThanOrEqual(fixture.bootstrap.count, 4)
        for row in fixture.bootstrap {
            let seed = try XCTUnwrap(UInt64(row.seed))
            let interval = try XCTUnwrap(ConfidenceInterval.bootstrapPercentile(
                forMeanOf: row.values, level: row.level, resamples: row.resamples, seed: seed))
            // The Python script repeats the same floating-point operations, so agreement is exact up
            // to the last bit; allow a few ulps.
            assertClose(interval.lower, row.lower, relative: 1e-14, "lower \(row.values)")
            assertClose(interval.upper, row.upper, relative: 1e-14, "upper \(row.values)")
            XCTAssertEqual(interval.method, .bootstrapPercentile(resamples: row.resamples, seed: seed))
        }
    }

    func testBootstrapIsDeterministicAndSeedDependent() throws {
        let values = [0.9123, 0.9087, 0.9151, 0.9102, 0.9135, 0.9111, 0.9148]
        let first = try ConfidenceInterval.bootstrapPercentile(forMeanOf: values)
        let second = try ConfidenceInterval.bootstrapPercentile(forMeanOf: values)
        XCTAssertEqual(first, second)
        let other = try ConfidenceInterval.bootstrapPercentile(forMeanOf: values, seed: 7)
        XCTAssertNotEqual(first, other)
        let interval = try XCTUnwrap(first)
        XCTAssertTrue(interval.contains(try XCTUnwrap(values.mean())))
        XCTAssertGreaterThanOrEqual(interval.lower, values.min()!)
        XCTAssertLessThanOrEqual(interval.upper, values.max()!)
        // Narrower than the t interval at small n (the known under-coverage).
        let t = try XCTUnwrap(ConfidenceInterval.studentT(forMeanOf: values))
        XCTAssertLessThan(interval.upper - interval.lower, t.upper - t.lower)
        // Via the method enum.
        XCTAssertEqual(try ConfidenceInterval.forMean(of: values, method: .bootstrapPercentile()), first)
    }

    func testBootstrapRejectsTooFewResamplesAndHandlesSmallSamples() throws {
        XCTAssertThrowsError(try ConfidenceInterval.bootstrapPercentile(forMeanOf: [1, 2, 3], resamples: 1_999)) {
            guard case .invalidParameter = $0 as? StatisticsError else { return XCTFail("\($0)") }
        }
        XCTAssertNil(try ConfidenceInterval.bootstrapPercentile(forMeanOf: [1]))
        XCTAssertThrowsError(try ConfidenceInterval.bootstrapPercentile(forMeanOf: [1, .nan]))
        let flat = try XCTUnwrap(ConfidenceInterval.bootstrapPercentile(forMeanOf: [2, 2, 2]))
        XCTAssertEqual(flat.lower, 2)
        XCTAssertEqual(flat.upper, 2)
    }

    func testLinearQuantileIsNumpyDefinition() {
        let sorted = [1.0, 2, 4, 8]
        XCTAssertEqual(linearQuantile(ofSorted: sorted, 0), 1)
        XCTAssertEqual(linearQuantile(ofSorted: sorted, 1), 8)
        XCTAssertEqual(linearQuantile(ofSorted: sorted, 0.5), 3)  // numpy.quantile([1,2,4,8], 0.5)
        XCTAssertEqual(linearQuantile(ofSorted: sorted, 0.25), 1.75)
    }

    func testIntervalHelpers() {
        let positive = ConfidenceInterval(lower: 0.1, upper: 0.3, level: 0.95, method: .studentT)
        let straddling = ConfidenceInterval(lower: -0.1, upper: 0.3, level: 0.95, method: .studentT)
        let touching = ConfidenceInterval(lower: 0, upper: 0.3, level: 0.95, method: .studentT)
        let negative = ConfidenceInterval(lower: -0.3, upper: -0.1, level: 0.95, method: .studentT)
        XCTAssertTrue(positive.excludesZero)
        XCTAssertFalse(straddling.excludesZero)
        XCTAssertFalse(touching.excludesZero)
        XCTAssertTrue(negative.excludesZero)
        XCTAssertTrue(straddling.contains(0))
        XCTAssertEqual(positive.description, "[0.1, 0.3]")
    }
}
