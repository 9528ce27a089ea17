import Foundation
import XCTest
@testable import NablaTensor
import NablaTestSupport

/// bf16 rounding against PyTorch, and the bf16 GEMM (hardware and portable) against a Double product
/// of the rounded operands.
final class BFloat16KernelTests: XCTestCase {
    /// Every class of case in `Fixtures/bf16/rounding.json` (Scripts/fixtures/gen_bf16.py): exact
    /// values, ties to even, the largest finite bf16, overflow to infinity, NaN, denormals, ±0, random.
    func testRoundingMatchesPyTorch() throws {
        struct Case: Decodable { let float_bits: UInt32; let bf16_bits: UInt16 }
        struct File: Decodable { let cases: [String: [Case]] }
        let url = Fixtures.root.appendingPathComponent("bf16/rounding.json")
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        XCTAssertEqual(Set(file.cases.keys), ["exact", "ties_to_even", "largest_finite", "overflow_to_infinity", "infinity",
                                             "nan", "denormal", "zero", "random", "random_bits"])
        var checked = 0
        for (name, cases) in file.cases {
            for c in cases {
                let x = Float(bitPattern: c.float_bits), expected = Float(bitPattern: UInt32(c.bf16_bits) << 16)
                let swiftSide = BFloat16Kernels.rounded(x)
                var buffer = [x]
                BFloat16Kernels.round(&buffer, count: 1)   // the Swift loop the ops use
                let context = "\(name): 0x\(String(c.float_bits, radix: 16)) → torch 0x\(String(c.bf16_bits, radix: 16))"
                if expected.isNaN {
                    // PyTorch's NaN bits vary with its code path (0x7FC0 scalar, 0xFFFF vectorized): NaN stays NaN.
                    XCTAssertTrue(swiftSide.isNaN && buffer[0].isNaN, context)
                } else {
                    XCTAssertEqual(swiftSide.bitPattern, expected.bitPattern, context)
                    XCTAssertEqual(buffer[0].bitPattern, expected.bitPattern, context)
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 150)
    }

    /// A Double product of the bf16-rounded operands, and the bound on a Float sum of `k` exact
    /// products: `|error| ≤ (k + 1)·2⁻²⁴·Σ|a·b|` (each of the k additions rounds once, relative 2⁻²⁴).
    private func reference(_ ta: Bool, _ tb: Bool, m: Int, n: Int, k: Int, a: [Float], lda: Int, b: [Float], ldb: Int,
                           c0: [Float]?) -> (value: [Double], bound: [Double]) {
        var value = [Double](repeating: 0, count: m * n), bound = value
        // op(A) as rows and op(B) as columns, rounded once.
        var rowsA = [Double](repeating: 0, count: m * k), columnsB = [Double](repeating: 0, count: n * k)
        for i in 0..<m { for p in 0..<k { rowsA[i * k + p] = Double(BFloat16Kernels.rounded(ta ? a[p * lda + i] : a[i * lda + p])) } }
        for j in 0..<n { for p in 0..<k { columnsB[j * k + p] = Double(BFloat16Kernels.rounded(tb ? b[j * ldb + p] : b[p * ldb + j])) } }
        rowsA.withUnsafeBufferPointer { ra in
            columnsB.withUnsafeBufferPointer { cb in
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = Double(c0?[i * n + j] ?? 0), magnitude = abs(sum)
                        for p in 0..<k {
                            let product = ra[i * k + p] * cb[j * k + p]
                            sum += product; magnitude += abs(product)
                        }
                        value[i * n + j] = sum
                        bound[i * n + j] = Double(k + 1) * 0x1p-24 * magnitude + 1e-30
                    }
                }
            }
        }
        return (value, bound)
    }

