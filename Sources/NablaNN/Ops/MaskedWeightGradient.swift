import NablaTensor

/// The weight gradient of a "same"-width direct convolution on the dense upstream gradient: vectors of
/// `L` consecutive pixels of the `Ho × Wo` output plane, the input's taps masked by column.
///
/// `∂W[o, c, i, j] = Σ_n Σ_(oh, ow) ∂y[n, o, oh, ow] · x̂_n[c, oh + i·dH, ow + j·dW]`, where `x̂` is the
/// input with `pH`/`pW` zeros around. The general kernel (``DotKernel``) reads `x̂` on its padded grid of
/// `Wp` columns, so in flat mode it needs the upstream gradient staged on that grid with zeros in the
/// `Wp − Wo` discarded lanes of every row (LeNet's 28-wide input layer: 28 of 32 lanes) and a copy per
/// sample. Here the input is laid out with rows of `Wo` elements instead (`W ≤ Wo`: the padding covers
/// the kernel's reach, `2·pW ≥ dW·(kW − 1)`), its `pH` zero rows kept above and below:
///
///     X[c][r][w] = x[c][r − pH][w]   for pH ≤ r < pH + H and w < W, else 0,   r < Hp, w < Wo,
///
/// so that output pixel `q = oh·Wo + ow` reads tap `(c, i, j)` at `X` offset `q + c·Hp·Wo + i·dH·Wo +
/// j·dW − pW` — one offset per tap, as on the padded grid. Where `ow + j·dW − pW` falls outside
/// `[0, W)` that element belongs to a neighbouring row (or is a zero column), and the lane must read the
/// padding instead: each tap's input vector is `select(valid_j(ow), X[…], 0)` — the same zero that the
/// padded grid (and PyTorch's im2col) multiplies there, so non-finite inputs propagate exactly as there.
/// The validity of lane `l` of vector `v` depends on `(v·L + l) mod Wo` only, a pattern of
/// `Wo / gcd(Wo, L)` vectors that the driver tabulates once per call. The upstream gradient is read in
/// place (a last partial vector per sample comes from a zero-padded copy of the plane's tail).
///
/// The register tile is `mr` output channels × `nt` taps of per-lane partial sums (6×4 on 32-register
/// targets, 6×2 or 2×4 on 16: ``DirectConvolution/maskedTile(channels:depth:registers:)``), loaded
/// from and stored to the worker's lane sums around each sweep over one
/// sample's vectors; after the worker's last sample the lanes are added (``laneSum(_:)``) and the
/// workers' sums are added in worker order — the same bits for a given thread count.
extension DirectConvolution {
    /// Tests force the masked weight gradient on (`true`, where ``fitsColumnMasks(_:)``) or off
    /// (`false`); `nil` applies ``masksColumns(_:)``.
    nonisolated(unsafe) static var columnMaskOverride: Bool?

    /// Whether the layout can be read with column masks: flat mode, `W ≤ Wo`, and a mask pattern of at
    /// most 64 vectors.
    static func fitsColumnMasks(_ layout: DirectConvolutionLayout) -> Bool {
        layout.isValid && !layout.isRowMode && layout.width <= layout.outWidth
            && MaskedGradientLayout(layout).period <= 64
    }

    /// Whether the weight gradient of `layout` runs on ``MaskedKernel``: where it fits, unless the
    /// outer-product kernel takes the layer (row mode reads the upstream gradient in place already).
    static func masksColumns(_ layout: DirectConvolutionLayout) -> Bool {
        guard fitsColumnMasks(layout) else { return false }
        return columnMaskOverride ?? !hasOuterKernel(layout)
    }

    /// The register tile of ``MaskedKernel`` for `channels` output channels and `depth` taps: (channels,
    /// taps). 6×4 on 32-register targets. On 16-register targets 2×4 or 6×2, whichever takes fewer
    /// cycles by a load-port model: a vector step costs `max(multiply-adds, loads) / 2` cycles (two FMA
    /// and two vector-load ports), loads being a masked input and its mask per tap plus a gradient per
    /// channel — 5 cycles for 2×4's 8 multiply-adds, 6 for 6×2's 12 — times the tiles that cover
    /// `⌈channels / rows⌉ × ⌈depth / taps⌉` (LeNet's 6 × 25: 105 against 78).
    static func maskedTile(channels: Int, depth: Int,
                           registers: Int = DirectConvolutionSupport.registerCount) -> (rows: Int, taps: Int) {
        guard registers < 32 else { return (6, 4) }
        func cycles(_ tile: (rows: Int, taps: Int)) -> Int {
            let step = Swift.max(tile.rows * tile.taps, 2 * tile.taps + tile.rows)
            return (channels + tile.rows - 1) / tile.rows * ((depth + tile.taps - 1) / tile.taps) * step
        }
        return cycles((6, 2)) <= cycles((2, 4)) ? (6, 2) : (2, 4)
    }
}

