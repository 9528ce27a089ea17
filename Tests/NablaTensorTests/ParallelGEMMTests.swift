import XCTest
@testable import NablaTensor
import NablaTestSupport

/// `matrixMultiply` splits the output over threads: every split computes the definition, and a given
/// thread count always gives the same bits.
final class ParallelGEMMTests: XCTestCase {
    override func tearDown() {
        Parallelism.setThreadCount(ProcessInfo.processInfo.activeProcessorCount)
        BLASThreading.parallelThreshold = 1 << 19
    }

    /// `C = α·op(A)·op(B) + β·C` through `matrixMultiply` with `threads` threads and a zero threshold.
    func product(_ m: Int, _ n: Int, _ k: Int, transposeA: Bool, transposeB: Bool, threads: Int,
                 a: [Float], b: [Float], c: [Float]) -> [Float] {
        Parallelism.setThreadCount(threads)
        BLASThreading.parallelThreshold = 0
        var out = c
        out.withUnsafeMutableBufferPointer { pc in
            matrixMultiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5,
                           a: a, lda: transposeA ? m : k, b: b, ldb: transposeB ? k : n,
                           beta: 2, c: pc.baseAddress!, ldc: n)
        }
        return out
    }

    func testSplitsAlongRowsAndColumnsComputeTheDefinitionReproducibly() {
        var g = RandomGenerator(seed: 11)
        // Tall (split rows), wide (split columns), and sizes that are not multiples of the 16-wide tiles.
        for (m, n, k) in [(75, 9, 33), (7, 70, 21), (48, 48, 5), (1, 40, 3), (17, 1, 2)] {
            let a = (0..<(m * k)).map { _ in Float(g.nextNormal()) }
            let b = (0..<(k * n)).map { _ in Float(g.nextNormal()) }
            let c = (0..<(m * n)).map { _ in Float(g.nextNormal()) }
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for threads in [1, 2, 3, 8] {
                        let first = product(m, n, k, transposeA: transposeA, transposeB: transposeB, threads: threads,
                                            a: a, b: b, c: c)
                        let again = product(m, n, k, transposeA: transposeA, transposeB: transposeB, threads: threads,
                                            a: a, b: b, c: c)
                        let context = "\(m)×\(n)×\(k) tA=\(transposeA) tB=\(transposeB) threads=\(threads)"
                        XCTAssertTrue(first == again, "not reproducible: \(context)")
                        assertDefinition(first, m, n, k, transposeA: transposeA, transposeB: transposeB,
                                         a: a, b: b, c: c, context)
                    }
                }
            }
        }
    }

    func assertDefinition(_ product: [Float], _ m: Int, _ n: Int, _ k: Int, transposeA: Bool, transposeB: Bool,
                          a: [Float], b: [Float], c: [Float], _ context: String) {
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * m + i] : a[i * k + p]
                    let y = transposeB ? b[j * k + p] : b[p * n + j]
                    sum += Double(x) * Double(y)
                }
                let expected = 0.5 * sum + 2 * Double(c[i * n + j])
                worst = max(worst, abs(Double(product[i * n + j]) - expected) / (1 + abs(expected)))
            }
        }
        XCTAssertLessThan(worst, 1e-5, context)
    }
}

extension ParallelGEMMTests {
    /// The default thread count is the cores the process may run on: at least one, at most the machine's.
    func testAvailableCoreCountIsWithinTheMachine() {
        let available = Parallelism.availableCoreCount
        XCTAssertGreaterThanOrEqual(available, 1)
        XCTAssertLessThanOrEqual(available, ProcessInfo.processInfo.activeProcessorCount)
    }
}
