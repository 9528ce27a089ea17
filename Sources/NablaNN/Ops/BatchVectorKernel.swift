/// The register tiles of the batch-vector input gradient (`BatchVectorInputGradient.swift`): `mc` input
/// channels × `nb` vectors of samples of one input pixel,
///
///     acc[m][v] = Σ_{r < rows} Σ_{q < columns} Σ_{o < depth} a[r][q][o][m] · g[r·rowStep + q·columnStep + o·S + v·L],
///
/// with `S = nb·L`, `a = weights` (rows `weightRowStep` apart, the columns of a row and their `depth·mc`
/// weights contiguous) and `g = gradient`, summed in that order from zero with one fused multiply-add
/// per term. Writes `acc[m][v]` to `output + m·S + v·L`.
enum BatchVectorKernel {
    /// The walk over one pixel's valid taps.
    struct Taps {
        /// Kernel rows and columns that read the upstream gradient, and its channels (`O`).
        var rows: Int, columns: Int, depth: Int
        /// Elements from one kernel row's (column's) first upstream value to the next's.
        var rowStep: Int, columnStep: Int
        /// Elements from one kernel row's weights to the next's.
        var weightRowStep: Int
    }

    /// 6 channels × 4 vectors: 24 accumulators, 4 gradient vectors and a broadcast weight fill a
    /// 32-register file.
    @inline(never)
    static func tile6x4<V: SIMD>(_ taps: Taps, gradient: UnsafePointer<V.Scalar>, weights: UnsafePointer<V.Scalar>,
                                 output: UnsafeMutablePointer<V.Scalar>, _: V.Type) where V.Scalar: BinaryFloatingPoint {
        let n = V.scalarCount, step = 4 &* n
        var s00 = V(), s01 = V(), s02 = V(), s03 = V(), s10 = V(), s11 = V(), s12 = V(), s13 = V()
        var s20 = V(), s21 = V(), s22 = V(), s23 = V(), s30 = V(), s31 = V(), s32 = V(), s33 = V()
        var s40 = V(), s41 = V(), s42 = V(), s43 = V(), s50 = V(), s51 = V(), s52 = V(), s53 = V()
        // The tap loops are written out in each tile: a shared walk taking the step as a closure kept the
        // accumulators in memory (2.3× slower).
        var rowGradient = gradient, rowWeights = weights
        for _ in 0..<taps.rows {
            var columnGradient = rowGradient, a = rowWeights
            for _ in 0..<taps.columns {
                var g = columnGradient
                for _ in 0..<taps.depth {
                    let g0: V = loadVector(g), g1: V = loadVector(g + n), g2: V = loadVector(g + 2 &* n), g3: V = loadVector(g + 3 &* n)
                    var b = V(repeating: a[0])
                    s00 = s00.addingProduct(g0, b); s01 = s01.addingProduct(g1, b); s02 = s02.addingProduct(g2, b); s03 = s03.addingProduct(g3, b)
                    b = V(repeating: a[1])
                    s10 = s10.addingProduct(g0, b); s11 = s11.addingProduct(g1, b); s12 = s12.addingProduct(g2, b); s13 = s13.addingProduct(g3, b)
                    b = V(repeating: a[2])
                    s20 = s20.addingProduct(g0, b); s21 = s21.addingProduct(g1, b); s22 = s22.addingProduct(g2, b); s23 = s23.addingProduct(g3, b)
                    b = V(repeating: a[3])
                    s30 = s30.addingProduct(g0, b); s31 = s31.addingProduct(g1, b); s32 = s32.addingProduct(g2, b); s33 = s33.addingProduct(g3, b)
                    b = V(repeating: a[4])
                    s40 = s40.addingProduct(g0, b); s41 = s41.addingProduct(g1, b); s42 = s42.addingProduct(g2, b); s43 = s43.addingProduct(g3, b)
                    b = V(repeating: a[5])
                    s50 = s50.addingProduct(g0, b); s51 = s51.addingProduct(g1, b); s52 = s52.addingProduct(g2, b); s53 = s53.addingProduct(g3, b)
                    g += step; a += 6
                }
                columnGradient += taps.columnStep
            }
            rowGradient += taps.rowStep; rowWeights += taps.weightRowStep
        }
        var o = output
        storeVector(s00, o); storeVector(s01, o + n); storeVector(s02, o + 2 &* n); storeVector(s03, o + 3 &* n); o += step
        storeVector(s10, o); storeVector(s11, o + n); storeVector(s12, o + 2 &* n); storeVector(s13, o + 3 &* n); o += step
        storeVector(s20, o); storeVector(s21, o + n); storeVector(s22, o + 2 &* n); storeVector(s23, o + 3 &* n); o += step
        storeVector(s30, o); storeVector(s31, o + n); storeVector(s32, o + 2 &* n); storeVector(s33, o + 3 &* n); o += step
        storeVector(s40, o); storeVector(s41, o + n); storeVector(s42, o + 2 &* n); storeVector(s43, o + 3 &* n); o += step
        storeVector(s50, o); storeVector(s51, o + n); storeVector(s52, o + 2 &* n); storeVector(s53, o + 3 &* n)
    }

    /// 6 channels × 2 vectors: 12 accumulators, 2 gradient vectors and a broadcast weight fit a
    /// 16-register file.
    @inline(never)
    static func tile6x2<V: SIMD>(_ taps: Taps, gradient: UnsafePointer<V.Scalar>, weights: UnsafePointer<V.Scalar>,
                                 output: UnsafeMutablePointer<V.Scalar>, _: V.Type) where V.Scalar: BinaryFloatingPoint {
        let n = V.scalarCount, step = 2 &* n
        var s00 = V(), s01 = V(), s10 = V(), s11 = V(), s20 = V(), s21 = V()
        var s30 = V(), s31 = V(), s40 = V(), s41 = V(), s50 = V(), s51 = V()
        var rowGradient = gradient, rowWeights = weights
        for _ in 0..<taps.rows {
            var columnGradient = rowGradient, a = rowWeights
            for _ in 0..<taps.columns {
                var g = columnGradient
                for _ in 0..<taps.depth {
                    let g0: V = loadVector(g), g1: V = loadVector(g + n)
                    var b = V(repeating: a[0])
                    s00 = s00.addingProduct(g0, b); s01 = s01.addingProduct(g1, b)
                    b = V(repeating: a[1])
                    s10 = s10.addingProduct(g0, b); s11 = s11.addingProduct(g1, b)
                    b = V(repeating: a[2])
                    s20 = s20.addingProduct(g0, b); s21 = s21.addingProduct(g1, b)
                    b = V(repeating: a[3])
                    s30 = s30.addingProduct(g0, b); s31 = s31.addingProduct(g1, b)
                    b = V(repeating: a[4])
                    s40 = s40.addingProduct(g0, b); s41 = s41.addingProduct(g1, b)
                    b = V(repeating: a[5])
                    s50 = s50.addingProduct(g0, b); s51 = s51.addingProduct(g1, b)
                    g += step; a += 6
                }
                columnGradient += taps.columnStep
            }
            rowGradient += taps.rowStep; rowWeights += taps.weightRowStep
        }
        var o = output
        storeVector(s00, o); storeVector(s01, o + n); o += step
        storeVector(s10, o); storeVector(s11, o + n); o += step
        storeVector(s20, o); storeVector(s21, o + n); o += step
        storeVector(s30, o); storeVector(s31, o + n); o += step
        storeVector(s40, o); storeVector(s41, o + n); o += step
        storeVector(s50, o); storeVector(s51, o + n)
    }
}
