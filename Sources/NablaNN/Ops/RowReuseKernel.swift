/// The register tiles of the single-channel correlation (`RowReuseCorrelation.swift`): ten or eight
/// output rows of one channel, one vector of `L` pixels each, for a kernel of height 5 or 3 — and four
/// rows, for the last block of a plane whose height leaves at most four (on 16 registers, with kernel
/// height 5, four rows of two vectors).
///
/// Output row `r` of the tile takes kernel row `i` from input row `r + i`, so input row `m` meets
/// every output row `r = m − i` of the tile: one load of it serves up to `kH` multiply-adds, each with
/// its own broadcast weight `W[c, m − r, j]`. Per input channel `c` and kernel column `j` an `R`-row
/// tile loads `R + kH − 1` vectors for `R·kH` multiply-adds (12 for 40 with `R = 8, kH = 5`) — against
/// one load per multiply-add for a one-row tile of the general kernels. Registers: `R` accumulators,
/// `kH` weights and the loaded rows; the 10-row tiles are for 32-register files (with 16, LLVM's
/// schedule keeps the loaded rows live and spills; there 8-Float vectors take the C tile of
/// `RowReuseNativeKernel.swift`, which gives the same bits).
///
/// `y_r = initial + Σ_c Σ_j Σ_i W[c, i, j]·x[c·planeStride + (r + i)·rowPitch + j·dW + ·]`, summed in
/// that order (`c`, then `j`, then `i`) with one fused multiply-add per tap; `weights` is packed
/// `[C][kW][kH]`. Rows `r` are stored `outputPitch` apart in increasing order (so that a vector that
/// runs past its row is overwritten by the next row's, as the driver relies on).
enum RowReuseKernel {
    /// Ten rows, kernel height 5.
    @inline(never)
    static func rows10Height5<V: SIMD>(
        channels: Int, kernelWidth: Int, dilationWidth: Int, weights: UnsafePointer<V.Scalar>,
        input: UnsafePointer<V.Scalar>, planeStride: Int, rowPitch: Int,
        output: UnsafeMutablePointer<V.Scalar>, outputPitch: Int, initial: V.Scalar, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var s0 = V(repeating: initial), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0, s8 = s0, s9 = s0
        var w = weights
        for c in 0..<channels {
            let plane = input + c &* planeStride
            for j in 0..<kernelWidth {
                var row = plane + j &* dilationWidth
                let w0 = V(repeating: w[0]), w1 = V(repeating: w[1]), w2 = V(repeating: w[2])
                let w3 = V(repeating: w[3]), w4 = V(repeating: w[4])
                w += 5
                var x: V = loadVector(row)                     // input row 0
                s0 = s0.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 1
                s0 = s0.addingProduct(w1, x); s1 = s1.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 2
                s0 = s0.addingProduct(w2, x); s1 = s1.addingProduct(w1, x); s2 = s2.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 3
                s0 = s0.addingProduct(w3, x); s1 = s1.addingProduct(w2, x); s2 = s2.addingProduct(w1, x)
                s3 = s3.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 4
                s0 = s0.addingProduct(w4, x); s1 = s1.addingProduct(w3, x); s2 = s2.addingProduct(w2, x)
                s3 = s3.addingProduct(w1, x); s4 = s4.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 5
                s1 = s1.addingProduct(w4, x); s2 = s2.addingProduct(w3, x); s3 = s3.addingProduct(w2, x)
                s4 = s4.addingProduct(w1, x); s5 = s5.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 6
                s2 = s2.addingProduct(w4, x); s3 = s3.addingProduct(w3, x); s4 = s4.addingProduct(w2, x)
                s5 = s5.addingProduct(w1, x); s6 = s6.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 7
                s3 = s3.addingProduct(w4, x); s4 = s4.addingProduct(w3, x); s5 = s5.addingProduct(w2, x)
                s6 = s6.addingProduct(w1, x); s7 = s7.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 8
                s4 = s4.addingProduct(w4, x); s5 = s5.addingProduct(w3, x); s6 = s6.addingProduct(w2, x)
                s7 = s7.addingProduct(w1, x); s8 = s8.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 9
                s5 = s5.addingProduct(w4, x); s6 = s6.addingProduct(w3, x); s7 = s7.addingProduct(w2, x)
                s8 = s8.addingProduct(w1, x); s9 = s9.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 10
                s6 = s6.addingProduct(w4, x); s7 = s7.addingProduct(w3, x); s8 = s8.addingProduct(w2, x)
                s9 = s9.addingProduct(w1, x)
                row += rowPitch; x = loadVector(row)             // 11
                s7 = s7.addingProduct(w4, x); s8 = s8.addingProduct(w3, x); s9 = s9.addingProduct(w2, x)
                row += rowPitch; x = loadVector(row)             // 12
                s8 = s8.addingProduct(w4, x); s9 = s9.addingProduct(w3, x)
                row += rowPitch; x = loadVector(row)             // 13
                s9 = s9.addingProduct(w4, x)
            }
        }
        storeRows(s0, s1, s2, s3, s4, s5, s6, s7, output, outputPitch)
        storeVector(s8, output + 8 &* outputPitch); storeVector(s9, output + 9 &* outputPitch)
    }

