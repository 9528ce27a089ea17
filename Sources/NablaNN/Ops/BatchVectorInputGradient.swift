import NablaTensor

/// The input gradient of a direct convolution vectorized over *samples*, for layers whose planes are
/// too small for pixel vectors.
///
/// With pixels in the lanes, a padding-free layer's input gradient either multiplies the zeros of the
/// padded upstream gradient (the plain correlation) or computes the kernel's vertical reach in zero
/// rows (the column split, ``DirectConvolution/splitsColumns(_:lanes:)``): LeNet's 6→16 layer (10×10
/// upstream gradient, 5×5 kernel, 14×14 input) computes 23,040 vector multiply-adds per sample for
/// 15,000 useful ones. Here a vector holds one pixel of `L` samples:
///
///     ∂x[n][c][h][w] = Σ_{i ∈ I(h)} Σ_{j ∈ J(w)} Σ_o W[o, c, i, j] · ∂y[n][o][h + pH − i·dH][w + pW − j·dW],
///
/// `I(h)` the kernel rows whose upstream row `h + pH − i·dH` lies in `[0, Ho)`, `J(w)` likewise — every
/// pixel sums exactly its valid taps, for all `L` samples of a vector at once, so no product is a zero
/// of the padding and no lane is discarded (but the last block's missing samples). The upstream gradient
/// is transposed once per block of `S = nb·L` samples to `[Ho·Wo][O][S]`, so one tap's `O` channels ×
/// `nb` vectors are one contiguous run; a register tile of ``BatchVectorKernel`` holds `mc` input
/// channels × `nb` vectors of one input pixel (6 × 4 on 32-register targets, 6 × 2 on 16), one broadcast
/// weight per channel and one load per vector each step. The tiles of one input row are staged as
/// `[W][C][S]` and written to the `[N][C][H][W]` gradient row by row.
///
/// Each element sums its taps in one fixed order (`i`, then `j`, then `o`) from zero, one fused
/// multiply-add each, so the bits do not depend on the thread count; they differ in the last places
/// from the pixel kernels', which add the kernel columns in another order.
extension DirectConvolution {
    /// Tests force the batch-vector input gradient on (`true`) or off (`false`); `nil` applies
    /// ``vectorizesBatch(_:lanes:scalarSize:registers:)``.
    nonisolated(unsafe) static var batchVectorOverride: Bool?

    /// The register tile of ``BatchVectorKernel``: input channels × vectors of samples.
    static func batchTile(registers: Int = DirectConvolutionSupport.registerCount) -> (channels: Int, vectors: Int) {
        registers >= 32 ? (6, 4) : (6, 2)
    }

    /// Largest transposed upstream-gradient block (bytes) the rule accepts: a block is read back tap by
    /// tap for every input row, and should stay in a core's L2 cache.
    static let batchBlockBytes = 512 << 10

    /// Whether `g`'s input gradient runs vectorized over samples: where its lanes (the batch rounded up
    /// to whole blocks × the valid taps of every input pixel × `O` × `C` rounded up to the tile) are at
    /// most 75% of the pixel kernels' (``pixelInputGradientLanes(_:lanes:registers:)``) — the quarter
    /// pays for the two transpositions — and a block of the transposed upstream gradient fits
    /// ``batchBlockBytes``. LeNet's 6→16 layer at batch 128 and 16 lanes: 240,000 against 368,640 per
    /// sample; the 3×3 "same" layers compute about as much either way.
    static func vectorizesBatch(_ g: Convolution2DGeometry, lanes: Int, scalarSize: Int,
                                registers: Int = DirectConvolutionSupport.registerCount) -> Bool {
        if let batchVectorOverride { return batchVectorOverride }
        let tile = batchTile(registers: registers), samples = tile.vectors * lanes
        guard g.outPlane * g.outChannels * samples * scalarSize <= batchBlockBytes else { return false }
        let blocks = (g.batch + samples - 1) / samples
        let channels = (g.inChannels + tile.channels - 1) / tile.channels * tile.channels
        let batchLanes = blocks * samples * validTapCount(g) * g.outChannels * channels
        return 4 * batchLanes <= 3 * g.batch * pixelInputGradientLanes(g, lanes: lanes, registers: registers)
    }

