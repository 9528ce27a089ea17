import XCTest
@testable import NablaTensor

/// The arithmetic operators split large tensors over the threads: on any thread count every
/// element is the one operation applied to its operands (compared bitwise, including NaN and ±∞).
final class ParallelElementwiseTests: XCTestCase {
    override func tearDown() { Parallelism.setThreadCount(Parallelism.availableCoreCount) }

    func testOperatorsGiveEachElementsOwnResultOnAnyThreadCount() {
        var g = RandomGenerator(seed: 31)
        // 100,003 elements: three parts of unequal length on 3 threads; a few non-finite values.
        let shape = [7, 14_287]
        var a = Tensor<Float>(normal: shape, using: &g), b = Tensor<Float>(normal: shape, using: &g)
        a.scalars[17] = .nan; b.scalars[40_000] = 0; a.scalars[40_000] = 1; b.scalars[99_999] = -.infinity
        let c: Float = 0.37
        let operandsBefore = (a.scalars + b.scalars).map(\.bitPattern)
        let binary: [(String, (Tensor<Float>, Tensor<Float>) -> Tensor<Float>, (Float, Float) -> Float)] = [
            ("+", { $0 + $1 }, { $0 + $1 }), ("-", { $0 - $1 }, { $0 - $1 }),
            ("*", { $0 * $1 }, { $0 * $1 }), ("/", { $0 / $1 }, { $0 / $1 }),
        ]
        let unary: [(String, (Tensor<Float>) -> Tensor<Float>, (Float) -> Float)] = [
            ("x + c", { $0 + c }, { $0 + c }), ("x - c", { $0 - c }, { $0 - c }),
            ("x * c", { $0 * c }, { $0 * c }), ("x / c", { $0 / c }, { $0 / c }),
            ("c + x", { c + $0 }, { c + $0 }), ("c - x", { c - $0 }, { c - $0 }),
            ("c * x", { c * $0 }, { c * $0 }), ("c / x", { c / $0 }, { c / $0 }), ("-x", { -$0 }, { -$0 }),
        ]
        for threads in [1, 2, 3, 8] {
            Parallelism.setThreadCount(threads)
            for (name, tensorOp, scalarOp) in binary {
                assertBitwise(tensorOp(a, b), zip(a.scalars, b.scalars).map(scalarOp), "\(name), \(threads) threads")
            }
            for (name, tensorOp, scalarOp) in unary {
                assertBitwise(tensorOp(a), a.scalars.map(scalarOp), "\(name), \(threads) threads")
            }
            var sum = a
            sum += b
            assertBitwise(sum, zip(a.scalars, b.scalars).map { $0 + $1 }, "+=, \(threads) threads")
            var scaled = a
            scaled.addScaled(b, by: c)
            assertBitwise(scaled, zip(a.scalars, b.scalars).map { $0 + c * $1 }, "addScaled, \(threads) threads")
            XCTAssertEqual((a.scalars + b.scalars).map(\.bitPattern), operandsBefore,
                           "the operands are unchanged (copy on write), \(threads) threads")
        }
    }

    func testBroadcastingAndEmptyTensorsStillWork() {
        Parallelism.setThreadCount(3)
        let column = Tensor<Float>(shape: [3, 1], scalars: [1, 2, 3])
        let row = Tensor<Float>(shape: [1, 2], scalars: [10, 20])
        XCTAssertEqual((column + row).scalars, [11, 21, 12, 22, 13, 23])
        let empty = Tensor<Float>(shape: [0, 4], scalars: [])
        XCTAssertEqual((empty + empty).shape, [0, 4])
        XCTAssertEqual((empty * 2).count, 0)
    }

    func assertBitwise(_ tensor: Tensor<Float>, _ expected: [Float], _ context: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        let scalars = tensor.scalars
        XCTAssertEqual(scalars.count, expected.count, context, file: file, line: line)
        XCTAssertNil(scalars.indices.first { scalars[$0].bitPattern != expected[$0].bitPattern },
                     "first element that differs: \(context)", file: file, line: line)
    }
}
