/// The transforms of Winograd's F(4×4, 3×3) (Lavin & Gray 2016, "Fast Algorithms for Convolutional
/// Neural Networks", CVPR, section 4.2), for ``DirectVector/winogradCorrelation(_:batch:input:bias:output:workers:workspace:weight:)``
/// with a ``WinogradShape/tileSize`` of 4: a 4×4 output tile from a 6×6 input patch `d`,
///
///     Bᵀ = [4  0 −5  0 1 0]     G = [ 1/4     0     0]     Aᵀ = [1 1  1 1  1 0]
///          [0 −4 −4  1 1 0]         [−1/6  −1/6  −1/6]          [0 1 −1 2 −2 0]
///          [0  4 −4 −1 1 0]         [−1/6   1/6  −1/6]          [0 1  1 4  4 0]
///          [0 −2 −1  2 1 0]         [1/24  1/12   1/6]          [0 1 −1 8 −8 1]
///          [0  2 −1 −2 1 0]         [1/24 −1/12   1/6]
///          [0  4  0 −5 0 1]         [   0     0     1]
///
/// `Y = Aᵀ [Σ_c (G g_kc Gᵀ) ⊙ (Bᵀ d_c B)] A`: 36 multiply-adds per 4×4 tile and channel pair instead
/// of the direct sum's 144 (4×), against F(2×2, 3×3)'s 64 for the same 16 outputs (2.25×). The price is
/// rounding: `G`'s sixths and twenty-fourths are inexact (the weights are transformed in `Double` and
/// rounded once), and `Bᵀ`/`Aᵀ` scale values by up to 8 before they cancel, so an output's error is
/// several times F(2×2)'s (measured in `WinogradConvolutionTests`).
///
/// Both transforms are separable and go through a 36-vector scratch: a pass over the rows of the
/// patch (or product), then one over its columns, so that no more than a row's vectors are live — the
/// whole 6 × 6 patch is 36 vectors, more than either register file.
extension DirectVector {
    /// `U_ξ[k][c] = (G g_kc Gᵀ)[i][j]` (ξ = 6·i + j), packed `[36][K'/mr][C][mr]` (zero rows past `K`).
    static func packWinograd4Weights(outChannels: Int, channels: Int, mr: Int, into packed: UnsafeMutablePointer<Scalar>,
                                     weight: (_ out: Int, _ channel: Int, _ row: Int, _ column: Int) -> Scalar) {
        let blocks = (outChannels + mr - 1) / mr, xiStride = blocks * channels * mr
        packed.update(repeating: 0, count: 36 * xiStride)
        typealias Six = (Double, Double, Double, Double, Double, Double)
        /// `G x` for a column (or row) `x` of three values.
        func g(_ x0: Double, _ x1: Double, _ x2: Double) -> Six {
            (x0 / 4, -(x0 + x1 + x2) / 6, -(x0 - x1 + x2) / 6, x0 / 24 + x1 / 12 + x2 / 6, x0 / 24 - x1 / 12 + x2 / 6, x2)
        }
        for k in 0..<outChannels {
            for c in 0..<channels {
                // G g (6 × 3, by columns of g), then (G g) Gᵀ (6 × 6, by rows of G g).
                func column(_ j: Int) -> Six { g(Double(weight(k, c, 0, j)), Double(weight(k, c, 1, j)), Double(weight(k, c, 2, j))) }
                let c0 = column(0), c1 = column(1), c2 = column(2)
                let target = packed + (k / mr * channels + c) * mr + k % mr
                func store(_ i: Int, _ u: Six) {
                    let row = target + 6 * i * xiStride
                    row[0] = Scalar(u.0); row[xiStride] = Scalar(u.1); row[2 * xiStride] = Scalar(u.2)
                    row[3 * xiStride] = Scalar(u.3); row[4 * xiStride] = Scalar(u.4); row[5 * xiStride] = Scalar(u.5)
                }
                store(0, g(c0.0, c1.0, c2.0)); store(1, g(c0.1, c1.1, c2.1)); store(2, g(c0.2, c1.2, c2.2))
                store(3, g(c0.3, c1.3, c2.3)); store(4, g(c0.4, c1.4, c2.4)); store(5, g(c0.5, c1.5, c2.5))
            }
        }
    }