    /// `Σ_{h,w} |I(h)|·|J(w)|`: the kernel taps that read the upstream gradient, over all input pixels.
    static func validTapCount(_ g: Convolution2DGeometry) -> Int {
        func count(input: Int, output: Int, kernel: Int, padding: Int, dilation: Int) -> Int {
            (0..<input).reduce(0) { sum, h in
                let taps = validTaps(h, output: output, kernel: kernel, padding: padding, dilation: dilation)
                return sum + taps.count
            }
        }
        return count(input: g.inHeight, output: g.outHeight, kernel: g.kernelHeight, padding: g.paddingHeight, dilation: g.dilationHeight)
            * count(input: g.inWidth, output: g.outWidth, kernel: g.kernelWidth, padding: g.paddingWidth, dilation: g.dilationWidth)
    }

    /// The kernel indices `i` whose upstream index `h + padding − i·dilation` lies in `[0, output)`.
    @inline(__always)
    static func validTaps(_ h: Int, output: Int, kernel: Int, padding: Int, dilation: Int) -> Range<Int> {
        let first = h &+ padding &- output &+ 1   // i ≥ first / dilation
        let lower = first <= 0 ? 0 : (first &+ dilation &- 1) / dilation
        let upper = Swift.min(kernel, (h &+ padding) / dilation &+ 1)
        return lower < upper ? lower..<upper : lower..<lower
    }
}

extension DirectVector {
    /// Overwrites `inputGradient` (`[N][C][H][W]`) with `g`'s input gradient vectorized over samples (see
    /// the extension of ``DirectConvolution`` above): the upstream gradient transposed per block, then
    /// one task per block and input row, both split over `g`'s workers.
    static func batchVectorInputGradient(
        weight w: UnsafePointer<Scalar>, upstream gy: UnsafePointer<Scalar>, inputGradient dx: UnsafeMutablePointer<Scalar>,
        geometry g: Convolution2DGeometry, workspace: ConvolutionWorkspace
    ) {
        let lanes = scalarCount, tile = DirectConvolution.batchTile(), mc = tile.channels, samples = tile.vectors * lanes
        let channels = g.inChannels, outChannels = g.outChannels, kH = g.kernelHeight, kW = g.kernelWidth
        let channelTiles = (channels + mc - 1) / mc, paddedChannels = channelTiles * mc
        let height = g.inHeight, width = g.inWidth, outPlane = g.outPlane, inPlane = g.inPlane
        let blocks = (g.batch + samples - 1) / samples, blockCount = paddedToCacheLine(outPlane * outChannels * samples)
        let stageCount = paddedToCacheLine(width * paddedChannels * samples), workers = g.workerCount
        // packed[t][i][j][o][m] = W[o][t·mc + m][i][j], zero past C.
        let tileWeights = kH * kW * outChannels * mc
        workspace.withBuffer(of: Scalar.self, count: channelTiles * tileWeights) { packed in
            for t in 0..<channelTiles {
                for i in 0..<kH {
                    for j in 0..<kW {
                        for o in 0..<outChannels {
                            let target = packed + t * tileWeights + ((i * kW + j) * outChannels + o) * mc
                            for m in 0..<mc {
                                let c = t * mc + m
                                target[m] = c < channels ? w[((o * channels + c) * kH + i) * kW + j] : 0
                            }
                        }
                    }
                }
            }
            workspace.withBuffer(of: Scalar.self, count: blocks * blockCount + workers * stageCount) { buffer in
                let stages = buffer + blocks * blockCount
                let groups = samples / lanes
                runOnWorkers(workers, count: blocks * groups) { range, _ in
                    for task in range {
                        transposeUpstream(gy, geometry: g, firstSample: task * lanes, samples: samples,
                                          into: buffer + (task / groups) * blockCount + (task % groups) * lanes)
                    }
                }
                let step = outChannels * samples, rowStep = -g.dilationHeight * g.outWidth * step, columnStep = -g.dilationWidth * step
                runOnWorkers(workers, count: blocks * height) { range, worker in
                    let stage = stages + worker * stageCount
                    for task in range {
                        let block = task / height, h = task % height, transposed = UnsafePointer(buffer + block * blockCount)
                        let rows = DirectConvolution.validTaps(h, output: g.outHeight, kernel: kH, padding: g.paddingHeight,
                                                               dilation: g.dilationHeight)
                        for w in 0..<width {
                            let columns = DirectConvolution.validTaps(w, output: g.outWidth, kernel: kW, padding: g.paddingWidth,
                                                                      dilation: g.dilationWidth)
                            // The first tap (i, j) = (rows.lowerBound, columns.lowerBound) reads upstream pixel (oh, ow);
                            // a pixel no tap reaches (dilation) sums nothing and gets zeros.
                            let oh = h + g.paddingHeight - rows.lowerBound * g.dilationHeight
                            let ow = w + g.paddingWidth - columns.lowerBound * g.dilationWidth
                            let source = rows.isEmpty || columns.isEmpty ? transposed : transposed + (oh * g.outWidth + ow) * step
                            let taps = BatchVectorKernel.Taps(rows: rows.count, columns: columns.count, depth: outChannels,
                                                              rowStep: rowStep, columnStep: columnStep,
                                                              weightRowStep: kW * outChannels * mc)
                            for t in 0..<channelTiles {
                                let weights = UnsafePointer(packed + t * tileWeights + (rows.lowerBound * kW + columns.lowerBound) * outChannels * mc)
                                let output = stage + (w * paddedChannels + t * mc) * samples
                                if tile.vectors == 4 {
                                    BatchVectorKernel.tile6x4(taps, gradient: source, weights: weights, output: output, Self.self)
                                } else {
                                    BatchVectorKernel.tile6x2(taps, gradient: source, weights: weights, output: output, Self.self)
                                }
                            }
                        }
                        // stage[w][c][s] → ∂x[n₀ + s][c][h][w].
                        let first = block * samples, count = Swift.min(samples, g.batch - first)
                        scatterRow(stage, count: count, channels: channels, width: width, stride: paddedChannels * samples,
                                   samples: samples, into: dx + (first * channels * inPlane + h * width), plane: inPlane)
                    }
                }
            }
        }
    }

