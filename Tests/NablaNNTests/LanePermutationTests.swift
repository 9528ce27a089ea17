import XCTest
@testable import NablaNN

/// The lane permutations (LanePermutation.swift) on every vector type the direct kernels use: the
/// unshuffle's even and odd lanes, the interleave that undoes it, the square transposition against its
/// definition, the half- and quarter-vector loads, and the prefix stores writing exactly their lanes.
final class LanePermutationTests: XCTestCase {
    func testEveryVectorType() {
        check(SIMD16<Float>.self)
        check(SIMD8<Float>.self)
        check(SIMD4<Float>.self)
        check(SIMD8<Double>.self)
        check(SIMD4<Double>.self)
        check(SIMD2<Double>.self)
    }

    private func check<V: LanePermutable>(_: V.Type, file: StaticString = #filePath, line: UInt = #line)
    where V.Scalar: BinaryFloatingPoint {
        let lanes = V.scalarCount
        func vector(_ values: (Int) -> Int) -> V {
            var v = V()
            for l in 0..<lanes { v[l] = V.Scalar(values(l)) }
            return v
        }
        let (even, odd) = V.unshuffle(vector { $0 }, vector { lanes + $0 })
        for l in 0..<lanes {
            XCTAssertEqual(even[l], V.Scalar(2 * l), "\(V.self) even lane \(l)", file: file, line: line)
            XCTAssertEqual(odd[l], V.Scalar(2 * l + 1), "\(V.self) odd lane \(l)", file: file, line: line)
        }
        let zipped = V.interleave(vector { 2 * $0 }, vector { 2 * $0 + 1 })
        for l in 0..<lanes {
            XCTAssertEqual(zipped.low[l], V.Scalar(l), "\(V.self) interleaved low lane \(l)", file: file, line: line)
            XCTAssertEqual(zipped.high[l], V.Scalar(lanes + l), "\(V.self) interleaved high lane \(l)", file: file, line: line)
        }
        let source = (0..<(3 * lanes + 4)).map { V.Scalar($0) }
        let halves = source.withUnsafeBufferPointer { V.load(halves: $0.baseAddress! + 1, $0.baseAddress! + lanes + 3) }
        for l in 0..<lanes {
            let expected = l < lanes / 2 ? 1 + l : lanes + 3 + l - lanes / 2
            XCTAssertEqual(halves[l], V.Scalar(expected), "\(V.self) half-vector load lane \(l)", file: file, line: line)
        }
        if lanes >= 4 {
            // Quarters from four places, out of order in memory.
            let starts = [2 * lanes + 1, 0, lanes + 2, 5]
            let quarters = source.withUnsafeBufferPointer { p in
                V.load(quarters: p.baseAddress! + starts[0], p.baseAddress! + starts[1], p.baseAddress! + starts[2],
                       p.baseAddress! + starts[3])
            }
            for l in 0..<lanes {
                let quarter = lanes / 4
                XCTAssertEqual(quarters[l], V.Scalar(starts[l / quarter] + l % quarter), "\(V.self) quarter-vector load lane \(l)",
                               file: file, line: line)
            }
        }
        for count in 0...(lanes / 2) {
            var low = [V.Scalar](repeating: -1, count: lanes / 2 + 1), high = low
            low.withUnsafeMutableBufferPointer { l in
                high.withUnsafeMutableBufferPointer { h in
                    V.storeHalves(vector { $0 + 7 }, prefix: count, low: l.baseAddress!, high: h.baseAddress!)
                }
            }
            XCTAssertEqual(low, (0...(lanes / 2)).map { $0 < count ? V.Scalar($0 + 7) : -1 }, "\(V.self) low half \(count)",
                           file: file, line: line)
            XCTAssertEqual(high, (0...(lanes / 2)).map { $0 < count ? V.Scalar($0 + lanes / 2 + 7) : -1 },
                           "\(V.self) high half \(count)", file: file, line: line)
        }
        var rows = (0..<lanes).map { r in vector { r * 100 + $0 } }
        var scratch = [V](repeating: V(), count: lanes)
        rows.withUnsafeMutableBufferPointer { r in
            scratch.withUnsafeMutableBufferPointer { V.transposeSquare(r.baseAddress!, scratch: $0.baseAddress!) }
        }
        for r in 0..<lanes {
            for c in 0..<lanes {
                XCTAssertEqual(rows[r][c], V.Scalar(c * 100 + r), "\(V.self) transposed [\(r)][\(c)]", file: file, line: line)
            }
        }
        for count in 0...lanes {
            var target = [V.Scalar](repeating: -1, count: lanes + 2)
            target.withUnsafeMutableBufferPointer { V.store(vector { $0 + 7 }, prefix: count, to: $0.baseAddress! + 1) }
            let expected = [-1] + (0..<lanes).map { $0 < count ? V.Scalar($0 + 7) : -1 } + [-1]
            XCTAssertEqual(target, expected, "\(V.self) prefix \(count)", file: file, line: line)
        }
    }
}