    /// Ten rows, kernel height 3.
    @inline(never)
    static func rows10Height3<V: SIMD>(
        channels: Int, kernelWidth: Int, dilationWidth: Int, weights: UnsafePointer<V.Scalar>,
        input: UnsafePointer<V.Scalar>, planeStride: Int, rowPitch: Int,
        output: UnsafeMutablePointer<V.Scalar>, outputPitch: Int, initial: V.Scalar, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var s0 = V(repeating: initial), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0, s8 = s0, s9 = s0
        var w = weights
        for c in 0..<channels {
            let plane = input + c &* planeStride
            for j in 0..<kernelWidth {
                var row = plane + j &* dilationWidth
                let w0 = V(repeating: w[0]), w1 = V(repeating: w[1]), w2 = V(repeating: w[2])
                w += 3
                var x: V = loadVector(row)                     // input row 0
                s0 = s0.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 1
                s0 = s0.addingProduct(w1, x); s1 = s1.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 2
                s0 = s0.addingProduct(w2, x); s1 = s1.addingProduct(w1, x); s2 = s2.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 3
                s1 = s1.addingProduct(w2, x); s2 = s2.addingProduct(w1, x); s3 = s3.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 4
                s2 = s2.addingProduct(w2, x); s3 = s3.addingProduct(w1, x); s4 = s4.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 5
                s3 = s3.addingProduct(w2, x); s4 = s4.addingProduct(w1, x); s5 = s5.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 6
                s4 = s4.addingProduct(w2, x); s5 = s5.addingProduct(w1, x); s6 = s6.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 7
                s5 = s5.addingProduct(w2, x); s6 = s6.addingProduct(w1, x); s7 = s7.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 8
                s6 = s6.addingProduct(w2, x); s7 = s7.addingProduct(w1, x); s8 = s8.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 9
                s7 = s7.addingProduct(w2, x); s8 = s8.addingProduct(w1, x); s9 = s9.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 10
                s8 = s8.addingProduct(w2, x); s9 = s9.addingProduct(w1, x)
                row += rowPitch; x = loadVector(row)             // 11
                s9 = s9.addingProduct(w2, x)
            }
        }
        storeRows(s0, s1, s2, s3, s4, s5, s6, s7, output, outputPitch)
        storeVector(s8, output + 8 &* outputPitch); storeVector(s9, output + 9 &* outputPitch)
    }

