import NablaTensor

/// The input gradient of a direct convolution split by kernel column: a correlation with a `kH × 1`
/// kernel whose every lane is a wanted value, then a sum of `kW` shifted rows.
///
/// The plain direct input gradient (``DirectVector/backward(input:weight:upstream:inputGradient:weightGradient:geometry:workspace:)``)
/// correlates the upstream gradient, padded by `d·(k − 1) − p` on every side, with the flipped kernel.
/// On a layer without padding most of that work multiplies zeros: LeNet's 6→16 layer (10×10 upstream
/// gradient, 5×5 kernel) pads to 18×18, and a 16-lane vector of the 14×14 result on the 18-wide grid
/// keeps 14 of every 18 lanes — 16 vectors × 400 taps per channel for 196 pixels. Splitting by kernel
/// column `j` removes the width padding:
///
///     T[c, j][h][ow] = Σ_o Σ_i W[o, c, kH−1−i, j] · ∂ŷ[o][h + i·dH][ow],
///     ∂x[c][h][w]    = Σ_j T[c, j][h][w + pW − j·dW]      (the j with 0 ≤ w + pW − j·dW < Wo),
///
/// where `∂ŷ` is the upstream gradient with `P = dH·(kH − 1) − pH` zero rows above and below and no
/// zero columns. `T` is a correlation of `O` planes of `Ho + 2P` rows × `Wo` into `C·kW` planes of
/// `H × Wo` — the driver of the forward pass (``DirectCorrelation``) on rows as wide as the upstream
/// gradient, so no lane is discarded — and the sum over `j` adds `kW` shifted rows per input row. On
/// the 6→16 layer: 9 vectors × 80 taps for each of 30 `(c, j)` planes, 40% fewer multiply-adds.
///
/// Each `T` element sums its `(i, o)` taps in one fixed order (the forward pass's), and each `∂x`
/// element adds its `j` terms in increasing `j`, so the bits do not depend on the thread count; they
/// differ in the last places from the plain correlation's, which sums `(i, o, j)` in one chain.
extension DirectConvolution {
    /// Tests force the split on (`true`) or off (`false`) for every geometry; `nil` applies
    /// ``splitsColumns(_:lanes:)``'s rule.
    nonisolated(unsafe) static var columnSplitOverride: Bool?

    /// The correlation that computes `T` (see the extension): `g`'s input-gradient layout with a
    /// `kH × 1` kernel and no width padding; its output is `H × Wo`.
    static func columnSplitLayout(_ g: Convolution2DGeometry, lanes: Int) -> DirectConvolutionLayout {
        var layout = DirectConvolutionLayout(inputGradient: g, lanes: lanes)
        layout.paddingWidth = 0
        layout.kernelWidth = 1
        layout.dilationWidth = 1
        return layout
    }

    /// Whether the input gradient of `g` with `lanes`-lane vectors takes the column split: a fixed rule
    /// of the shapes — when its multiply-adds (padded rows × padded vectors × depth of the register
    /// tiles) are at most 80% of the plain correlation's. LeNet's 6→16 layer with 16 lanes: 23,040
    /// against 38,400 per sample; the 3×3 "same" layers of convnet and resnet20 compute as many either
    /// way and stay plain. A gradient of one input plane that the row-reusing tiles take
    /// (``reusesRows(_:outChannels:registers:)``: LeNet's 1→6) stays on them.
    static func splitsColumns(_ g: Convolution2DGeometry, lanes: Int) -> Bool {
        columnSplitOverride ?? (!reusesRows(DirectConvolutionLayout(inputGradient: g, lanes: lanes), outChannels: g.inChannels)
                                && splitPays(pixelInputGradientWork(g, lanes: lanes)))
    }

    /// The rule of ``splitsColumns(_:lanes:)`` on the two works of ``pixelInputGradientWork(_:lanes:registers:)``.
    private static func splitPays(_ work: (plain: Int, split: Int?)) -> Bool {
        work.split.map { 5 * $0 <= 4 * work.plain } ?? false
    }

