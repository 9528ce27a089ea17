import XCTest
@testable import NablaNN

/// The short-span moves (ShortSpans.swift): every span length the size dispatch distinguishes, for
/// 4- and 8-byte elements, writes exactly its span — nothing before, after or between the spans.
final class ShortSpansTests: XCTestCase {
    private func check<Scalar: BinaryFloatingPoint>(_: Scalar.Type, count: Int, rows: Int) {
        let (sourcePitch, targetPitch) = (count + 3, count + 5)
        let source = (0..<((rows + 1) * sourcePitch)).map { Scalar($0 + 1) }
        var target = [Scalar](repeating: -1, count: rows * targetPitch + 7)
        source.withUnsafeBufferPointer { s in
            target.withUnsafeMutableBufferPointer { t in
                copyRows(t.baseAddress! + 2, pitch: targetPitch, s.baseAddress! + 1, pitch: sourcePitch, rows: rows, count: count)
            }
        }
        for index in target.indices {
            let offset = index - 2, row = offset / targetPitch, column = offset - row * targetPitch
            let inside = offset >= 0 && row < rows && column < count
            XCTAssertEqual(target[index], inside ? source[row * sourcePitch + 1 + column] : -1,
                           "\(Scalar.self) count \(count) rows \(rows): element \(index)")
        }
        var single = [Scalar](repeating: -1, count: count + 2)
        source.withUnsafeBufferPointer { s in single.withUnsafeMutableBufferPointer { copySpan($0.baseAddress! + 1, s.baseAddress!, count: count) } }
        XCTAssertEqual(single, [-1] + Array(source[..<count]) + [-1], "\(Scalar.self) copySpan count \(count)")
    }

    func testCopiesExactlyTheSpans() {
        for count in [1, 2, 3, 4, 5, 8, 9, 12, 17, 40, 70] {
            for rows in [0, 1, 3] {
                check(Float.self, count: count, rows: rows)
                check(Double.self, count: count, rows: rows)
            }
        }
    }
}
