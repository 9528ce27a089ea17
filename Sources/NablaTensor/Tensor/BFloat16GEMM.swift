import CNablaBF16
import Foundation

/// bf16 rounding and the bf16 matrix product with Float accumulation behind `--precision bf16`
/// (NablaNN's `Precision`), over the C kernels of `CNablaBF16`.
///
/// bf16 keeps a Float's sign, 8-bit exponent and top 7 fraction bits. Nabla stores bf16 values in
/// `Float` (each one exactly representable); ``rounded(_:)`` is PyTorch's `Float -> BFloat16`
/// conversion (c10/util/BFloat16.h, `round_to_nearest_even`): round to nearest with ties to even,
/// NaN stays NaN, finite values past the largest bf16 (3.3895·10³⁸) round to ±infinity.
public enum BFloat16Kernels {
    /// Whether this CPU and OS can run the AVX512_BF16 (`vdpbf16ps`) kernel: cpuid reports AVX512F,
    /// AVX512BW, AVX512VL and AVX512_BF16, and XCR0 enables the ZMM and opmask state. False on arm64.
    public static let hardwareAvailable = nabla_bf16_hardware_available() != 0

    /// Whether the environment sets `NABLA_DISABLE_BF16` to a non-empty value other than `0`: the
    /// hardware kernel is then not used (the command line trains in float32, see
    /// ``usesHardware``), so the fallback can be exercised on any machine.
    public static let disabledByEnvironment: Bool = {
        guard let value = ProcessInfo.processInfo.environment["NABLA_DISABLE_BF16"] else { return false }
        return !value.isEmpty && value != "0"
    }()

    /// Whether bf16 products run on `vdpbf16ps`: ``hardwareAvailable`` and not ``disabledByEnvironment``.
    /// Otherwise they run on the portable C loop, which gives the same bits (the same pair order with
    /// Float accumulation; checked against the hardware in the tests) at scalar speed.
    public static let usesHardware = hardwareAvailable && !disabledByEnvironment

    /// `x` rounded to the nearest bf16 value (ties to even), as a Float.
    @inlinable
    public static func rounded(_ x: Float) -> Float {
        // Inline copy of nabla_bf16_round, so the element loops below vectorize.
        let bits = x.bitPattern
        if bits & 0x7FFF_FFFF > 0x7F80_0000 { return Float(bitPattern: (bits | 0x0040_0000) & 0xFFFF_0000) }
        return Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
    }

    /// Rounds `count` Floats at `values` in place to bf16.
    public static func round(_ values: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { values[i] = rounded(values[i]) }
    }

    /// Writes `count` Floats from `source`, rounded to bf16, to `destination` (one pass; the buffers
    /// may not overlap).
    public static func round(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] = rounded(source[i]) }
    }

    /// `C = op(A)·op(B) + β·C` (row-major, `β` 0 or 1) on one thread, with A and B rounded to bf16
    /// and Float sums (see `nabla_bf16_gemm`); `hardware` picks `vdpbf16ps` (default: ``usesHardware``).
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, hardware: Bool = usesHardware) {
        precondition(beta == 0 || beta == 1, "bf16 gemm: beta must be 0 or 1, got \(beta)")
        precondition(!hardware || hardwareAvailable, "bf16 gemm: this CPU has no AVX512_BF16")
        nabla_bf16_gemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, a, lda, b, ldb, beta, c, ldc, hardware ? 1 : 0)
    }

    /// The portable element-by-element reference of ``gemm(transposeA:transposeB:m:n:k:a:lda:b:ldb:beta:c:ldc:hardware:)``.
    public static func referenceGEMM(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        nabla_bf16_gemm_reference(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, a, lda, b, ldb, beta, c, ldc)
    }
}

/// ``BFloat16Kernels/gemm(transposeA:transposeB:m:n:k:a:lda:b:ldb:beta:c:ldc:hardware:)`` split over
/// ``Parallelism/threadCount`` parts along the larger of `m` and `n` (whole 64-wide tiles), exactly as
/// ``matrixMultiply(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` splits a Float product:
/// each output element's sum is computed by one call in a fixed order, so the bits do not depend on
/// the thread count at all (every part runs the same pair order).
package func bf16MatrixMultiply(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, splitAcrossCores: Bool = true
) {
    forEachProductPart(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc,
                       tile: 64, parallel: splitAcrossCores) { rows, columns, aOffset, bOffset, cOffset in
        BFloat16Kernels.gemm(transposeA: transposeA, transposeB: transposeB, m: rows.count, n: columns.count, k: k,
                             a: a + aOffset, lda: lda, b: b + bOffset, ldb: ldb, beta: beta, c: c + cOffset, ldc: ldc)
    }
}
