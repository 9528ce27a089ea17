import NablaTensor

/// The per-channel sums of batch normalization over an `(N, C)` input (`BatchNorm1d` after a linear
/// layer): a channel is a *column* of the row-major matrix, so the sums run down columns.
///
/// Each block of columns keeps its partial sums in registers while it walks the rows — 32 columns as
/// four `SIMD8<Double>` accumulators per sum (four independent addition chains), then blocks of 8,
/// then single columns — and every column's sum is still `((0 + v₀) + v₁) + …` in row order, in
/// `Double`: the same bits as the scalar loop, which kept its sums in memory and loaded, added and
/// stored them again for every row.
extension BatchNormKernels {
    /// `mean[c] = Σ_n x[n, c] / N` and `variance[c] = Σ_n (x[n, c] − mean[c])² / N` (biased, the
    /// two-pass formula) for the columns `columns` of the row-major `rows × stride` matrix `x`.
    @inline(__always)
    static func columnMoments<T: TensorScalar & SIMDScalar>(
        _ x: UnsafePointer<T>, rows: Int, stride: Int, columns: Range<Int>,
        mean: UnsafeMutablePointer<Double>, variance: UnsafeMutablePointer<Double>
    ) {
        let scale = 1 / Double(rows)
        forEachColumnBlock(columns) { c, width in
            var s = ColumnSums()
            for n in 0..<rows { s.add(x + (n &* stride &+ c), width: width) }
            let m = s.scaled(by: scale)
            m.store(mean + c, width: width)
            var v = ColumnSums()
            for n in 0..<rows { v.addSquares(x + (n &* stride &+ c), minus: m, width: width) }
            v.scaled(by: scale).store(variance + c, width: width)
        }
    }

    /// `sumDy[c] = Σ_n dy[n, c]` and `sumDyCentered[c] = Σ_n dy[n, c]·(x[n, c] − center[c])` (the
    /// difference in `T`, as the run kernels take it) for the columns `columns` of row-major
    /// `rows × stride` matrices.
    @inline(__always)
    static func columnGradientSums<T: TensorScalar & SIMDScalar>(
        _ dy: UnsafePointer<T>, _ x: UnsafePointer<T>, rows: Int, stride: Int, columns: Range<Int>,
        center: UnsafePointer<T>, sumDy: UnsafeMutablePointer<Double>, sumDyCentered: UnsafeMutablePointer<Double>
    ) {
        forEachColumnBlock(columns) { c, width in
            var a = ColumnSums(), b = ColumnSums()
            for n in 0..<rows {
                let offset = n &* stride &+ c
                a.add(dy + offset, width: width)
                b.addProducts(dy + offset, x + offset, minus: center + c, width: width)
            }
            a.store(sumDy + c, width: width)
            b.store(sumDyCentered + c, width: width)
        }
    }

    /// Calls `body(first, width)` for consecutive blocks of `columns`: widths 32, then 8, then 1.
    @inline(__always)
    static func forEachColumnBlock(_ columns: Range<Int>, _ body: (Int, Int) -> Void) {
        var c = columns.lowerBound
        while c &+ 32 <= columns.upperBound { body(c, 32); c &+= 32 }
        while c &+ 8 <= columns.upperBound { body(c, 8); c &+= 8 }
        while c < columns.upperBound { body(c, 1); c &+= 1 }
    }
}

/// Up to 32 column sums in `Double`: lanes `0..<width` of four `SIMD8<Double>` (width 32 or 8), or
/// lane 0 (width 1).
struct ColumnSums {
    var v0 = SIMD8<Double>(), v1 = SIMD8<Double>(), v2 = SIMD8<Double>(), v3 = SIMD8<Double>()

    @inline(__always)
    static func load<T: TensorScalar & SIMDScalar>(_ p: UnsafePointer<T>, _ i: Int, width: Int) -> SIMD8<Double> {
        width == 1 ? SIMD8<Double>(Double(p[i]), 0, 0, 0, 0, 0, 0, 0)
            : SIMD8<Double>(UnsafeRawPointer(p + i &* 8).loadUnaligned(as: SIMD8<T>.self))
    }

    /// `self += p[0..<width]`.
    @inline(__always)
    mutating func add<T: TensorScalar & SIMDScalar>(_ p: UnsafePointer<T>, width: Int) {
        v0 += Self.load(p, 0, width: width)
        guard width == 32 else { return }
        v1 += Self.load(p, 1, width: width); v2 += Self.load(p, 2, width: width); v3 += Self.load(p, 3, width: width)
    }

    /// `self += (p[k] − mean[k])²` for `k < width`, the difference in `Double`.
    @inline(__always)
    mutating func addSquares<T: TensorScalar & SIMDScalar>(_ p: UnsafePointer<T>, minus mean: ColumnSums, width: Int) {
        let d0 = Self.load(p, 0, width: width) - mean.v0
        v0 += d0 * d0
        guard width == 32 else { return }
        let d1 = Self.load(p, 1, width: width) - mean.v1, d2 = Self.load(p, 2, width: width) - mean.v2
        let d3 = Self.load(p, 3, width: width) - mean.v3
        v1 += d1 * d1; v2 += d2 * d2; v3 += d3 * d3
    }

    /// `self += g[k]·Double(x[k] − center[k])` for `k < width` (the difference rounded to `T`).
    @inline(__always)
    mutating func addProducts<T: TensorScalar & SIMDScalar>(_ g: UnsafePointer<T>, _ x: UnsafePointer<T>,
                                                           minus center: UnsafePointer<T>, width: Int) {
        @inline(__always) func term(_ i: Int) -> SIMD8<Double> {
            if width == 1 { return SIMD8<Double>(Double(g[0]) * Double(x[0] - center[0]), 0, 0, 0, 0, 0, 0, 0) }
            let xv = UnsafeRawPointer(x + i &* 8).loadUnaligned(as: SIMD8<T>.self)
            let cv = UnsafeRawPointer(center + i &* 8).loadUnaligned(as: SIMD8<T>.self)
            return Self.load(g, i, width: width) * SIMD8<Double>(xv - cv)
        }
        v0 += term(0)
        guard width == 32 else { return }
        v1 += term(1); v2 += term(2); v3 += term(3)
    }

    @inline(__always)
    func scaled(by s: Double) -> ColumnSums {
        ColumnSums(v0: v0 * s, v1: v1 * s, v2: v2 * s, v3: v3 * s)
    }

    /// Writes lanes `0..<width` to `p`.
    @inline(__always)
    func store(_ p: UnsafeMutablePointer<Double>, width: Int) {
        if width == 1 { p[0] = v0[0]; return }
        UnsafeMutableRawPointer(p).storeBytes(of: v0, as: SIMD8<Double>.self)
        guard width == 32 else { return }
        UnsafeMutableRawPointer(p + 8).storeBytes(of: v1, as: SIMD8<Double>.self)
        UnsafeMutableRawPointer(p + 16).storeBytes(of: v2, as: SIMD8<Double>.self)
        UnsafeMutableRawPointer(p + 24).storeBytes(of: v3, as: SIMD8<Double>.self)
    }
}