    /// Eight rows, kernel height 5.
    @inline(never)
    static func rows8Height5<V: SIMD>(
        channels: Int, kernelWidth: Int, dilationWidth: Int, weights: UnsafePointer<V.Scalar>,
        input: UnsafePointer<V.Scalar>, planeStride: Int, rowPitch: Int,
        output: UnsafeMutablePointer<V.Scalar>, outputPitch: Int, initial: V.Scalar, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var s0 = V(repeating: initial), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0
        var w = weights
        for c in 0..<channels {
            let plane = input + c &* planeStride
            for j in 0..<kernelWidth {
                var row = plane + j &* dilationWidth
                let w0 = V(repeating: w[0]), w1 = V(repeating: w[1]), w2 = V(repeating: w[2])
                let w3 = V(repeating: w[3]), w4 = V(repeating: w[4])
                w += 5
                var x: V = loadVector(row)                     // input row 0
                s0 = s0.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 1
                s0 = s0.addingProduct(w1, x); s1 = s1.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 2
                s0 = s0.addingProduct(w2, x); s1 = s1.addingProduct(w1, x); s2 = s2.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 3
                s0 = s0.addingProduct(w3, x); s1 = s1.addingProduct(w2, x); s2 = s2.addingProduct(w1, x)
                s3 = s3.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 4
                s0 = s0.addingProduct(w4, x); s1 = s1.addingProduct(w3, x); s2 = s2.addingProduct(w2, x)
                s3 = s3.addingProduct(w1, x); s4 = s4.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 5
                s1 = s1.addingProduct(w4, x); s2 = s2.addingProduct(w3, x); s3 = s3.addingProduct(w2, x)
                s4 = s4.addingProduct(w1, x); s5 = s5.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 6
                s2 = s2.addingProduct(w4, x); s3 = s3.addingProduct(w3, x); s4 = s4.addingProduct(w2, x)
                s5 = s5.addingProduct(w1, x); s6 = s6.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 7
                s3 = s3.addingProduct(w4, x); s4 = s4.addingProduct(w3, x); s5 = s5.addingProduct(w2, x)
                s6 = s6.addingProduct(w1, x); s7 = s7.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 8
                s4 = s4.addingProduct(w4, x); s5 = s5.addingProduct(w3, x); s6 = s6.addingProduct(w2, x)
                s7 = s7.addingProduct(w1, x)
                row += rowPitch; x = loadVector(row)             // 9
                s5 = s5.addingProduct(w4, x); s6 = s6.addingProduct(w3, x); s7 = s7.addingProduct(w2, x)
                row += rowPitch; x = loadVector(row)             // 10
                s6 = s6.addingProduct(w4, x); s7 = s7.addingProduct(w3, x)
                row += rowPitch; x = loadVector(row)             // 11
                s7 = s7.addingProduct(w4, x)
            }
        }
        storeRows(s0, s1, s2, s3, s4, s5, s6, s7, output, outputPitch)
    }

    /// Eight rows, kernel height 3.
    @inline(never)
    static func rows8Height3<V: SIMD>(
        channels: Int, kernelWidth: Int, dilationWidth: Int, weights: UnsafePointer<V.Scalar>,
        input: UnsafePointer<V.Scalar>, planeStride: Int, rowPitch: Int,
        output: UnsafeMutablePointer<V.Scalar>, outputPitch: Int, initial: V.Scalar, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var s0 = V(repeating: initial), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0
        var w = weights
        for c in 0..<channels {
            let plane = input + c &* planeStride
            for j in 0..<kernelWidth {
                var row = plane + j &* dilationWidth
                let w0 = V(repeating: w[0]), w1 = V(repeating: w[1]), w2 = V(repeating: w[2])
                w += 3
                var x: V = loadVector(row)                     // input row 0
                s0 = s0.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 1
                s0 = s0.addingProduct(w1, x); s1 = s1.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 2
                s0 = s0.addingProduct(w2, x); s1 = s1.addingProduct(w1, x); s2 = s2.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 3
                s1 = s1.addingProduct(w2, x); s2 = s2.addingProduct(w1, x); s3 = s3.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 4
                s2 = s2.addingProduct(w2, x); s3 = s3.addingProduct(w1, x); s4 = s4.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 5
                s3 = s3.addingProduct(w2, x); s4 = s4.addingProduct(w1, x); s5 = s5.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 6
                s4 = s4.addingProduct(w2, x); s5 = s5.addingProduct(w1, x); s6 = s6.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 7
                s5 = s5.addingProduct(w2, x); s6 = s6.addingProduct(w1, x); s7 = s7.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 8
                s6 = s6.addingProduct(w2, x); s7 = s7.addingProduct(w1, x)
                row += rowPitch; x = loadVector(row)             // 9
                s7 = s7.addingProduct(w2, x)
            }
        }
        storeRows(s0, s1, s2, s3, s4, s5, s6, s7, output, outputPitch)
    }

