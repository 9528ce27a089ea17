/// One unit-stride 2-D correlation as the direct kernels see it: the forward pass of a convolution,
/// or its input gradient (the correlation of the padded upstream gradient with the flipped, transposed
/// kernel).
///
/// Each sample's input is copied into a zero-padded buffer of `channels` planes of
/// `paddedHeight × paddedWidth` (`Hp × Wp`). Output pixel `(oh, ow)` of tap `(c, i, j)` then reads the
/// padded element at `c·Hp·Wp + (oh + i·dH)·Wp + ow + j·dW` — one *tap offset* plus the pixel's own
/// offset — so `L` consecutive output pixels of a row read `L` consecutive elements, one SIMD load.
/// The kernels work on vectors of `L` output pixels (`lanes`), in one of two modes:
///
/// - *Row mode* (`Wo` a multiple of `L`): vectors tile the output rows exactly; vector `v` is row
///   `oh = v / (Wo/L)`, columns from `ow₀ = (v mod (Wo/L))·L`, read at `oh·Wp + ow₀` and written
///   straight to the output at `oh·Wo + ow₀`.
/// - *Flat mode* (any width): the output is computed on the padded grid, pixel `q = oh·Wp + ow` for
///   every `q < (Ho − 1)·Wp + Wo` rounded up to a whole vector, so vector `v` reads at `v·L`. The
///   lanes with `ow ≥ Wo` are discarded: the forward pass writes to a staging buffer of pitch `Wp`
///   and copies the valid columns out; the weight gradient reads a staged upstream gradient whose
///   discarded lanes hold zeros. This costs `Wp/Wo − 1` extra work (a 28-wide LeNet layer: 14%);
///   where a row's tail `Wo mod L` divides `L`, the correlation driver packs the tails of several
///   rows into one vector instead (``PackedRowTails``).
///
/// Invariant (checked by ``isValid``): every read stays inside the padded sample plus its slack of
/// ``slack`` elements, which covers the flat mode's last vector.
struct DirectConvolutionLayout: Equatable {
    /// Input planes of the correlation (`C` forward, `O` for the input gradient).
    var channels: Int
    /// The unpadded input plane.
    var height: Int, width: Int
    /// Zero rows above and below, zero columns left and right.
    var paddingHeight: Int, paddingWidth: Int
    var kernelHeight: Int, kernelWidth: Int
    var dilationHeight: Int, dilationWidth: Int
    /// SIMD lanes per vector.
    var lanes: Int

    /// The layout of `g`'s forward pass.
    init(forward g: Convolution2DGeometry, lanes: Int) {
        channels = g.inChannels; height = g.inHeight; width = g.inWidth
        paddingHeight = g.paddingHeight; paddingWidth = g.paddingWidth
        kernelHeight = g.kernelHeight; kernelWidth = g.kernelWidth
        dilationHeight = g.dilationHeight; dilationWidth = g.dilationWidth
        self.lanes = lanes
    }

    /// The layout of `g`'s input gradient: `∂x = ∂y ⋆ W̃` with `W̃[c, o, i, j] = W[o, c, kH−1−i, kW−1−j]`
    /// and padding `d·(k − 1) − p` (non-negative under ``Convolution2DGeometry/supportsDirectConvolution``);
    /// its output is `H × W`.
    init(inputGradient g: Convolution2DGeometry, lanes: Int) {
        channels = g.outChannels; height = g.outHeight; width = g.outWidth
        paddingHeight = g.dilationHeight * (g.kernelHeight - 1) - g.paddingHeight
        paddingWidth = g.dilationWidth * (g.kernelWidth - 1) - g.paddingWidth
        kernelHeight = g.kernelHeight; kernelWidth = g.kernelWidth
        dilationHeight = g.dilationHeight; dilationWidth = g.dilationWidth
        self.lanes = lanes
    }

