#if !canImport(Accelerate)
import CBLAS
#endif
import Dispatch

/// Matrix products split over Nabla's own threads, with OpenBLAS kept single-threaded.
///
/// OpenBLAS's thread pool busy-waits (`sched_yield`) for a while after every multi-threaded call.
/// Nabla's other kernels (convolution, normalization, pooling, optimizers) run on Dispatch workers
/// in between, so on a machine with as many busy threads as cores those spinning BLAS threads take
/// CPU time away from the real work; measured on the `convnet` step (2 cores) they were ~15 % of all
/// samples. Nabla therefore sets OpenBLAS to one thread and splits each large product itself.
///
/// The split partitions the *output* — rows of `C` or columns of `C`, in whole 16-wide tiles — into
/// parts that depend only on the shape and the thread count, and every output element's `k`-sum is
/// computed by one single-threaded BLAS call in its fixed blocked order: for a given thread count the
/// result is the same on every run. (Another thread count can change the last bits, since BLAS
/// handles a part's edge rows with other micro-kernels.)
public enum BLASThreading {
    /// Products with fewer multiply-adds than this run as one BLAS call (a thread hop costs about as
    /// much as 2¹⁹ multiply-adds on one core here).
    nonisolated(unsafe) public static var parallelThreshold = 1 << 19

    /// Makes OpenBLAS single-threaded, once per process (idempotent).
    package static func useSingleThreadedBLAS() { _ = singleThreaded }

    /// Runs `body` with OpenBLAS's own thread pool set to `count` threads, then makes it
    /// single-threaded again: for measuring OpenBLAS's threading against Nabla's (`nabla bench --kernels`).
    public static func withOpenBLASThreads<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        useSingleThreadedBLAS()
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(Swift.max(1, count)))
        defer { openblas_set_num_threads(1) }
        #endif
        return try body()
    }

    private static let singleThreaded: Void = {
        #if !canImport(Accelerate)
        openblas_set_num_threads(1)
        #endif
    }()
}

/// `C = α·op(A)·op(B) + β·C` in row-major storage (CBLAS's `gemm` with `CblasRowMajor`), split into
/// up to ``Parallelism/threadCount`` parts along the larger of `m` and `n` when the product has at
/// least ``BLASThreading/parallelThreshold`` multiply-adds. `op(X)` is `Xᵀ` when the flag is set;
/// `lda`, `ldb`, `ldc` are the row strides of the stored matrices.
///
/// `preparingEachPart(rows, columns)` runs on the thread of each part just before its product, with
/// the part's rows and columns of `C`: for writing what a `β = 1` product adds into (a linear map's
/// bias) on the core that is about to read it.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
package func matrixMultiply<Scalar: TensorScalar>(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Scalar, a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
    beta: Scalar, c: UnsafeMutablePointer<Scalar>, ldc: Int,
    preparingEachPart: (_ rows: Range<Int>, _ columns: Range<Int>) -> Void = { _, _ in }
) {
    BLASThreading.useSingleThreadedBLAS()
    forEachProductPart(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc,
                       tile: 16, parallel: true) { rows, columns, aOffset, bOffset, cOffset in
        preparingEachPart(rows, columns)
        blasProduct(transposeA: transposeA, transposeB: transposeB, m: rows.count, n: columns.count, k: k, alpha: alpha,
                    a: a + aOffset, lda: lda, b: b + bOffset, ldb: ldb, beta: beta, c: c + cOffset, ldc: ldc)
    }
}

/// One BLAS call `C = α·op(A)·op(B) + β·C` on the calling thread (``TensorScalar/gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``),
/// except that `β = 0` is done as a zero fill of `C` with vector stores followed by the product with
/// `β = 1`.
///
/// Why: before it multiplies, OpenBLAS applies β to `C` in a separate pass (`gemm_beta`). In r0.3.21
/// the Zen kernel set uses its generic C loop, which zeroes one `Float` per `movss` store — 4 bytes
/// per store where a 256-bit store writes 32 (Haswell's and SkylakeX's passes store whole vectors;
/// there this fill replaces one vector pass with another). In the `mlp` step that pass was 9.6% of a
/// two-thread profile (AMD Zen 3: the weight gradients, 512×784 and 512×512, and the input
/// gradients). The result is the same bits: with `β = 0` each element is `0 + α·Σ`, which is
/// what the product adds into the zeroed `C` (a `−0` sum gives `+0` both ways, and nothing in `C` is
/// read before it is zeroed, so a `NaN` left there is overwritten as `β = 0` promises).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
package func blasProduct<Scalar: TensorScalar>(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Scalar, a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
    beta: Scalar, c: UnsafeMutablePointer<Scalar>, ldc: Int
) {
    var beta = beta
    if beta == 0 && m > 0 && n > 0 {
        // Row by row even when `C` is contiguous: a fill of many megabytes could take glibc's
        // non-temporal `memset`, which would send `C` out of the cache just before the product reads it.
        for row in 0..<m { (c + row * ldc).update(repeating: 0, count: n) }
        beta = 1
    }
    Scalar.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
}

/// Splits `C = op(A)·op(B)` (`m × n`, sums `k` deep, row-major, `op(X) = Xᵀ` when the flag is set) into
/// up to ``Parallelism/threadCount`` parts along the larger of `m` and `n`, in whole tiles of `tile`
/// rows or columns, when `parallel` and the product has at least ``BLASThreading/parallelThreshold``
/// multiply-adds; else one part. Calls `body(rows, columns, aOffset, bOffset, cOffset)` for each
/// non-empty part (on ``Parallelism/forEach(parts:_:)``): the part's rows and columns of C, and the
/// offsets of its rows of op(A) and C or its columns of op(B) and C. Each output element's sum stays in one part, so the bits do not
/// depend on how many parts run.
package func forEachProductPart(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int, tile: Int, parallel: Bool,
    _ body: (_ rows: Range<Int>, _ columns: Range<Int>, _ aOffset: Int, _ bOffset: Int, _ cOffset: Int) -> Void
) {
    let splitRows = m >= n
    let extent = splitRows ? m : n
    let tiles = (extent + tile - 1) / tile
    let parts = !parallel || m * n * k < BLASThreading.parallelThreshold ? 1 : Swift.min(Parallelism.threadCount, tiles)
    if parts <= 1 {
        body(0..<m, 0..<n, 0, 0, 0)
        return
    }
    Parallelism.forEach(parts: parts) { part in
        let lower = Swift.min(extent, tiles * part / parts * tile)
        let upper = Swift.min(extent, tiles * (part + 1) / parts * tile)
        if lower >= upper { return }
        if splitRows {
            // Rows lower..<upper of op(A) and C: op(A) = A stores them as rows, Aᵀ as columns.
            body(lower..<upper, 0..<n, transposeA ? lower : lower * lda, 0, lower * ldc)
        } else {
            // Columns lower..<upper of op(B) and C: op(B) = B stores them as columns, Bᵀ as rows.
            body(0..<m, lower..<upper, 0, transposeB ? lower * ldb : lower, lower)
        }
    }
}