    /// Four rows, kernel height 5: the last block of a plane whose height leaves at most four rows.
    @inline(never)
    static func rows4Height5<V: SIMD>(
        channels: Int, kernelWidth: Int, dilationWidth: Int, weights: UnsafePointer<V.Scalar>,
        input: UnsafePointer<V.Scalar>, planeStride: Int, rowPitch: Int,
        output: UnsafeMutablePointer<V.Scalar>, outputPitch: Int, initial: V.Scalar, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var s0 = V(repeating: initial), s1 = s0, s2 = s0, s3 = s0
        var w = weights
        for c in 0..<channels {
            let plane = input + c &* planeStride
            for j in 0..<kernelWidth {
                var row = plane + j &* dilationWidth
                let w0 = V(repeating: w[0]), w1 = V(repeating: w[1]), w2 = V(repeating: w[2])
                let w3 = V(repeating: w[3]), w4 = V(repeating: w[4])
                w += 5
                var x: V = loadVector(row)                     // input row 0
                s0 = s0.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 1
                s0 = s0.addingProduct(w1, x); s1 = s1.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 2
                s0 = s0.addingProduct(w2, x); s1 = s1.addingProduct(w1, x); s2 = s2.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 3
                s0 = s0.addingProduct(w3, x); s1 = s1.addingProduct(w2, x); s2 = s2.addingProduct(w1, x)
                s3 = s3.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 4
                s0 = s0.addingProduct(w4, x); s1 = s1.addingProduct(w3, x); s2 = s2.addingProduct(w2, x)
                s3 = s3.addingProduct(w1, x)
                row += rowPitch; x = loadVector(row)             // 5
                s1 = s1.addingProduct(w4, x); s2 = s2.addingProduct(w3, x); s3 = s3.addingProduct(w2, x)
                row += rowPitch; x = loadVector(row)             // 6
                s2 = s2.addingProduct(w4, x); s3 = s3.addingProduct(w3, x)
                row += rowPitch; x = loadVector(row)             // 7
                s3 = s3.addingProduct(w4, x)
            }
        }
        storeVector(s0, output); storeVector(s1, output + outputPitch)
        storeVector(s2, output + 2 &* outputPitch); storeVector(s3, output + 3 &* outputPitch)
    }

    /// Four rows of two vectors, kernel height 5: the last block of a plane on 16-register files.
    ///
    /// The one-vector 4-row tile has 4 accumulators, each taking 5 dependent multiply-adds per channel
    /// and kernel column: at a 4-cycle latency it keeps at most half of two multiply-add pipes busy.
    /// Two vector columns give it 8 accumulators, as many as the 8-row tile; the registers are 8
    /// accumulators, 5 weights and the 2 vectors of the loaded row. The sum order is the other tiles'.
    @inline(never)
    static func rows4Height5Columns2<V: SIMD>(
        channels: Int, kernelWidth: Int, dilationWidth: Int, weights: UnsafePointer<V.Scalar>,
        input: UnsafePointer<V.Scalar>, planeStride: Int, rowPitch: Int,
        output: UnsafeMutablePointer<V.Scalar>, outputPitch: Int, initial: V.Scalar, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        let l = V.scalarCount
        var s0 = V(repeating: initial), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0
        var w = weights
        for c in 0..<channels {
            let plane = input + c &* planeStride
            for j in 0..<kernelWidth {
                var row = plane + j &* dilationWidth
                let w0 = V(repeating: w[0]), w1 = V(repeating: w[1]), w2 = V(repeating: w[2])
                let w3 = V(repeating: w[3]), w4 = V(repeating: w[4])
                w += 5
                var x: V = loadVector(row), y: V = loadVector(row + l)           // input row 0
                s0 = s0.addingProduct(w0, x); t0 = t0.addingProduct(w0, y)
                row += rowPitch; x = loadVector(row); y = loadVector(row + l)      // 1
                s0 = s0.addingProduct(w1, x); t0 = t0.addingProduct(w1, y)
                s1 = s1.addingProduct(w0, x); t1 = t1.addingProduct(w0, y)
                row += rowPitch; x = loadVector(row); y = loadVector(row + l)      // 2
                s0 = s0.addingProduct(w2, x); t0 = t0.addingProduct(w2, y)
                s1 = s1.addingProduct(w1, x); t1 = t1.addingProduct(w1, y)
                s2 = s2.addingProduct(w0, x); t2 = t2.addingProduct(w0, y)
                row += rowPitch; x = loadVector(row); y = loadVector(row + l)      // 3
                s0 = s0.addingProduct(w3, x); t0 = t0.addingProduct(w3, y)
                s1 = s1.addingProduct(w2, x); t1 = t1.addingProduct(w2, y)
                s2 = s2.addingProduct(w1, x); t2 = t2.addingProduct(w1, y)
                s3 = s3.addingProduct(w0, x); t3 = t3.addingProduct(w0, y)
                row += rowPitch; x = loadVector(row); y = loadVector(row + l)      // 4
                s0 = s0.addingProduct(w4, x); t0 = t0.addingProduct(w4, y)
                s1 = s1.addingProduct(w3, x); t1 = t1.addingProduct(w3, y)
                s2 = s2.addingProduct(w2, x); t2 = t2.addingProduct(w2, y)
                s3 = s3.addingProduct(w1, x); t3 = t3.addingProduct(w1, y)
                row += rowPitch; x = loadVector(row); y = loadVector(row + l)      // 5
                s1 = s1.addingProduct(w4, x); t1 = t1.addingProduct(w4, y)
                s2 = s2.addingProduct(w3, x); t2 = t2.addingProduct(w3, y)
                s3 = s3.addingProduct(w2, x); t3 = t3.addingProduct(w2, y)
                row += rowPitch; x = loadVector(row); y = loadVector(row + l)      // 6
                s2 = s2.addingProduct(w4, x); t2 = t2.addingProduct(w4, y)
                s3 = s3.addingProduct(w3, x); t3 = t3.addingProduct(w3, y)
                row += rowPitch; x = loadVector(row); y = loadVector(row + l)      // 7
                s3 = s3.addingProduct(w4, x); t3 = t3.addingProduct(w4, y)
            }
        }
        // Rows first to last, each row's two vectors left to right (the driver's overlap rule).
        storeVector(s0, output); storeVector(t0, output + l)
        let o1 = output + outputPitch, o2 = o1 + outputPitch, o3 = o2 + outputPitch
        storeVector(s1, o1); storeVector(t1, o1 + l); storeVector(s2, o2); storeVector(t2, o2 + l)
        storeVector(s3, o3); storeVector(t3, o3 + l)
    }

