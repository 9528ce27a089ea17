import Foundation
import XCTest
@testable import NablaTensor
import CNablaBF16
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

    /// `padPairs` against its definition, element by element, for odd and even channel counts, with and
    /// without padding, widths that are and are not a multiple of 16, and NaN/infinity/ties; the AVX-512
    /// loop and the portable one give the same words.
    func testPadPairsWritesTheDocumentedWords() {
        var generator = RandomGenerator(seed: 3)
        for (channels, height, width, ph, pw) in [(1, 3, 5, 0, 0), (3, 4, 17, 1, 2), (4, 2, 16, 2, 1), (5, 1, 33, 0, 3)] {
            var x = (0..<channels * height * width).map { _ in Float(generator.nextNormal()) }
            x[0] = .nan; x[x.count - 1] = .infinity
            if x.count > 2 { x[1] = Float(bitPattern: 0x3F80_8000) }   // a tie: rounds to even (down)
            let hp = height + 2 * ph, wp = width + 2 * pw, planes = (channels + 1) / 2 * hp * wp
            let count = planes + 37
            var expected = [UInt32](repeating: 0, count: count)
            for c in 0..<channels {
                for h in 0..<height {
                    for w in 0..<width {
                        let word = (c / 2) * hp * wp + (h + ph) * wp + w + pw
                        expected[word] |= UInt32(nabla_bf16_from_float(x[(c * height + h) * width + w])) << (16 * UInt32(c % 2))
                    }
                }
            }
            for hardware in BFloat16Kernels.hardwareAvailable ? [false, true] : [false] {
                var out = [UInt32](repeating: 0xDEAD_BEEF, count: count)
                BFloat16Kernels.padPairs(x, channels: channels, height: height, width: width, paddingHeight: ph,
                                         paddingWidth: pw, into: &out, count: count, hardware: hardware)
                XCTAssertEqual(out, expected, "C=\(channels) \(height)×\(width) padding (\(ph), \(pw)) hardware \(hardware)")
            }
        }
        XCTAssertEqual(BFloat16Kernels.pair(1, -2), 0xC000_3F80)
    }

    /// The weight gradient's two layouts against their definitions (sliding pairs never reach into the
    /// next row; odd widths leave the last pair's high half zero); hardware and portable loops agree.
    func testSlidingAndPixelPairLayouts() {
        var generator = RandomGenerator(seed: 5)
        for (channels, height, width, ph, pw) in [(1, 2, 3, 0, 0), (2, 3, 17, 1, 1), (3, 2, 33, 2, 3), (2, 1, 16, 0, 2)] {
            let x = (0..<channels * height * width).map { _ in Float(generator.nextNormal()) }
            let hp = height + 2 * ph, wp = width + 2 * pw, count = channels * hp * wp + 21
            func padded(_ c: Int, _ h: Int, _ w: Int) -> Float {
                let (r, k) = (h - ph, w - pw)
                return r >= 0 && r < height && k >= 0 && k < width ? x[(c * height + r) * width + k] : 0
            }
            var expected = [UInt32](repeating: 0, count: count)
            for c in 0..<channels {
                for h in 0..<hp {
                    for w in 0..<wp {
                        expected[(c * hp + h) * wp + w] = BFloat16Kernels.pair(padded(c, h, w), w + 1 < wp ? padded(c, h, w + 1) : 0)
                    }
                }
            }
            // The upstream gradient layout of the same numbers read as channels × height × width.
            let pairs = (width + 1) / 2, stride = (channels + 15) / 16 * 16 + 16
            var expectedPairs = [UInt32](repeating: 0, count: height * pairs * stride)
            for h in 0..<height {
                for q in 0..<pairs {
                    for o in 0..<channels {
                        let row = (o * height + h) * width
                        expectedPairs[(h * pairs + q) * stride + o] = BFloat16Kernels.pair(x[row + 2 * q], 2 * q + 1 < width ? x[row + 2 * q + 1] : 0)
                    }
                }
            }
            for hardware in BFloat16Kernels.hardwareAvailable ? [false, true] : [false] {
                var out = [UInt32](repeating: 0xDEAD_BEEF, count: count)
                BFloat16Kernels.slidingPairs(x, channels: channels, height: height, width: width, paddingHeight: ph,
                                             paddingWidth: pw, into: &out, count: count, hardware: hardware)
                XCTAssertEqual(out, expected, "sliding C=\(channels) \(height)×\(width) padding (\(ph), \(pw)) hardware \(hardware)")
                var transposed = [UInt32](repeating: 0xDEAD_BEEF, count: height * pairs * stride)
                BFloat16Kernels.transposePixelPairs(x, channels: channels, height: height, width: width, into: &transposed,
                                                    stride: stride, hardware: hardware)
                XCTAssertEqual(transposed, expectedPairs, "pixel pairs C=\(channels) \(height)×\(width) hardware \(hardware)")
            }
        }
    }

    /// One tile of each shape against a Double sum of the rounded pair products (which are exact): equal
    /// up to Float rounding of the running sums.
    func testDirectTileComputesPairDotProducts() throws {
        try XCTSkipUnless(BFloat16Kernels.hardwareAvailable, "no AVX512_BF16 on this CPU")
        var generator = RandomGenerator(seed: 4)
        for (mr, nv) in BFloat16Kernels.directTiles {
            let depth = 7, span = 300
            let weightFloats = (0..<depth * mr * 2).map { _ in Float(generator.nextNormal()) }
            let inputFloats = (0..<span * 2).map { _ in Float(generator.nextNormal()) }
            let weights = (0..<depth * mr).map { BFloat16Kernels.pair(weightFloats[2 * $0], weightFloats[2 * $0 + 1]) }
            let input = (0..<span).map { BFloat16Kernels.pair(inputFloats[2 * $0], inputFloats[2 * $0 + 1]) }
            let taps = [0, 5, 17, 40, 41, 99, 3]
            let inputOffsets = (0..<nv).map { $0 * 19 }, outputOffsets = (0..<nv).map { $0 * 16 }
            let initial = (0..<mr).map { Float($0) - 2.5 }
            let ldc = nv * 16 + 3
            var output = [Float](repeating: .nan, count: mr * ldc)
            BFloat16Kernels.directTile(mr: mr, nv: nv, depth: depth, weights: weights, taps: taps, input: input,
                                       inputOffsets: inputOffsets, output: &output, outputOffsets: outputOffsets, ldc: ldc,
                                       initial: initial)
            for m in 0..<mr {
                for v in 0..<nv {
                    for lane in 0..<16 {
                        var sum = Double(initial[m])
                        for k in 0..<depth {
                            let word = inputOffsets[v] + taps[k] + lane
                            for half in 0..<2 {
                                let w = BFloat16Kernels.rounded(weightFloats[2 * (k * mr + m) + half])
                                sum += Double(w) * Double(BFloat16Kernels.rounded(inputFloats[2 * word + half]))
                            }
                        }
                        let got = output[m * ldc + outputOffsets[v] + lane]
                        XCTAssertEqual(Double(got), sum, accuracy: 1e-5 * max(1, abs(sum)), "\(mr)×\(nv) m=\(m) v=\(v) lane=\(lane)")
                    }
                }
            }
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