    /// `target[(p·O + o)·S + l] = ∂y[n₀ + l][o][p]` for the `L` samples from `n₀ = firstSample` (`S =
    /// samples`), zeros for the samples past the batch: `L × L` blocks of the samples' `[O][P]` values
    /// transposed in registers (``LanePermutable/transposeSquare(_:scratch:)``), the last `O·P mod L`
    /// values one by one.
    static func transposeUpstream(_ gy: UnsafePointer<Scalar>, geometry g: Convolution2DGeometry, firstSample: Int,
                                  samples: Int, into target: UnsafeMutablePointer<Scalar>) {
        let lanes = scalarCount, plane = g.outPlane, depth = g.outChannels &* plane
        let count = Swift.max(0, Swift.min(lanes, g.batch &- firstSample)), source = gy + firstSample &* depth
        withUnsafeTemporaryAllocation(of: Self.self, capacity: 2 &* lanes) { buffer in
            let rows = buffer.baseAddress!, scratch = rows + lanes
            var first = 0, o = 0, p = 0   // (o, p) of value `first`
            while first &+ lanes <= depth {
                for l in 0..<lanes { rows[l] = l < count ? loadVector(source + (l &* depth &+ first)) : Self() }
                transposeSquare(rows, scratch: scratch)
                for q in 0..<lanes {
                    storeVector(rows[q], target + (p &* g.outChannels &+ o) &* samples)
                    p &+= 1
                    if p == plane { p = 0; o &+= 1 }
                }
                first &+= lanes
            }
            for value in first..<depth {
                let to = target + ((value % plane) &* g.outChannels &+ value / plane) &* samples
                for l in 0..<lanes { to[l] = l < count ? source[l &* depth &+ value] : 0 }
            }
        }
    }

    /// `target[s·C·H·W + c·H·W + w] = stage[w·stride + c·S + s]` for `s < count`, `c < channels`,
    /// `w < width` (`S = samples`): one input row of every sample of a block from the kernels' staging,
    /// in `L × L` blocks of (columns, samples) transposed in registers and stored column-contiguous.
    static func scatterRow(_ stage: UnsafePointer<Scalar>, count: Int, channels: Int, width: Int, stride: Int,
                           samples: Int, into target: UnsafeMutablePointer<Scalar>, plane: Int) {
        let lanes = scalarCount
        withUnsafeTemporaryAllocation(of: Self.self, capacity: 2 &* lanes) { buffer in
            let rows = buffer.baseAddress!, scratch = rows + lanes
            for w0 in Swift.stride(from: 0, to: width, by: lanes) {
                let columns = Swift.min(lanes, width &- w0)
                for c in 0..<channels {
                    for s0 in Swift.stride(from: 0, to: count, by: lanes) {
                        let from = stage + (w0 &* stride &+ c &* samples &+ s0)
                        for q in 0..<lanes { rows[q] = q < columns ? loadVector(from + q &* stride) : Self() }
                        transposeSquare(rows, scratch: scratch)
                        let to = target + ((s0 &* channels &+ c) &* plane &+ w0)
                        for l in 0..<Swift.min(lanes, count &- s0) {
                            store(rows[l], prefix: columns, to: to + l &* channels &* plane)
                        }
                    }
                }
            }
        }
    }
}