    /// `V_ξ[c][tx] = (Bᵀ d B)[i][j]` for the tiles of tile rows `ty ..< ty + rows` of the sample in
    /// `padded`, split by column phase (with `rows` of 2 or 4, each tile row fills `L/rows` lanes of one
    /// vector), `v` at the unit's first column, `pitch` apart per channel and `xiStride` (≥ `C·pitch`) per
    /// ξ. A last vector that runs past the tile row writes `V` columns the next unit overwrites, or that
    /// no product reads. Out of line (one call per unit of `C` planes), as is the output transform.
    @inline(never)
    static func transformInput4(_ shape: WinogradShape, tileRow ty: Int, rows: Int, grid: WinogradGrid,
                                padded: UnsafePointer<Scalar>, into v: UnsafeMutablePointer<Scalar>, pitch: Int,
                                xiStride: Int, scratch: UnsafeMutablePointer<Scalar>) {
        let lanes = scalarCount, rowLength = grid.rowLength, phase = grid.phaseLength, shift = grid.shift
        // Column `4·t + s` of the tiles of a patch row (``WinogradGrid``: one load from phase
        // `(s + shift) mod 4`), or of two or four tile rows, a half or a quarter of a vector each, each
        // tile row's patch rows 4 grid rows below the previous one's.
        let tileRow = 4 * rowLength
        @inline(__always) func column(_ row: UnsafePointer<Scalar>, _ s: Int) -> Self {
            let q = row + ((s + shift) & 3) * phase + ((s + shift) >> 2)
            switch rows {
            case 1: return loadVector(q)
            case 2: return load(halves: q, q + tileRow)
            default: return load(quarters: q, q + tileRow, q + 2 * tileRow, q + 3 * tileRow)
            }
        }
        @inline(__always) func scratchVector(_ index: Int) -> Self { loadVector(UnsafePointer(scratch + index * lanes)) }
        for c in 0..<shape.channels {
            let top = padded + c * grid.plane + 4 * ty * rowLength, out = v + c * pitch
            for tx in Swift.stride(from: 0, to: shape.tileColumns, by: lanes) {
                // d B, row by row: scratch[6·r + j] = (Bᵀ d_r)[j], d_r = columns 0…5 of patch row r.
                for r in 0..<6 {
                    let p = top + r * rowLength + tx
                    let w = inputTransform4((column(p, 0), column(p, 1), column(p, 2), column(p, 3), column(p, 4), column(p, 5)))
                    let s = scratch + 6 * r * lanes
                    storeVector(w.0, s); storeVector(w.1, s + lanes); storeVector(w.2, s + 2 * lanes)
                    storeVector(w.3, s + 3 * lanes); storeVector(w.4, s + 4 * lanes); storeVector(w.5, s + 5 * lanes)
                }
                // Bᵀ (d B), column by column: V[6·i + j].
                for j in 0..<6 {
                    let t = inputTransform4((scratchVector(j), scratchVector(6 + j), scratchVector(12 + j),
                                             scratchVector(18 + j), scratchVector(24 + j), scratchVector(30 + j)))
                    let base = out + j * xiStride + tx, step = 6 * xiStride
                    storeVector(t.0, base); storeVector(t.1, base + step); storeVector(t.2, base + 2 * step)
                    storeVector(t.3, base + 3 * step); storeVector(t.4, base + 4 * step); storeVector(t.5, base + 5 * step)
                }
            }
        }
    }

    /// `y[k][4·ty + a][4·tx + b] = bias[k] + (Aᵀ M A)[a][b]` for the tiles of tile rows `ty ..< ty + rows`
    /// (packed into the lanes as ``transformInput4(_:tileRow:rows:grid:padded:into:pitch:scratch:)`` packs
    /// them) of the sample at `output`, `products` at the unit's first column, `pitch` apart per output
    /// channel and `outPitch` per ξ. Rows and columns past the plane are not written.
    @inline(never)
    static func transformOutput4(_ shape: WinogradShape, tileRow ty: Int, rows: Int, products: UnsafePointer<Scalar>,
                                 pitch: Int, outPitch: Int, bias: UnsafePointer<Scalar>?, output: UnsafeMutablePointer<Scalar>,
                                 scratch: UnsafeMutablePointer<Scalar>) {
        let lanes = scalarCount, ho = shape.outHeight, wo = shape.outWidth, perRow = 4 / rows
        @inline(__always) func scratchVector(_ index: Int) -> Self { loadVector(UnsafePointer(scratch + index * lanes)) }
        for k in 0..<shape.outChannels {
            let p = products + k * pitch, plane = output + k * ho * wo
            let b = Self(repeating: bias?[k] ?? 0)
            for tx in Swift.stride(from: 0, to: shape.tileColumns, by: lanes) {
                // Aᵀ M, column by column: scratch[6·a + j] = (Aᵀ M)[a][j].
                for j in 0..<6 {
                    let q = p + j * outPitch + tx, step = 6 * outPitch
                    let t = outputTransform4((loadVector(q), loadVector(q + step), loadVector(q + 2 * step),
                                              loadVector(q + 3 * step), loadVector(q + 4 * step), loadVector(q + 5 * step)))
                    let s = scratch + j * lanes
                    storeVector(t.0, s); storeVector(t.1, s + 6 * lanes); storeVector(t.2, s + 12 * lanes); storeVector(t.3, s + 18 * lanes)
                }
                // (Aᵀ M) A, row by row, the four columns of each tile interleaved (two rounds) into 4·L values.
                for a in 0..<4 {
                    let y = outputTransform4((scratchVector(6 * a), scratchVector(6 * a + 1), scratchVector(6 * a + 2),
                                              scratchVector(6 * a + 3), scratchVector(6 * a + 4), scratchVector(6 * a + 5)))
                    let (v0, v1, v2, v3) = interleave4((y.0 + b, y.1 + b, y.2 + b, y.3 + b))
                    /// Vector `n` of the 4·L values: the `4/rows` vectors of each tile row in turn.
                    @inline(__always) func write(_ value: Self, _ n: Int) {
                        let row = 4 * (ty + n / perRow) + a, column = 4 * tx + n % perRow * lanes
                        guard row < ho && column < wo else { return }
                        let target = plane + row * wo + column
                        if column + lanes <= wo { storeVector(value, target) } else { store(value, prefix: wo - column, to: target) }
                    }
                    write(v0, 0); write(v1, 1); write(v2, 2); write(v3, 3)
                }
            }
        }
    }