/// Where the masked weight gradient reads: the input buffer `X` (rows of `Wo`), its vectors and the
/// column-validity pattern (see ``DirectConvolution/masksColumns(_:)``'s extension).
struct MaskedGradientLayout {
    let layout: DirectConvolutionLayout

    init(_ layout: DirectConvolutionLayout) { self.layout = layout }

    /// The buffer's row pitch, `Wo`.
    var pitch: Int { layout.outWidth }
    /// Elements of one channel: `Hp` rows of `Wo`.
    var plane: Int { layout.paddedHeight * pitch }
    /// Elements before the first plane (a tap may read `pW` before a row; masked, but inside the buffer).
    var front: Int { (layout.paddingWidth + layout.lanes - 1) / layout.lanes * layout.lanes }
    /// Elements of one sample's buffer: the front, the planes, and the `L + pW` that the last vector of
    /// the last plane's last tap may read past them.
    var bufferCount: Int { paddedToCacheLine(front + layout.channels * plane + layout.lanes + layout.paddingWidth) }
    /// Output pixels per channel, and whole vectors of them.
    var pixels: Int { layout.outPlane }
    var fullVectors: Int { pixels / layout.lanes }
    /// Pixels of the last, partial vector (0 if the plane is whole vectors).
    var tailPixels: Int { pixels % layout.lanes }
    /// Vectors after which the lanes' columns repeat, `Wo / gcd(Wo, L)`.
    var period: Int {
        var (a, b) = (layout.outWidth, layout.lanes)
        while b != 0 { (a, b) = (b, a % b) }
        return layout.outWidth / a
    }
    /// Mask columns per pattern row: one per kernel column and one that is always false (padding taps).
    var maskColumns: Int { layout.kernelWidth + 1 }

    /// `X`'s offset of tap `k = (c·kH + i)·kW + j` relative to the output pixel, and its mask column `j`.
    func tap(_ k: Int) -> (offset: Int, column: Int) {
        let j = k % layout.kernelWidth, ci = k / layout.kernelWidth
        let i = ci % layout.kernelHeight, c = ci / layout.kernelHeight
        return (c * plane + i * layout.dilationHeight * pitch + j * layout.dilationWidth - layout.paddingWidth, j)
    }

    /// Writes the validity pattern: `masks[(v·maskColumns + j)·L + l]` is all ones where lane `l` of
    /// vector `v` (its pixel `v·L + l` of the plane, for `v < period`) reads an unpadded column with
    /// kernel column `j`, zero elsewhere and in column `kW`. With `tail`, one row for the last partial
    /// vector instead, its lanes past the plane false too.
    func writeMasks<Word: FixedWidthInteger>(_ masks: UnsafeMutablePointer<Word>, tail: Bool = false) {
        let lanes = layout.lanes, rows = tail ? 1 : period
        for v in 0..<rows {
            let first = (tail ? fullVectors : v) * lanes
            for j in 0..<maskColumns {
                for l in 0..<lanes {
                    let q = first + l, column = q % pitch + j * layout.dilationWidth - layout.paddingWidth
                    let valid = j < layout.kernelWidth && column >= 0 && column < layout.width && (!tail || q < pixels)
                    masks[(v * maskColumns + j) * lanes + l] = valid ? ~0 : 0
                }
            }
        }
    }

    /// Zeros the whole buffer (`bufferCount` elements); done once per worker, since ``copy(_:into:)``
    /// writes only the data columns.
    func clear<Scalar: Numeric>(_ buffer: UnsafeMutablePointer<Scalar>) {
        buffer.update(repeating: 0, count: bufferCount)
    }

    /// Copies one sample (`C × H × W`, contiguous) into a cleared buffer's data columns.
    func copy<Scalar>(_ source: UnsafePointer<Scalar>, into buffer: UnsafeMutablePointer<Scalar>) {
        let h = layout.height, w = layout.width, top = layout.paddingHeight * pitch
        for c in 0..<layout.channels {
            let plane = buffer + (front + c * self.plane + top), input = source + c * h * w
            if w == pitch {
                copySpan(plane, input, count: h * w)
            } else {
                for r in 0..<h { copySpan(plane + r * pitch, input + r * w, count: w) }
            }
        }
    }
}
