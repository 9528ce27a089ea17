import Foundation
import XCTest
import NablaTestSupport

/// The reference values written by Scripts/fixtures/gen_statistics.py (scipy 1.17, checked with
/// mpmath), in Tests/NablaTestSupport/Fixtures/statistics/statistics.json.
struct StatisticsFixture: Decodable {
    struct IncompleteBeta: Decodable { let a, b, x, value: Double }
    struct TValue: Decodable { let df, t, cdf, sf: Double }
    struct TQuantile: Decodable { let df, p, quantile: Double }
    struct NormalValue: Decodable { let z, cdf: Double }
    struct NormalQuantile: Decodable { let p, quantile: Double }
    struct Descriptive: Decodable {
        let values: [Double]
        let mean, sd, se: Double
        let tInterval90, tInterval95, tInterval99: [Double]
    }
    struct Wilcoxon: Decodable {
        let statistic, p: Double
        let method: String
        let z: Double?
    }
    struct Paired: Decodable {
        let name: String
        let baseline, variant, differences: [Double]
        let mean, sd, se, t: Double
        let df: Int
        let tP: Double
        let tInterval: [Double]
        let wilcoxon: Wilcoxon
        let permutationP: Double?
        let dz, gz: Double
    }
    struct Holm: Decodable { let p, adjusted: [Double] }
    struct Bootstrap: Decodable {
        let values: [Double]
        let level: Double
        let resamples: Int
        let seed: String
        let lower, upper: Double
    }
    struct SplitMix: Decodable { let seed: String; let outputs: [String] }
    struct SplitMixBounded: Decodable { let seed: String; let bound: Int; let values: [Int] }

    let incompleteBeta: [IncompleteBeta]
    let studentT: [TValue]
    let studentTQuantile: [TQuantile]
    let normal: [NormalValue]
    let normalQuantile: [NormalQuantile]
    let descriptive: [Descriptive]
    let paired: [Paired]
    let holm: [Holm]
    let bootstrap: [Bootstrap]
    let splitMix64: SplitMix
    let splitMix64Bounded: SplitMixBounded

    /// The fixture, decoded once.
    static let shared: StatisticsFixture = {
        let url = Fixtures.root.appendingPathComponent("statistics/statistics.json")
        do {
            return try JSONDecoder().decode(StatisticsFixture.self, from: Data(contentsOf: url))
        } catch {
            fatalError("Fixtures/statistics.json does not decode: \(error)")
        }
    }()
}

/// Asserts |actual − expected| ≤ relative · max(|actual|, |expected|) + absolute.
func assertClose(_ actual: Double, _ expected: Double, relative: Double = 1e-9, absolute: Double = 0,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    if actual == expected { return }
    let scale = max(abs(actual), abs(expected))
    let ok = abs(actual - expected) <= relative * scale + absolute
    XCTAssertTrue(ok, "\(actual) ≠ \(expected) (relative error \(abs(actual - expected) / scale)) \(message())",
                  file: file, line: line)
}