    /// `Ug_ξ[t][k] = (A ∂Y_k Aᵀ)[i][j]` (ξ = 6·i + j, `A` the transpose of `Aᵀ` above) for the weight
    /// gradient (``WinogradWeightGradient``): the 4 × 4 upstream-gradient tiles of tile rows
    /// `ty ..< ty + rows`, numbered as ``transformInput4(_:tileRow:rows:grid:padded:into:pitch:xiStride:scratch:)``
    /// numbers them (`t = r·⌈Wo/4⌉ + tx`), from the gradient transposed to `[pixel][stride]` (output
    /// channels in the lanes); `ug` at the unit's first tile, `stride` apart per tile and `xiStride` per
    /// ξ. Pixels past the output's edge count as zeros. The columns of `A ∂Y` pass through 24 vectors
    /// of `scratch`.
    @inline(never)
    static func transformGradient4(_ shape: WinogradShape, tileRow ty: Int, rows: Int, gradient: UnsafePointer<Scalar>,
                                   stride: Int, into ug: UnsafeMutablePointer<Scalar>, xiStride: Int,
                                   scratch: UnsafeMutablePointer<Scalar>) {
        let lanes = scalarCount, ho = shape.outHeight, wo = shape.outWidth
        @inline(__always) func scratchVector(_ index: Int) -> Self { loadVector(UnsafePointer(scratch + index * lanes)) }
        for r in 0..<rows {
            let y = 4 * (ty + r), rowCount = Swift.min(4, ho - y)
            for tx in 0..<shape.tileColumns {
                let x = 4 * tx, columnCount = Swift.min(4, wo - x)
                let p = gradient + (y * wo + x) * stride, out = ug + (r * shape.tileColumns + tx) * stride
                for offset in Swift.stride(from: 0, to: stride, by: lanes) {
                    // A ∂Y column by column: scratch[4·i + s] = (A ∂Y)[i][s].
                    for s in 0..<4 {
                        @inline(__always) func at(_ a: Int) -> Self {
                            a < rowCount && s < columnCount ? loadVector(p + ((a * wo + s) * stride + offset)) : Self()
                        }
                        let column = gradientTransform4((at(0), at(1), at(2), at(3)))
                        storeVector(column.0, scratch + s * lanes); storeVector(column.1, scratch + (4 + s) * lanes)
                        storeVector(column.2, scratch + (8 + s) * lanes); storeVector(column.3, scratch + (12 + s) * lanes)
                        storeVector(column.4, scratch + (16 + s) * lanes); storeVector(column.5, scratch + (20 + s) * lanes)
                    }
                    // (A ∂Y) Aᵀ row by row: Ug[6·i + j].
                    for i in 0..<6 {
                        let row = gradientTransform4((scratchVector(4 * i), scratchVector(4 * i + 1),
                                                      scratchVector(4 * i + 2), scratchVector(4 * i + 3)))
                        let base = out + (6 * i * xiStride + offset)
                        storeVector(row.0, base); storeVector(row.1, base + xiStride); storeVector(row.2, base + 2 * xiStride)
                        storeVector(row.3, base + 3 * xiStride); storeVector(row.4, base + 4 * xiStride)
                        storeVector(row.5, base + 5 * xiStride)
                    }
                }
            }
        }
    }