    var paddedHeight: Int { height + 2 * paddingHeight }
    var paddedWidth: Int { width + 2 * paddingWidth }
    var paddedPlane: Int { paddedHeight * paddedWidth }
    var outHeight: Int { paddedHeight - dilationHeight * (kernelHeight - 1) }
    var outWidth: Int { paddedWidth - dilationWidth * (kernelWidth - 1) }
    var outPlane: Int { outHeight * outWidth }
    /// Taps per output pixel, `channels·kH·kW`: the depth of every sum.
    var depth: Int { channels * kernelHeight * kernelWidth }

    var isRowMode: Bool { outWidth % lanes == 0 }
    /// Vectors per sample: `Ho·Wo/L` in row mode, `⌈((Ho − 1)·Wp + Wo)/L⌉` in flat mode.
    var vectorCount: Int {
        isRowMode ? outPlane / lanes : ((outHeight - 1) * paddedWidth + outWidth + lanes - 1) / lanes
    }
    /// Flat mode: elements per channel of the staging buffer (the padded grid, whole vectors).
    var stagingPitch: Int { vectorCount * lanes }
    /// Elements after the last padded plane that the flat mode's last vector may read.
    var slack: Int { 2 * lanes }
    /// Elements of one padded sample and its slack, rounded to whole cache lines.
    var paddedSampleCount: Int { paddedToCacheLine(channels * paddedPlane + slack) }

    /// Positive extents and steps, an output of at least one pixel, and `L ≥ 1`: the invariant under
    /// which the kernels' wrapping index arithmetic stays inside the buffers.
    var isValid: Bool {
        channels >= 1 && height >= 1 && width >= 1 && paddingHeight >= 0 && paddingWidth >= 0
            && kernelHeight >= 1 && kernelWidth >= 1 && dilationHeight >= 1 && dilationWidth >= 1
            && outHeight >= 1 && outWidth >= 1 && lanes >= 1
    }

    /// Whether the forward driver (``DirectCorrelation``) writes vectors straight to the output plane:
    /// in row mode; in flat mode on a grid without padding columns (`Wp = Wo`: the vectors tile the
    /// plane contiguously); and in flat mode with whole vectors per grid row (`Wp` a multiple of `L`:
    /// each vector lies in one grid row, and its lanes past `Wo` land on the next output row's first
    /// columns, which a later vector overwrites). Otherwise it stages the padded grid.
    var writesInPlace: Bool { isRowMode || paddedWidth == outWidth || paddedWidth % lanes == 0 }

    /// Where vector `v` reads (relative to a tap's offset) and writes (in the output plane where
    /// ``writesInPlace``, else in a staging plane of pitch ``stagingPitch``), and how many of its lanes
    /// are output pixels (the first `valid`; the others are the padding columns' lanes).
    @inline(__always)
    func vectorOffsets(_ v: Int) -> (input: Int, output: Int, valid: Int) {
        if isRowMode {
            let perRow = outWidth / lanes
            let row = v / perRow, column = (v - row * perRow) &* lanes
            return (row &* paddedWidth &+ column, row &* outWidth &+ column, lanes)
        }
        let q = v &* lanes
        if paddedWidth != outWidth && paddedWidth % lanes == 0 {
            let row = q / paddedWidth, column = q &- row &* paddedWidth
            return (q, row &* outWidth &+ column, Swift.max(0, Swift.min(lanes, outWidth &- column)))
        }
        return (q, q, lanes)
    }

    /// Writes the offset of every tap — `c·Hp·Wp + i·dH·Wp + j·dW` — to `taps[0..<depth]`, then
    /// `padding` more zeros (harmless taps for a kernel's remainder tile). Taps are numbered
    /// `k = (c·kH + i)·kW + j` (the weight's own order), or with `kernelRowMajor`
    /// `k = (i·C + c)·kW + j`, so that the taps of a range of kernel rows are one range of `k`.
    func writeTapOffsets(_ taps: UnsafeMutablePointer<Int>, padding: Int = 0, kernelRowMajor: Bool = false) {
        var k = 0
        func write(_ c: Int, _ i: Int) {
            for j in 0..<kernelWidth {
                taps[k] = c * paddedPlane + i * dilationHeight * paddedWidth + j * dilationWidth
                k += 1
            }
        }
        if kernelRowMajor {
            for i in 0..<kernelHeight { for c in 0..<channels { write(c, i) } }
        } else {
            for c in 0..<channels { for i in 0..<kernelHeight { write(c, i) } }
        }
        for extra in 0..<padding { taps[k + extra] = 0 }
    }

