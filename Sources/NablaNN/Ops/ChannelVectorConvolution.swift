import NablaTensor

/// The direct forward pass vectorized over *output channels* instead of pixels, for layers whose
/// output rows are too short for the pixel vectors.
///
/// The pixel-vector kernels (``BroadcastKernel``) lay `L`-lane vectors over the padded grid: on
/// LeNet's 6→16 layer (14×14 input, 5×5 kernel, 10×10 output) a 16-lane vector spans one 10-pixel
/// output row and 6 padding columns, and the 9 vectors per sample compute 144 pixels for 100 (69%).
/// Here a vector holds `L` output channels of one pixel:
///
///     y[o₀ + l][oh][ow] = b[o₀ + l] + Σ_k x̂[tap(k) + oh·Wp + ow] · W[o₀ + l][k]      (l < L)
///
/// — one broadcast input value times one vector of packed weights per tap, so every lane is an
/// output channel and no lane is discarded when `O` is a multiple of `L`. A register tile of
/// ``ChannelVectorKernel/tile2x12(depth:weights:taps:input:rowPitch:initial:output:_:)`` holds two
/// output rows × 12 columns (24 accumulators); rows of up to 12 pixels fit one tile, the columns past
/// `Wo` are computed and dropped (LeNet: 10 of 12, 83%). On 16-register targets (AVX2) a tile is one
/// row × 5 or 6 columns × two channel vectors (``ChannelVectorKernel/tile1x5x2(depth:weights:taps:input:initial:output:_:)``,
/// `NarrowRegisterKernels.swift`; LeNet: 10 of 10 columns). Taps run in the order of the pixel kernels
/// (kernel-row-major, ``DirectConvolutionLayout/writeTapOffsets(_:padding:kernelRowMajor:)``), one fused
/// multiply-add each from the bias, so each output is the same sum in the same order: the same values
/// as the pixel kernels (which may skip taps that read only padding; a skipped `w·0` can differ only in
/// the sign of a zero sum).
extension DirectConvolution {
    /// Output columns of one 32-register ``ChannelVectorKernel`` tile, and the most any tile covers.
    static let channelTileColumns = 12

    /// Tests force the channel-vector forward pass on (`true`) or off (`false`); `nil` applies
    /// ``vectorizesChannels(_:lanes:registers:)``.
    nonisolated(unsafe) static var channelVectorOverride: Bool?

    /// Whether `g`'s forward pass runs vectorized over output channels: for `O` a multiple of `L` and
    /// output rows of at most 12 pixels, where its multiply-adds (the output rows, columns and channels
    /// rounded to the tile's: ``channelTile(outWidth:registers:)``) are at most 90% of the pixel
    /// kernels' (`O` rounded to their tile's rows × the vectors rounded to its groups × `L`).
    static func vectorizesChannels(_ g: Convolution2DGeometry, lanes: Int,
                                   registers: Int = DirectConvolutionSupport.registerCount) -> Bool {
        if let channelVectorOverride { return channelVectorOverride && fitsChannelTile(g, lanes: lanes) }
        guard fitsChannelTile(g, lanes: lanes) else { return false }
        let layout = DirectConvolutionLayout(forward: g, lanes: lanes)
        let tile = forwardTile(channels: g.outChannels, vectors: layout.computedVectorCount, registers: registers)
        let pixelLanes = (g.outChannels + tile.mr - 1) / tile.mr * tile.mr * layout.computedVectors(groupsOf: tile.nv) * lanes
        let channelTile = channelTile(outWidth: g.outWidth, registers: registers), block = channelTile.vectors * lanes
        let channelLanes = roundedUp(g.outHeight, channelTile.rows) * roundedUp(g.outWidth, channelTile.columns)
            * roundedUp(g.outChannels, block)
        return 10 * channelLanes <= 9 * pixelLanes
    }

    /// The channel-vector register tile: output rows × columns × vectors of channels. 2 × 12 × 1 on
    /// 32-register targets (24 accumulators); on 16-register targets 1 × 5 × 2 or 1 × 6 × 2 (10 or 12
    /// accumulators, two weight vectors per tap), the column count that pads `Wo` least (LeNet's
    /// 10-pixel rows: two tiles of 5).
    static func channelTile(outWidth: Int, registers: Int = DirectConvolutionSupport.registerCount)
        -> (rows: Int, columns: Int, vectors: Int) {
        guard registers < 32 else { return (2, channelTileColumns, 1) }
        return (1, roundedUp(outWidth, 5) < roundedUp(outWidth, 6) ? 5 : 6, 2)
    }

    /// Whether the channel-vector kernel can compute `g` at all: whole blocks of `lanes` output
    /// channels, output rows no wider than the tile.
    static func fitsChannelTile(_ g: Convolution2DGeometry, lanes: Int) -> Bool {
        g.outChannels % lanes == 0 && g.outWidth <= channelTileColumns
    }
}