    /// Every transpose combination, odd and even `k` (including 1), edges that leave partial 6-row and
    /// 64-column tiles, and products larger than one packing block (k > 128, n > 512, m > 96), with
    /// beta 0 and 1: both kernels stay within the accumulation bound of the Double reference, and the
    /// hardware kernel agrees with the portable one (the same pair order).
    func testGEMMMatchesTheDoubleReferenceOfRoundedOperands() {
        var generator = RandomGenerator(seed: 22)
        let shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 70, 1), (7, 5, 2), (6, 64, 3), (13, 65, 128), (5, 130, 257),
                                         (97, 3, 33), (7, 530, 9), (2, 17, 300)]
        let hardware = BFloat16Kernels.hardwareAvailable
        if !hardware { print("NOTICE: this CPU has no AVX512_BF16; checking the portable bf16 kernel only") }
        var exactAgreement = 0, compared = 0
        for (m, n, k) in shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    for beta: Float in [0, 1] {
                        let lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3
                        let a = (0..<((ta ? k : m) * lda)).map { _ in Float(generator.nextNormal()) }
                        let b = (0..<((tb ? n : k) * ldb)).map { _ in Float(generator.nextNormal()) }
                        let c0 = (0..<(m * n)).map { _ in Float(generator.nextNormal()) }
                        let expected = reference(ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c0: beta == 0 ? nil : c0)
                        var results: [[Float]] = []
                        for useHardware in hardware ? [false, true] : [false] {
                            var c = [Float](repeating: .nan, count: m * ldc)
                            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = c0[i * n + j] } }
                            BFloat16Kernels.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                                                 beta: beta, c: &c, ldc: ldc, hardware: useHardware)
                            var worst = 0.0
                            for i in 0..<m {
                                for j in 0..<n {
                                    worst = max(worst, abs(Double(c[i * ldc + j]) - expected.value[i * n + j]) / expected.bound[i * n + j])
                                }
                                // The padding columns of C are left alone.
                                for j in n..<ldc { XCTAssertTrue(c[i * ldc + j].isNaN, "m=\(m) n=\(n) wrote past column n") }
                            }
                            XCTAssertLessThanOrEqual(worst, 1, "m=\(m) n=\(n) k=\(k) ta=\(ta) tb=\(tb) beta=\(beta) hardware=\(useHardware)")
                            results.append(c)
                        }
                        if results.count == 2 {
                            compared += 1
                            if (0..<m).allSatisfy({ i in (0..<n).allSatisfy { results[0][i * ldc + $0] == results[1][i * ldc + $0] } }) {
                                exactAgreement += 1
                            }
                            for i in 0..<(m * ldc) where !(results[0][i].isNaN && results[1][i].isNaN) {
                                XCTAssertEqual(results[0][i], results[1][i], accuracy: Float(expected.bound.max()!) * 2,
                                               "m=\(m) n=\(n) k=\(k): hardware vs portable")
                            }
                        }
                    }
                }
            }
        }
        if hardware { print("NOTICE: bf16 GEMM: hardware and portable kernels agree bit for bit on \(exactAgreement) of \(compared) products") }
    }

    /// The rounding is real: a GEMM on operands with bits below bf16's 7 fraction bits differs from
    /// the Float product of the same operands, and equals it on already-rounded operands.
    func testGEMMRoundsItsOperands() {
        let a: [Float] = [1 + 0x1p-12, 3], b: [Float] = [1, 1 + 0x1p-10]
        var c: [Float] = [0]
        BFloat16Kernels.gemm(transposeA: false, transposeB: false, m: 1, n: 1, k: 2, a: a, lda: 2, b: b, ldb: 1,
                             beta: 0, c: &c, ldc: 1)
        XCTAssertEqual(c[0], 4)   // 1·1 + 3·1: both perturbations are below bf16's resolution
        XCTAssertNotEqual(a[0] * b[0] + a[1] * b[1], 4)
    }

    /// Splitting over threads changes nothing: every element's sum is one call's, in the same pair order.
    func testParallelSplitGivesTheSameBits() {
        var generator = RandomGenerator(seed: 3)
        for (m, n, k) in [(300, 40, 70), (24, 700, 65)] {
            let a = (0..<(m * k)).map { _ in Float(generator.nextNormal()) }
            let b = (0..<(k * n)).map { _ in Float(generator.nextNormal()) }
            var whole = [Float](repeating: 0, count: m * n), split = whole
            BFloat16Kernels.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n,
                                 beta: 0, c: &whole, ldc: n)
            let (savedThreshold, savedThreads) = (BLASThreading.parallelThreshold, Parallelism.threadCount)
            BLASThreading.parallelThreshold = 1
            Parallelism.setThreadCount(2)
            defer { BLASThreading.parallelThreshold = savedThreshold; Parallelism.setThreadCount(savedThreads) }
            bf16MatrixMultiply(transposeA: false, transposeB: false, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n,
                               beta: 0, c: &split, ldc: n)
            XCTAssertEqual(whole, split, "m=\(m) n=\(n) k=\(k)")
        }
    }

    func testHardwareDetectionIsConsistent() {
        XCTAssertEqual(BFloat16Kernels.usesHardware, BFloat16Kernels.hardwareAvailable && !BFloat16Kernels.disabledByEnvironment)
        #if !arch(x86_64)
        XCTAssertFalse(BFloat16Kernels.hardwareAvailable)
        #endif
        if let flags = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8), flags.contains(" avx512f ") {
            XCTAssertEqual(BFloat16Kernels.hardwareAvailable, flags.contains(" avx512_bf16"), "cpuid and /proc/cpuinfo disagree")
        }
    }
}