    /// The output rows that vectors `first...last` cover (their first and last lanes).
    @inline(__always)
    func outputRows(ofVectors first: Int, _ last: Int) -> (first: Int, last: Int) {
        if isRowMode {
            let perRow = outWidth / lanes
            return (first / perRow, last / perRow)
        }
        return (first &* lanes / paddedWidth, Swift.min(outHeight &- 1, (last &* lanes &+ lanes &- 1) / paddedWidth))
    }

    /// The kernel rows `i` that read at least one unpadded input row for some output row in
    /// `rows.first...rows.last` (the others read only zeros): `pH ≤ oh + i·dH < pH + H`. Empty when
    /// none does.
    @inline(__always)
    func kernelRows(reaching rows: (first: Int, last: Int)) -> Range<Int> {
        // i ≥ ⌈(pH − last)/dH⌉ and i ≤ ⌊(pH + H − 1 − first)/dH⌋ (numerators may be negative).
        let low = paddingHeight &- rows.last, high = paddingHeight &+ height &- 1 &- rows.first
        let lower = low <= 0 ? 0 : (low &+ dilationHeight &- 1) / dilationHeight
        let upper = high < 0 ? -1 : Swift.min(kernelHeight &- 1, high / dilationHeight)
        return lower <= upper ? lower..<(upper &+ 1) : 0..<0
    }

    /// Packs a correlation's weights `[⌈O/mr⌉][depth][mr]` in kernel-row-major tap order
    /// (``writeTapOffsets(_:padding:kernelRowMajor:)``): `packed[b][(i·C + c)·kW + j][m] =
    /// weight(b·mr + m, c, i, j)`, zero for outputs past `outChannels`. `Element` is the scalar, or the
    /// bf16 kernels' channel-pair word (then `c` counts pairs).
    func packWeights<Element: AdditiveArithmetic>(outChannels: Int, mr: Int, into packed: UnsafeMutablePointer<Element>,
                                                  _ weight: (_ output: Int, _ channel: Int, _ row: Int, _ column: Int) -> Element) {
        let blocks = (outChannels + mr - 1) / mr
        for b in 0..<blocks {
            for m in 0..<mr {
                let o = b * mr + m
                var destination = packed + b * depth * mr + m
                for i in 0..<kernelHeight {
                    for c in 0..<channels {
                        for j in 0..<kernelWidth {
                            destination.pointee = o < outChannels ? weight(o, c, i, j) : .zero
                            destination += mr
                        }
                    }
                }
            }
        }
    }

    /// Copies one sample (`channels × height × width`, contiguous) into the interior of its padded
    /// buffer (``paddedSampleCount`` elements): the zero rows, columns and slack are not written — the
    /// drivers zero each buffer once and then only this function writes it, so the borders stay zero
    /// for every sample without being written again. A buffer with wider rows (several samples side by
    /// side, as in ``RowReuseGrid``) passes its own `rowPitch` and `planeStride`.
    func copyInterior<Scalar>(_ source: UnsafePointer<Scalar>, into destination: UnsafeMutablePointer<Scalar>,
                              rowPitch: Int? = nil, planeStride: Int? = nil) {
        let wp = rowPitch ?? paddedWidth, stride = planeStride ?? paddedPlane, first = paddingHeight &* wp &+ paddingWidth
        for c in 0..<channels {
            let plane = destination + (c &* stride &+ first), input = source + c &* height &* width
            for h in 0..<height { copySpan(plane + h &* wp, input + h &* width, count: width) }
        }
    }
}
