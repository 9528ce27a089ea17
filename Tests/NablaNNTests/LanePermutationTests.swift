import XCTest
@testable import NablaNN

/// The lane permutations (LanePermutation.swift) on every vector type the direct kernels use: the
/// unshuffle's even and odd lanes, the square transposition against its definition, and the prefix
/// store writing exactly its lanes.
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
