/// Direct correlations with a single output channel — the input gradient of a layer that reads one
/// image channel (LeNet's 1→6: `∂x = ∂ŷ ⋆ W̃` has one output plane), or the forward pass of a layer
/// with one output channel — on the kernel-row-reusing tiles of `RowReuseKernel.swift`.
///
/// The general tiles hold `mr ≥ 3` output channels, so with one channel at most a third of their
/// multiply-adds are useful; a one-row tile would load a vector for every multiply-add. Here a tile is
/// eight output rows of one vector column: each input row it loads serves every output row its kernel
/// rows meet (`kH` multiply-adds per load inside the tile).
///
/// Each sample is copied into the interior of a padded buffer as the general kernels' (whose zero
/// borders are written once per call: ``DirectConvolutionLayout/copyInterior(_:into:)``), the
/// tiles walk the output plane in blocks of eight rows of the padded grid's pitch `Wp`, and the plane is
/// computed into a staging grid of pitch `Wp` whose columns `ow < Wo` are copied out. Within a block the
/// vector columns run last to first: a last vector that reaches past its row (when `⌈Wo/L⌉·L > Wp`)
/// writes into the next row's first lanes, which that row's first vector overwrites afterwards. Rows past
/// `Ho` (the last block's) read the buffer's zeroed tail and are discarded.
///
/// Every output element sums its taps in the order `c`, `j`, `i` (the general kernels: `i`, `c`, `j`),
/// one fused multiply-add each, so its bits do not depend on the thread count.
extension DirectConvolution {
    /// Rows of one register tile.
    static let rowReuseTileRows = 8

    /// Tests force the single-channel tiles on (where their kernel heights allow) or off.
    nonisolated(unsafe) static var rowReuseOverride: Bool?

    /// Whether a correlation of `layout` with `outChannels` output planes runs on the row-reusing tiles:
    /// one output plane, unit row dilation, a kernel of height 3 or 5, and no more vectors to compute than
    /// the general tiles' `mr` rows × ``DirectConvolutionLayout/vectorCount``.
    static func reusesRows(_ layout: DirectConvolutionLayout, outChannels: Int,
                           registers: Int = DirectConvolutionSupport.registerCount) -> Bool {
        guard outChannels == 1 && layout.dilationHeight == 1 && (layout.kernelHeight == 3 || layout.kernelHeight == 5) else {
            return false
        }
        if let rowReuseOverride { return rowReuseOverride }
        let rows = (layout.outHeight + rowReuseTileRows - 1) / rowReuseTileRows * rowReuseTileRows
        let vectorsPerRow = (layout.outWidth + layout.lanes - 1) / layout.lanes
        let mr = forwardTile(channels: 1, registers: registers).mr
        return rows * vectorsPerRow <= mr * layout.vectorCount
    }
}

extension DirectVector {
    /// `output[n] = bias + W ⋆ pad(input[n])` for the one output plane of `layout`, `weight(c, i, j)`
    /// the kernel; the batch split over `workers`. With `finish`, `output` holds one plane per worker and
    /// each sample is handed to `finish(sample, plane)` as in ``DirectCorrelation``.
    static func rowReuseCorrelation(
        _ layout: DirectConvolutionLayout, batch: Int, input: UnsafePointer<Scalar>, inputSample: Int,
        weight: (_ channel: Int, _ row: Int, _ column: Int) -> Scalar, bias: Scalar,
        output: UnsafeMutablePointer<Scalar>, workers: Int, workspace: ConvolutionWorkspace,
        finish: ((_ sample: Int, _ output: UnsafePointer<Scalar>) -> Void)? = nil
    ) {
        precondition(layout.isValid && layout.lanes == scalarCount && layout.dilationHeight == 1
                     && (layout.kernelHeight == 3 || layout.kernelHeight == 5), "direct convolution: invalid layout \(layout)")
        let tileRows = DirectConvolution.rowReuseTileRows, lanes = scalarCount
        let kH = layout.kernelHeight, kW = layout.kernelWidth, channels = layout.channels
        let wp = layout.paddedWidth, ho = layout.outHeight, wo = layout.outWidth, outPlane = layout.outPlane
        let blocks = (ho + tileRows - 1) / tileRows, vectorsPerRow = (wo + lanes - 1) / lanes
        // The last tile reads up to input row `blocks·8 − 1 + kH − 1` of the last plane.
        let reach = (channels - 1) * layout.paddedPlane + (blocks * tileRows + kH - 2) * wp
            + (vectorsPerRow - 1) * lanes + (kW - 1) * layout.dilationWidth + lanes
        let paddedCount = paddedToCacheLine(Swift.max(layout.paddedSampleCount, reach))
        let stagingCount = paddedToCacheLine(blocks * tileRows * wp + vectorsPerRow * lanes)
        workspace.withBuffer(of: Scalar.self, count: layout.depth) { packed in
            // [C][kW][kH]: the order the tiles walk their taps.
            var k = 0
            for c in 0..<channels { for j in 0..<kW { for i in 0..<kH { packed[k] = weight(c, i, j); k += 1 } } }
            workspace.withBuffer(of: Scalar.self, count: workers * (paddedCount + stagingCount)) { scratch in
                runOnWorkers(workers, count: batch) { range, worker in
                    let padded = scratch + worker * (paddedCount + stagingCount), staging = padded + paddedCount
                    // The padding and the tail (which only the discarded rows read) are zeroed once;
                    // each sample writes only the interior.
                    zeroSpan(padded, count: paddedCount)
                    for n in range {
                        layout.copyInterior(input + n * inputSample, into: padded)
                        for block in 0..<blocks {
                            let offset = block * tileRows * wp
                            for column in Swift.stride(from: vectorsPerRow - 1, through: 0, by: -1) {
                                tile(kernelHeight: kH, channels: channels, kernelWidth: kW, dilationWidth: layout.dilationWidth,
                                     weights: UnsafePointer(packed), input: UnsafePointer(padded + (offset + column * lanes)),
                                     planeStride: layout.paddedPlane, rowPitch: wp,
                                     output: staging + (offset + column * lanes), initial: bias)
                            }
                        }
                        let out = output + (finish == nil ? n : worker) * outPlane
                        for oh in 0..<ho { copySpan(out + oh * wo, staging + oh * wp, count: wo) }
                        finish?(n, UnsafePointer(out))
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func tile(kernelHeight: Int, channels: Int, kernelWidth: Int, dilationWidth: Int,
                             weights: UnsafePointer<Scalar>, input: UnsafePointer<Scalar>, planeStride: Int, rowPitch: Int,
                             output: UnsafeMutablePointer<Scalar>, initial: Scalar) {
        if kernelHeight == 5 {
            RowReuseKernel.rows8Height5(channels: channels, kernelWidth: kernelWidth, dilationWidth: dilationWidth, weights: weights,
                                        input: input, planeStride: planeStride, rowPitch: rowPitch,
                                        output: output, outputPitch: rowPitch, initial: initial, Self.self)
        } else {
            RowReuseKernel.rows8Height3(channels: channels, kernelWidth: kernelWidth, dilationWidth: dilationWidth, weights: weights,
                                        input: input, planeStride: planeStride, rowPitch: rowPitch,
                                        output: output, outputPitch: rowPitch, initial: initial, Self.self)
        }
    }
}