    /// Four rows, kernel height 3.
    @inline(never)
    static func rows4Height3<V: SIMD>(
        channels: Int, kernelWidth: Int, dilationWidth: Int, weights: UnsafePointer<V.Scalar>,
        input: UnsafePointer<V.Scalar>, planeStride: Int, rowPitch: Int,
        output: UnsafeMutablePointer<V.Scalar>, outputPitch: Int, initial: V.Scalar, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var s0 = V(repeating: initial), s1 = s0, s2 = s0, s3 = s0
        var w = weights
        for c in 0..<channels {
            let plane = input + c &* planeStride
            for j in 0..<kernelWidth {
                var row = plane + j &* dilationWidth
                let w0 = V(repeating: w[0]), w1 = V(repeating: w[1]), w2 = V(repeating: w[2])
                w += 3
                var x: V = loadVector(row)                     // input row 0
                s0 = s0.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 1
                s0 = s0.addingProduct(w1, x); s1 = s1.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 2
                s0 = s0.addingProduct(w2, x); s1 = s1.addingProduct(w1, x); s2 = s2.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 3
                s1 = s1.addingProduct(w2, x); s2 = s2.addingProduct(w1, x); s3 = s3.addingProduct(w0, x)
                row += rowPitch; x = loadVector(row)             // 4
                s2 = s2.addingProduct(w2, x); s3 = s3.addingProduct(w1, x)
                row += rowPitch; x = loadVector(row)             // 5
                s3 = s3.addingProduct(w2, x)
            }
        }
        storeVector(s0, output); storeVector(s1, output + outputPitch)
        storeVector(s2, output + 2 &* outputPitch); storeVector(s3, output + 3 &* outputPitch)
    }

    /// Stores eight rows `pitch` apart, first to last.
    @inline(__always)
    private static func storeRows<V: SIMD>(_ s0: V, _ s1: V, _ s2: V, _ s3: V, _ s4: V, _ s5: V, _ s6: V, _ s7: V,
                                           _ output: UnsafeMutablePointer<V.Scalar>, _ pitch: Int) {
        storeVector(s0, output); storeVector(s1, output + pitch); storeVector(s2, output + 2 &* pitch)
        storeVector(s3, output + 3 &* pitch); storeVector(s4, output + 4 &* pitch); storeVector(s5, output + 5 &* pitch)
        storeVector(s6, output + 6 &* pitch); storeVector(s7, output + 7 &* pitch)
    }
}
