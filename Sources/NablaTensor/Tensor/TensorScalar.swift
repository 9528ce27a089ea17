#if canImport(Accelerate)
import Accelerate

#else
import CBLAS
#endif
import Foundation

/// The element types a ``Tensor`` can hold: `Float` for training, `Double` for gradient checks.
///
/// Each conformance routes the heavy primitives (matrix products, transcendental functions) to the
/// concrete, fully optimized implementation for its type, so generic code pays one witness-table call
/// per kernel rather than per element.
public protocol TensorScalar: BinaryFloatingPoint, Sendable, CustomStringConvertible, LosslessStringConvertible
where RawSignificand: FixedWidthInteger {
    /// The safetensors dtype name of this type (`"F32"` or `"F64"`).
    static var dtypeName: String { get }

    /// `C = alpha · op(A) · op(B) + beta · C`, row-major, where `op(X)` is `X` or `Xᵀ`.
    ///
    /// `A` is `m×k` after `op`, `B` is `k×n` after `op`, `C` is `m×n`; leading dimensions are the row
    /// strides of the matrices as stored. Runs on CBLAS (`sgemm`/`dgemm`).
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// `eˣ`.
    static func exp(_ x: Self) -> Self
    /// The natural logarithm.
    static func log(_ x: Self) -> Self
    /// The hyperbolic tangent.
    static func tanh(_ x: Self) -> Self
    /// The error function `erf(x) = 2/√π·∫₀ˣ e^{−t²} dt`.
    static func erf(_ x: Self) -> Self
    /// `xʸ`.
    static func pow(_ x: Self, _ y: Self) -> Self
}


extension Float: TensorScalar {
    /// `"F32"`.
    public static var dtypeName: String { "F32" }

    /// `C = alpha · op(A) · op(B) + beta · C` with `cblas_sgemm` (OpenBLAS on Linux, Accelerate on macOS).
    @inlinable
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `eˣ` (Foundation's `exp`).
    @inlinable public static func exp(_ x: Float) -> Float { Foundation.exp(x) }
    /// The natural logarithm (Foundation's `log`).
    @inlinable public static func log(_ x: Float) -> Float { Foundation.log(x) }
    /// The hyperbolic tangent (Foundation's `tanh`).
    @inlinable public static func tanh(_ x: Float) -> Float { Foundation.tanh(x) }
    /// The error function (Foundation's `erf`).
    @inlinable public static func erf(_ x: Float) -> Float { Foundation.erf(x) }
    /// `xʸ` (Foundation's `pow`).
    @inlinable public static func pow(_ x: Float, _ y: Float) -> Float { Foundation.pow(x, y) }
}

extension Double: TensorScalar {
    /// `"F64"`.
    public static var dtypeName: String { "F64" }

    /// `C = alpha · op(A) · op(B) + beta · C` with `cblas_dgemm` (OpenBLAS on Linux, Accelerate on macOS).
    @inlinable
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `eˣ` (Foundation's `exp`).
    @inlinable public static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    /// The natural logarithm (Foundation's `log`).
    @inlinable public static func log(_ x: Double) -> Double { Foundation.log(x) }
    /// The hyperbolic tangent (Foundation's `tanh`).
    @inlinable public static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    /// The error function (Foundation's `erf`).
    @inlinable public static func erf(_ x: Double) -> Double { Foundation.erf(x) }
    /// `xʸ` (Foundation's `pow`).
    @inlinable public static func pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
}
