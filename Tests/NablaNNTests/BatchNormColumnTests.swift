import XCTest
@testable import NablaTensor
@testable import NablaNN

/// The `(N, C)` batch-norm kernels (register-blocked column sums, vectorized row passes) give the
/// bits of the plain per-element loops they replaced, for every split of the columns into blocks of
/// 32, 8 and 1 and for the parallel chunking of wide inputs.
final class BatchNormColumnTests: XCTestCase {
    static let shapes = [(rows: 2, channels: 1), (3, 7), (5, 8), (4, 9), (2, 31), (6, 32), (3, 33), (16, 75),
                         (128, 130), (128, 300), (64, 1031)]

    func values<S: TensorScalar>(_ count: Int, seed: UInt64, offset: Double, _: S.Type) -> [S] {
        var generator = RandomGenerator(seed: seed)
        return (0..<count).map { _ in S(Double(generator.next() % 100_000) / 37_000 - 1.3 + offset) }
    }

    func checkMoments<S: TensorScalar>(_: S.Type) {
        for (rows, channels) in Self.shapes {
            let x = values(rows * channels, seed: UInt64(rows * 1000 + channels), offset: 3, S.self)
            var mean = [Double](repeating: .nan, count: channels), variance = mean
            x.withUnsafeBufferPointer {
                BatchNormKernels.channelMoments($0.baseAddress!, samples: rows, channels: channels, spatial: 1,
                                                mean: &mean, variance: &variance)
            }
            for c in 0..<channels {
                var sum = 0.0
                for n in 0..<rows { sum += Double(x[n * channels + c]) }
                let m = sum * (1 / Double(rows))
                var squares = 0.0
                for n in 0..<rows { let d = Double(x[n * channels + c]) - m; squares += d * d }
                XCTAssertEqual(mean[c].bitPattern, m.bitPattern, "mean \(S.self) \(rows)×\(channels) column \(c)")
                XCTAssertEqual(variance[c].bitPattern, (squares * (1 / Double(rows))).bitPattern,
                               "variance \(S.self) \(rows)×\(channels) column \(c)")
            }
        }
    }

    func checkGradientSums<S: TensorScalar>(_: S.Type) {
        for (rows, channels) in Self.shapes {
            let dy = values(rows * channels, seed: UInt64(channels), offset: 0, S.self)
            let x = values(rows * channels, seed: UInt64(rows + 7), offset: 1, S.self)
            let center = values(channels, seed: 99, offset: 1, S.self)
            var sumDy = [Double](repeating: .nan, count: channels), sumDyCentered = sumDy
            BatchNormKernels.channelGradientSums(dy, x, samples: rows, channels: channels, spatial: 1, center: center,
                                                 sumDy: &sumDy, sumDyCentered: &sumDyCentered)
            for c in 0..<channels {
                var a = 0.0, b = 0.0
                for n in 0..<rows {
                    let g = Double(dy[n * channels + c])
                    a += g
                    b += g * Double(x[n * channels + c] - center[c])
                }
                XCTAssertEqual(sumDy[c].bitPattern, a.bitPattern, "Σdy \(S.self) \(rows)×\(channels) column \(c)")
                XCTAssertEqual(sumDyCentered[c].bitPattern, b.bitPattern, "Σdy·x̂ \(S.self) \(rows)×\(channels) column \(c)")
            }
        }
    }

    func checkRowPasses<S: TensorScalar>(_: S.Type) {
        for (rows, channels) in Self.shapes {
            let x = values(rows * channels, seed: 5, offset: 0, S.self), dy = values(rows * channels, seed: 6, offset: 0, S.self)
            let center = values(channels, seed: 1, offset: 0, S.self), scale = values(channels, seed: 2, offset: 1, S.self)
            let shift = values(channels, seed: 3, offset: 0, S.self), slope = values(channels, seed: 4, offset: 0, S.self)
            for clamping in [false, true] {
                var y = [S](repeating: .nan, count: x.count)
                NormalizationKernels.affine(x, into: &y, samples: rows, channels: channels, spatial: 1, center: center,
                                            scale: scale, shift: shift, coefficientRowStride: 0, clampingAtZero: clamping)
                for i in 0..<x.count {
                    let c = i % channels, value = (x[i] - center[c]) * scale[c] + shift[c]
                    XCTAssertEqual(y[i], clamping ? Swift.max(value, 0) : value, "affine \(S.self) \(rows)×\(channels) at \(i)")
                }
            }
            var dx = [S](repeating: .nan, count: x.count)
            NormalizationKernels.inputGradient(dy, x, into: &dx, samples: rows, channels: channels, spatial: 1, center: center,
                                               scale: scale, slope: slope, offset: shift, coefficientRowStride: 0)
            for i in 0..<x.count {
                let c = i % channels
                XCTAssertEqual(dx[i], scale[c] * dy[i] + slope[c] * (x[i] - center[c]) + shift[c],
                               "input gradient \(S.self) \(rows)×\(channels) at \(i)")
            }
        }
    }

    func testColumnMomentsAreTheSequentialSums() {
        checkMoments(Float.self)
        checkMoments(Double.self)
    }

    func testColumnGradientSumsAreTheSequentialSums() {
        checkGradientSums(Float.self)
        checkGradientSums(Double.self)
    }

    func testRowPassesAreThePerElementFormulas() {
        checkRowPasses(Float.self)
        checkRowPasses(Double.self)
    }
}