    /// `A x` for a column (or row) `x` of a 4 × 4 gradient tile:
    /// `(x0, x0 + x1 + x2 + x3, x0 − x1 + x2 − x3, x0 + 2x1 + 4x2 + 8x3, x0 − 2x1 + 4x2 − 8x3, x3)`.
    @inline(__always)
    private static func gradientTransform4(_ x: (Self, Self, Self, Self)) -> (Self, Self, Self, Self, Self, Self) {
        let even = x.0 + x.2, odd = x.1 + x.3
        let evenFour = x.0.addingProduct(Self(repeating: 4), x.2), oddFour = x.1.addingProduct(Self(repeating: 4), x.3)
        let oddEight = oddFour + oddFour
        return (x.0, even + odd, even - odd, evenFour + oddEight, evenFour - oddEight, x.3)
    }

    /// `Gᵀ M G` for F(4×4, 3×3)'s `G` and a 6 × 6 `M` (`m[6·i + j]`), computed in `Double` (the sixths are
    /// inexact) and rounded once, row-major 3 × 3 into `target`.
    static func weightTransform4(_ m: UnsafePointer<Scalar>, into target: UnsafeMutablePointer<Scalar>) {
        typealias Three = (Double, Double, Double)
        /// `Gᵀ x` for a column (or row) `x` of six: the columns of `G` against `x`.
        func gt(_ x: (Double, Double, Double, Double, Double, Double)) -> Three {
            let s12 = x.1 + x.2, d12 = x.2 - x.1, s34 = x.3 + x.4, d34 = x.3 - x.4
            return (x.0 / 4 - s12 / 6 + s34 / 24, d12 / 6 + d34 / 12, -s12 / 6 + s34 / 6 + x.5)
        }
        func value(_ i: Int, _ j: Int) -> Double { Double(m[6 * i + j]) }
        func column(_ j: Int) -> Three { gt((value(0, j), value(1, j), value(2, j), value(3, j), value(4, j), value(5, j))) }
        // Gᵀ M by columns, then (Gᵀ M) G by rows.
        let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3), c4 = column(4), c5 = column(5)
        func store(_ a: Int, _ row: Three) {
            target[3 * a] = Scalar(row.0); target[3 * a + 1] = Scalar(row.1); target[3 * a + 2] = Scalar(row.2)
        }
        store(0, gt((c0.0, c1.0, c2.0, c3.0, c4.0, c5.0)))
        store(1, gt((c0.1, c1.1, c2.1, c3.1, c4.1, c5.1)))
        store(2, gt((c0.2, c1.2, c2.2, c3.2, c4.2, c5.2)))
    }

    /// `x0[0] x1[0] x2[0] x3[0] x0[1] …`, in four vectors: two rounds of ``LanePermutable/interleave(_:_:)``.
    /// Out of line: inlined after the output transform's additions, LLVM pushed the permutes back
    /// through them and built the vectors from scalar element inserts (`perf`, AVX2).
    @inline(never)
    static func interleave4(_ x: (Self, Self, Self, Self)) -> (Self, Self, Self, Self) {
        let even = interleave(x.0, x.2), odd = interleave(x.1, x.3)
        let low = interleave(even.low, odd.low), high = interleave(even.high, odd.high)
        return (low.low, low.high, high.low, high.high)
    }

    /// `Bᵀ x` for a row (or column) `x` of a 6 × 6 patch.
    @inline(__always)
    private static func inputTransform4(_ x: (Self, Self, Self, Self, Self, Self)) -> (Self, Self, Self, Self, Self, Self) {
        let four = Self(repeating: 4), minusFour = Self(repeating: -4)
        let t1 = x.4.addingProduct(minusFour, x.2), t2 = x.3.addingProduct(minusFour, x.1)
        let t3 = x.4 - x.2, d31 = x.3 - x.1, t4 = d31 + d31
        return (t3.addingProduct(four, x.0 - x.2), t1 + t2, t1 - t2, t3 + t4, t3 - t4, (x.5 - x.3).addingProduct(four, x.1 - x.3))
    }

    /// `Aᵀ x` for a column (or row) `x` of a 6 × 6 product.
    @inline(__always)
    private static func outputTransform4(_ x: (Self, Self, Self, Self, Self, Self)) -> (Self, Self, Self, Self) {
        let a = x.1 + x.2, b = x.1 - x.2, c = x.3 + x.4, d = x.3 - x.4
        return (x.0 + a + c, b.addingProduct(Self(repeating: 2), d), a.addingProduct(Self(repeating: 4), c),
                (b + x.5).addingProduct(Self(repeating: 8), d))
    }
}
