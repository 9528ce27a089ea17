import XCTest
@testable import NablaTensor
import NablaTestSupport

/// `blasProduct` does `β = 0` as a zero fill and a `β = 1` product (OpenBLAS's own `β` pass zeroes
/// with scalar stores): it must give BLAS's `β = 0` bits exactly, never read what `C` held, and write
/// only the `m × n` block of a `C` whose rows are `ldc > n` apart.
final class BLASProductTests: XCTestCase {
    /// `C` of `m` rows `ldc` apart, every element `fill`, through `blasProduct` or the BLAS call itself.
    func run<Scalar: TensorScalar>(_ m: Int, _ n: Int, _ k: Int, transposeA: Bool, transposeB: Bool, alpha: Scalar,
                                   beta: Scalar, ldc: Int, a: [Scalar], b: [Scalar], fill: Scalar,
                                   direct: Bool) -> [Scalar] {
        var c = [Scalar](repeating: fill, count: max(1, m * ldc))
        let lda = max(1, transposeA ? m : k), ldb = max(1, transposeB ? k : n)
        let a = a.isEmpty ? [0] : a, b = b.isEmpty ? [0] : b
        c.withUnsafeMutableBufferPointer { pc in
            if direct {
                Scalar.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                            a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: pc.baseAddress!, ldc: ldc)
            } else {
                blasProduct(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                            a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: pc.baseAddress!, ldc: ldc)
            }
        }
        return c
    }

    func check<Scalar: TensorScalar>(_: Scalar.Type, seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        // Shapes off the kernels' tile sizes, a vector-sized one, an empty sum and a 1×1.
        for (m, n, k) in [(37, 23, 19), (64, 48, 32), (5, 130, 7), (9, 11, 0), (1, 1, 1)] {
            var a = (0..<(m * k)).map { _ in Scalar(g.nextNormal()) }
            let b = (0..<(k * n)).map { _ in Scalar(g.nextNormal()) }
            // Row 0 of op(A) all zeros, stored either way: sums of exactly +0, which a negative α turns
            // into −0 before they meet the zeroed C (+0 both ways).
            for p in 0..<k { a[p] = 0; a[p * m] = 0 }
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for ldc in [n, n + 5] {
                        for alpha: Scalar in [1, -0.75, 0] {
                            let context = "\(Scalar.self) \(m)×\(n)×\(k) tA=\(transposeA) tB=\(transposeB) ldc=\(ldc) α=\(alpha)"
                            // What C held must not matter: NaN in ours, a number in BLAS's own β = 0 call.
                            let ours = run(m, n, k, transposeA: transposeA, transposeB: transposeB, alpha: alpha,
                                           beta: 0, ldc: ldc, a: a, b: b, fill: .nan, direct: false)
                            let blas = run(m, n, k, transposeA: transposeA, transposeB: transposeB, alpha: alpha,
                                           beta: 0, ldc: ldc, a: a, b: b, fill: 7, direct: true)
                            for i in 0..<m {
                                for j in 0..<ldc {
                                    let index = i * ldc + j
                                    if j < n {
                                        XCTAssertEqual(bits(ours[index]), bits(blas[index]),
                                                       "\(context) at (\(i), \(j)): \(ours[index]) against \(blas[index])")
                                    } else {
                                        XCTAssertTrue(ours[index].isNaN, "\(context): wrote past column \(n) of row \(i)")
                                    }
                                }
                            }
                            // β ≠ 0 passes through unchanged.
                            let scaled = run(m, n, k, transposeA: transposeA, transposeB: transposeB, alpha: alpha,
                                             beta: 0.5, ldc: ldc, a: a, b: b, fill: 3, direct: false)
                            let scaledBLAS = run(m, n, k, transposeA: transposeA, transposeB: transposeB, alpha: alpha,
                                                 beta: 0.5, ldc: ldc, a: a, b: b, fill: 3, direct: true)
                            XCTAssertEqual(scaled.map(bits), scaledBLAS.map(bits), "β = 0.5: \(context)")
                        }
                    }
                }
            }
        }
    }

    func testZeroBetaGivesBLASBitsWithoutReadingC() {
        check(Float.self, seed: 3)
        check(Double.self, seed: 4)
    }
}

/// The bytes of `value`: equal exactly when two values are the same bits (`−0` and `+0` differ).
private func bits<Scalar>(_ value: Scalar) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