/// `count` rounded up to a multiple of `step` (the rows, columns and channels a tile computes).
private func roundedUp(_ count: Int, _ step: Int) -> Int { (count + step - 1) / step * step }

extension DirectVector {
    /// `output = W ⋆ input + bias` vectorized over output channels (see the extension of
    /// ``DirectConvolution`` above); the batch split over the cores as in the pixel kernels.
    static func channelVectorForward(input x: UnsafePointer<Scalar>, weight w: UnsafePointer<Scalar>,
                                     bias: UnsafePointer<Scalar>?, output: UnsafeMutablePointer<Scalar>,
                                     geometry g: Convolution2DGeometry, workspace: ConvolutionWorkspace) {
        let lanes = scalarCount, columns = DirectConvolution.channelTileColumns
        let layout = DirectConvolutionLayout(forward: g, lanes: lanes)
        precondition(layout.isValid && DirectConvolution.fitsChannelTile(g, lanes: lanes),
                     "channel-vector convolution: unsupported geometry \(g)")
        let tileShape = DirectConvolution.channelTile(outWidth: g.outWidth)
        let tileRows = tileShape.rows, tileColumns = tileShape.columns, block = tileShape.vectors * lanes
        let blocks = (g.outChannels + block - 1) / block, depth = layout.depth, kW = g.kernelWidth
        let outPlane = layout.outPlane, outSample = g.outChannels * outPlane, inSample = g.inChannels * g.inPlane
        let wp = layout.paddedWidth, wo = g.outWidth, ho = g.outHeight
        // A tile's second row and its columns past Wo (at most 12 columns in all) read up to one grid row
        // and 12 + kW values past the padded sample; they are zeros, and their outputs are dropped.
        let paddedCount = paddedToCacheLine(layout.paddedSampleCount + wp + columns + kW)
        // Each sample's output is staged as [block][row][column][channel] (rows and columns rounded to
        // whole tiles), then written channel by channel: whole output planes in order, where storing each
        // tile's pixels to their `block` planes at once touched `block` cold lines per pixel.
        let stageColumns = roundedUp(wo, tileColumns), blockStage = roundedUp(ho, tileRows) * stageColumns * block
        let stageCount = paddedToCacheLine(blocks * blockStage)
        workspace.withBuffer(of: Scalar.self, count: blocks * block * (depth + 1)) { packed in
            // packed[block][k][l] = W[block·B + l][c][i][j], k = (i·C + c)·kW + j: the pixel kernels' panels
            // with B = vectors·L rows (zeros past O).
            layout.packWeights(outChannels: g.outChannels, mr: block, into: packed) { o, c, i, j in
                w[((o * g.inChannels + c) * g.kernelHeight + i) * kW + j]
            }
            let packedBias = packed + blocks * depth * block
            packedBias.update(repeating: 0, count: blocks * block)
            if let bias { packedBias.update(from: bias, count: g.outChannels) }
            workspace.withBuffer(of: Int.self, count: depth) { taps in
                layout.writeTapOffsets(taps, kernelRowMajor: true)
                workspace.withBuffer(of: Scalar.self, count: g.workerCount * (paddedCount + stageCount)) { scratch in
                    runOnWorkers(g.workerCount, count: g.batch) { range, worker in
                        let padded = scratch + worker * (paddedCount + stageCount), stage = padded + paddedCount
                        padded.update(repeating: 0, count: paddedCount)   // the borders, once
                        for n in range {
                            layout.copyInterior(x + n * inSample, into: padded)
                            let out = output + n * outSample
                            for oh in Swift.stride(from: 0, to: ho, by: tileRows) {
                                for first in Swift.stride(from: 0, to: wo, by: tileColumns) {
                                    for b in 0..<blocks {
                                        let weights = UnsafePointer(packed + b * depth * block), source = UnsafePointer(padded + (oh * wp + first))
                                        let initial = bias == nil ? nil : UnsafePointer(packedBias + b * block)
                                        let tile = stage + (b * blockStage + (oh * stageColumns + first) * block)
                                        switch tileColumns {
                                        case 5:
                                            ChannelVectorKernel.tile1x5x2(depth: depth, weights: weights, taps: taps, input: source,
                                                                          initial: initial, output: tile, Self.self)
                                        case 6:
                                            ChannelVectorKernel.tile1x6x2(depth: depth, weights: weights, taps: taps, input: source,
                                                                          initial: initial, output: tile, Self.self)
                                        case DirectConvolution.channelTileColumns:
                                            ChannelVectorKernel.tile2x12(depth: depth, weights: weights, taps: taps, input: source,
                                                                         rowPitch: wp, initial: initial, output: tile, Self.self)
                                        default:
                                            preconditionFailure("channel-vector convolution: no register tile \(tileShape)")
                                        }
                                    }
                                }
                            }
                            // [block][row][column][channel] → [channel][row][column], the valid rows and columns.
                            for o in 0..<g.outChannels {
                                let values = stage + ((o / block) * blockStage + o % block), plane = out + o * outPlane
                                for oh in 0..<ho {
                                    let row = values + oh * stageColumns * block, target = plane + oh * wo
                                    for ow in 0..<wo { target[ow] = row[ow * block] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The register tile of the channel-vector forward pass: two rows × 12 columns of pixels, each an
/// accumulator of `L` output channels, `acc[r][c] = init + Σ_k x[taps[k] + r·rowPitch + c]·a[k]` for
/// `k < depth`, with `a` the packed weights (`depth × L`) and `x = input`. Writes the 24 vectors to
/// `output` as `[row][column][lane]`. 24 accumulators and the weight vector fill a 32-register file.
enum ChannelVectorKernel {
    @inline(never)
    static func tile2x12<V: SIMD>(
        depth: Int, weights a: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>, input: UnsafePointer<V.Scalar>,
        rowPitch: Int, initial: UnsafePointer<V.Scalar>?, output: UnsafeMutablePointer<V.Scalar>, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        let start: V = initial.map { loadVector($0) } ?? V()
        var s00 = start, s01 = start, s02 = start, s03 = start, s04 = start, s05 = start
        var s06 = start, s07 = start, s08 = start, s09 = start, s0a = start, s0b = start
        var s10 = start, s11 = start, s12 = start, s13 = start, s14 = start, s15 = start
        var s16 = start, s17 = start, s18 = start, s19 = start, s1a = start, s1b = start
        var w = a
        for k in 0..<depth {
            let wv: V = loadVector(w)
            let x = input + taps[k], y = x + rowPitch
            s00 = s00.addingProduct(V(repeating: x[0]), wv); s01 = s01.addingProduct(V(repeating: x[1]), wv)
            s02 = s02.addingProduct(V(repeating: x[2]), wv); s03 = s03.addingProduct(V(repeating: x[3]), wv)
            s04 = s04.addingProduct(V(repeating: x[4]), wv); s05 = s05.addingProduct(V(repeating: x[5]), wv)
            s06 = s06.addingProduct(V(repeating: x[6]), wv); s07 = s07.addingProduct(V(repeating: x[7]), wv)
            s08 = s08.addingProduct(V(repeating: x[8]), wv); s09 = s09.addingProduct(V(repeating: x[9]), wv)
            s0a = s0a.addingProduct(V(repeating: x[10]), wv); s0b = s0b.addingProduct(V(repeating: x[11]), wv)
            s10 = s10.addingProduct(V(repeating: y[0]), wv); s11 = s11.addingProduct(V(repeating: y[1]), wv)
            s12 = s12.addingProduct(V(repeating: y[2]), wv); s13 = s13.addingProduct(V(repeating: y[3]), wv)
            s14 = s14.addingProduct(V(repeating: y[4]), wv); s15 = s15.addingProduct(V(repeating: y[5]), wv)
            s16 = s16.addingProduct(V(repeating: y[6]), wv); s17 = s17.addingProduct(V(repeating: y[7]), wv)
            s18 = s18.addingProduct(V(repeating: y[8]), wv); s19 = s19.addingProduct(V(repeating: y[9]), wv)
            s1a = s1a.addingProduct(V(repeating: y[10]), wv); s1b = s1b.addingProduct(V(repeating: y[11]), wv)
            w += V.scalarCount
        }
        let n = V.scalarCount
        storeVector(s00, output + 0 &* n); storeVector(s01, output + 1 &* n); storeVector(s02, output + 2 &* n); storeVector(s03, output + 3 &* n)
        storeVector(s04, output + 4 &* n); storeVector(s05, output + 5 &* n); storeVector(s06, output + 6 &* n); storeVector(s07, output + 7 &* n)
        storeVector(s08, output + 8 &* n); storeVector(s09, output + 9 &* n); storeVector(s0a, output + 10 &* n); storeVector(s0b, output + 11 &* n)
        storeVector(s10, output + 12 &* n); storeVector(s11, output + 13 &* n); storeVector(s12, output + 14 &* n); storeVector(s13, output + 15 &* n)
        storeVector(s14, output + 16 &* n); storeVector(s15, output + 17 &* n); storeVector(s16, output + 18 &* n); storeVector(s17, output + 19 &* n)
        storeVector(s18, output + 20 &* n); storeVector(s19, output + 21 &* n); storeVector(s1a, output + 22 &* n); storeVector(s1b, output + 23 &* n)
    }
}