    /// Vector multiply-adds per sample of `g`'s input gradient on the pixel kernels: the plain
    /// correlation's and (for kernels more than one column wide) the column split's — padded rows ×
    /// padded vectors × depth of the register tiles `registers` allow.
    static func pixelInputGradientWork(_ g: Convolution2DGeometry, lanes: Int,
                                       registers: Int = DirectConvolutionSupport.registerCount) -> (plain: Int, split: Int?) {
        func work(_ layout: DirectConvolutionLayout, rows: Int, tile: (mr: Int, nv: Int)) -> Int {
            let paddedRows = (rows + tile.mr - 1) / tile.mr * tile.mr
            return paddedRows * layout.computedVectors(groupsOf: tile.nv) * layout.depth
        }
        let plain = DirectConvolutionLayout(inputGradient: g, lanes: lanes)
        let plainWork = work(plain, rows: g.inChannels, tile: forwardTile(channels: g.inChannels, registers: registers))
        guard g.kernelWidth > 1 else { return (plainWork, nil) }
        let split = columnSplitLayout(g, lanes: lanes), splitRows = g.inChannels * g.kernelWidth
        let tile = forwardTile(channels: splitRows, vectors: split.computedVectorCount, registers: registers)
        return (plainWork, work(split, rows: splitRows, tile: tile))
    }

    /// Lanes per sample the pixel kernels compute for `g`'s input gradient: the column split's where
    /// its rule (without the tests' override) takes it, else the plain correlation's.
    static func pixelInputGradientLanes(_ g: Convolution2DGeometry, lanes: Int,
                                        registers: Int = DirectConvolutionSupport.registerCount) -> Int {
        let work = pixelInputGradientWork(g, lanes: lanes, registers: registers)
        return lanes * (splitPays(work) ? work.split! : work.plain)
    }
}

extension DirectVector {
    /// Overwrites `inputGradient` (`[N][C][H][W]`) with `g`'s input gradient by the column split
    /// (``DirectConvolution/columnSplitLayout(_:lanes:)``): per sample, `T` into the worker's scratch,
    /// then folded into the sample's gradient.
    static func columnSplitInputGradient(
        weight w: UnsafePointer<Scalar>, upstream gy: UnsafePointer<Scalar>, inputGradient dx: UnsafeMutablePointer<Scalar>,
        geometry g: Convolution2DGeometry, workspace: ConvolutionWorkspace
    ) {
        let layout = DirectConvolution.columnSplitLayout(g, lanes: scalarCount)
        let kH = g.kernelHeight, kW = g.kernelWidth, channels = g.inChannels, planes = channels * kW
        let tile = DirectConvolution.forwardTile(channels: planes, vectors: layout.computedVectorCount)
        let rows = (planes + tile.mr - 1) / tile.mr * tile.mr
        let inSample = channels * g.inPlane
        workspace.withBuffer(of: Scalar.self, count: rows * layout.depth) { packed in
            // Plane r = c·kW + j, tap (i, o): W[o, c, kH−1−i, j].
            layout.packWeights(outChannels: planes, mr: tile.mr, into: packed) { r, o, i, _ in
                w[((o * channels + r / kW) * kH + (kH - 1 - i)) * kW + r % kW]
            }
            workspace.withBuffer(of: Scalar.self, count: g.workerCount * planes * layout.outPlane) { split in
                directCorrelation(layout, batch: g.batch, input: gy, inputSample: g.outChannels * g.outPlane,
                                  packedWeights: packed, outChannels: planes, tile: tile, bias: nil, output: split,
                                  workers: g.workerCount, workspace: workspace) { n, t in
                    foldColumns(t, into: dx + n * inSample, geometry: g)
                }
            }
        }
    }

    /// `∂x[c][h][w] = Σ_j T[c·kW + j][h][w + pW − j·dW]` for one sample (`T`: `C·kW` planes of `H × Wo`),
    /// `j` increasing; overwrites `dx`. Kernel columns outermost: the rows a column adds to were last
    /// written a whole plane earlier (row by row, each addition's load would wait on the previous
    /// column's overlapping, misaligned store — measured at 46% of the fold's time).
    static func foldColumns(_ t: UnsafePointer<Scalar>, into dx: UnsafeMutablePointer<Scalar>, geometry g: Convolution2DGeometry) {
        let height = g.inHeight, width = g.inWidth, splitWidth = g.outWidth, kW = g.kernelWidth
        for c in 0..<g.inChannels {
            let plane = dx + c * height * width
            zeroSpan(plane, count: height * width)
            for j in 0..<kW {
                // Input column w reads column w + shift of T's row.
                let shift = g.paddingWidth - j * g.dilationWidth
                let lower = Swift.max(0, -shift), upper = Swift.min(width, splitWidth - shift)
                guard lower < upper else { continue }
                let source = t + ((c * kW + j) * height * splitWidth + shift)
                for h in 0..<height {
                    let row = plane + h * width, from = source + h * splitWidth
                    for column in lower..<upper { row[column] += from[column] }
                }
            }
        }
    }
}
