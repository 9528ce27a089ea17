import NablaTensor

/// Unit-stride convolutions under `--precision bf16` without a column matrix, on `vdpbf16ps`.
///
/// The autocast semantics of ``conv2d(_:weight:bias:stride:padding:dilation:groups:)`` under bf16
/// (operands rounded to bf16, products exact, sums in Float) computed as the Float direct convolution
/// (``DirectConvolution``) computes its own:
///
/// - forward, `y[o, p] = b[o] + Σ_(q,i,j) W[o, 2q, i, j]·x̂[2q, …] + W[o, 2q+1, i, j]·x̂[2q+1, …]`: the
///   input is padded once per sample into channel-pair words (`BFloat16Kernels.padPairs`), the weights
///   packed `[⌈O/mr⌉][⌈C/2⌉·kH·kW][mr]` as pair words, and each `mr × nv` register tile adds two
///   products per lane and tap with one `vdpbf16ps` — half the instructions of the Float kernel;
/// - input gradient: the same kernel on the padded upstream gradient with the flipped, transposed
///   kernel (pairs of output channels);
/// - weight gradient of 3×3 kernels (at least 64 taps, as the Float ``OuterKernel``): the reduction
///   runs over pixels, so pairs of neighbouring output pixels share one `vdpbf16ps` lane
///   (``pairedWeightGradient(input:upstream:weightGradient:geometry:workspace:)``);
/// - other weight gradients: the Float direct kernels, fed with a bf16-rounded copy of the input and
///   the (already rounded) upstream gradient — each product of two bf16 values is exact in Float, so
///   this is the arithmetic of a bf16 dot product.
///
/// Every output element's sum runs over its taps in a fixed order, so results do not depend on the
/// thread count; they differ from the im2col + bf16 GEMM path (and from the portable fallback) only in
/// the order of Float additions. Used when the CPU runs the bf16 kernels (``BFloat16Kernels/usesHardware``)
/// and the geometry allows a direct convolution (``Convolution2DGeometry/supportsDirectConvolution``).
enum BFloat16DirectConvolution {
    /// Whether `g` under `algorithm` runs here rather than on im2col and the bf16 GEMM.
    static func applies(to g: Convolution2DGeometry, algorithm: ConvolutionAlgorithm) -> Bool {
        algorithm != .gemm && BFloat16Kernels.usesHardware && g.supportsDirectConvolution
    }

    /// Pixels per vector: one ZMM register of 32-bit words.
    static let lanes = 16

    /// `output = W ⋆ input + bias` (`bias` already bf16, as the caller rounds it).
    static func forward(input x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        output: UnsafeMutablePointer<Float>, geometry g: Convolution2DGeometry, workspace: ConvolutionWorkspace) {
        correlate(DirectConvolutionLayout(forward: g, lanes: lanes), batch: g.batch, input: x,
                  outChannels: g.outChannels, bias: bias, output: output, workers: g.workerCount, workspace: workspace) { o, c, i, j in
            w[((o * g.inChannels + c) * g.kernelHeight + i) * g.kernelWidth + j]
        }
    }

    /// Overwrites the requested gradients of `g` (the bias gradient is the caller's); `upstream` must hold
    /// bf16 values (conv2d rounds it before the backward products).
    static func backward(input x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, upstream gy: UnsafePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>?, weightGradient dw: UnsafeMutablePointer<Float>?,
                         geometry g: Convolution2DGeometry, workspace: ConvolutionWorkspace) {
        if let dx {
            // ∂x = ∂ŷ ⋆ W̃ with W̃[c, o, i, j] = W[o, c, kH−1−i, kW−1−j].
            let kH = g.kernelHeight, kW = g.kernelWidth
            correlate(DirectConvolutionLayout(inputGradient: g, lanes: lanes), batch: g.batch, input: gy,
                      outChannels: g.inChannels, bias: nil, output: dx, workers: g.workerCount, workspace: workspace) { c, o, i, j in
                w[((o * g.inChannels + c) * kH + (kH - 1 - i)) * kW + (kW - 1 - j)]
            }
        }
        guard let dw else { return }
        if g.kernelHeight == 3 && g.kernelWidth == 3 && g.inChannels * 9 >= 64 {
            pairedWeightGradient(input: x, upstream: gy, weightGradient: dw, geometry: g, workspace: workspace)
            return
        }
        // The caller passes the upstream gradient already rounded (conv2d rounds it once for all three
        // products); the input is rounded here, in one copying pass.
        let inputCount = g.batch * g.inChannels * g.inPlane
        workspace.withBuffer(of: Float.self, count: inputCount) { rounded in
            BFloat16Kernels.round(x, into: rounded, count: inputCount)
            DirectConvolution.backward(input: rounded, weight: w, upstream: gy, inputGradient: nil, weightGradient: dw,
                                       geometry: g, workspace: workspace)
        }
    }

    /// The 3×3 weight gradient on `vdpbf16ps`, `∂W[o, c, i, j] = Σ_n Σ_p ∂y[n, o, p]·x̂_n[c, tap(i, j) + p]`
    /// with the pixels taken in pairs `(2q, 2q+1)` of each output row: per sample, the input as sliding
    /// pixel pairs (`nabla_bf16_sliding_pairs`) and the upstream gradient as pixel pairs with channels
    /// last (`nabla_bf16_transpose_pixel_pairs`); per input channel and pair of 16-channel vectors, one
    /// sweep accumulates `∂Wᵀ[(c, i, j)][o]` in the worker's partial sum (the layout of the Float
    /// ``OuterKernel``). Overwrites `dw` with the partials summed in worker order.
    private static func pairedWeightGradient(input x: UnsafePointer<Float>, upstream gy: UnsafePointer<Float>,
                                             weightGradient dw: UnsafeMutablePointer<Float>, geometry g: Convolution2DGeometry,
                                             workspace: ConvolutionWorkspace) {
        let layout = DirectConvolutionLayout(forward: g, lanes: lanes)
        let channels = g.inChannels, outChannels = g.outChannels, workers = g.workerCount
        let vectors = (outChannels + 15) / 16, stride = vectors * 16, depth = channels * 9
        let plane = layout.paddedPlane, columnPairs = (layout.outWidth + 1) / 2
        let slidingCount = paddedToCacheLine(channels * plane)
        let pairedCount = paddedToCacheLine(layout.outHeight * columnPairs * stride)
        let partialCount = paddedToCacheLine(depth * stride)
        let inSample = channels * g.inPlane, outSample = outChannels * g.outPlane
        workspace.withBuffer(of: Float.self, count: workers * partialCount) { partials in
        workspace.withBuffer(of: UInt32.self, count: workers * (slidingCount + pairedCount)) { scratch in
            runOnWorkers(workers, count: g.batch) { range, worker in
                let partial = partials + worker * partialCount
                let sliding = scratch + worker * (slidingCount + pairedCount), paired = sliding + slidingCount
                partial.update(repeating: 0, count: partialCount)
                for n in range {
                    BFloat16Kernels.slidingPairs(x + n * inSample, channels: channels, height: g.inHeight, width: g.inWidth,
                                                 paddingHeight: g.paddingHeight, paddingWidth: g.paddingWidth,
                                                 into: sliding, count: slidingCount)
                    BFloat16Kernels.transposePixelPairs(gy + n * outSample, channels: outChannels, height: layout.outHeight,
                                                        width: layout.outWidth, into: paired, stride: stride)
                    for c in 0..<channels {
                        var v = 0
                        while v < vectors {
                            let width = vectors - v >= 2 ? 2 : 1
                            BFloat16Kernels.outer3x3(vectors: width, input: sliding + c * plane, gradient: paired + v * 16,
                                                     out: partial + c * 9 * stride + v * 16, rows: layout.outHeight,
                                                     columnPairs: columnPairs, pitch: layout.paddedWidth,
                                                     rowStep: g.dilationHeight * layout.paddedWidth, columnStep: g.dilationWidth,
                                                     gradientStride: stride, outStride: stride)
                            v += width
                        }
                    }
                }
            }
            sumTransposedPartials(partials, workers: workers, workerStride: partialCount, rowStride: stride, depth: depth,
                                  outChannels: outChannels, into: dw)
        }
        }
    }

    /// `output[n][o] = bias[o] + Σ_(c,i,j) weight(o, c, i, j)·pad(input[n])[c, …]` over `layout`'s
    /// channels, which are paired two per word.
    private static func correlate(
        _ floatLayout: DirectConvolutionLayout, batch: Int, input: UnsafePointer<Float>, outChannels: Int,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, workers: Int, workspace: ConvolutionWorkspace,
        weight: (_ output: Int, _ channel: Int, _ row: Int, _ column: Int) -> Float
    ) {
        let channels = floatLayout.channels
        var layout = floatLayout
        layout.channels = (channels + 1) / 2
        let tile = DirectConvolution.forwardTile(channels: outChannels, registers: 32)
        let mr = tile.mr, rows = (outChannels + mr - 1) / mr * mr, depth = layout.depth
        workspace.withBuffer(of: UInt32.self, count: rows * depth) { packed in
        workspace.withBuffer(of: Float.self, count: rows) { packedBias in
            // Word (o, q, i, j) of the pair layout: (W[o, 2q, i, j], W[o, 2q+1, i, j]), zero past the last channel.
            layout.packWeights(outChannels: outChannels, mr: mr, into: packed) { o, q, i, j in
                BFloat16Kernels.pair(weight(o, 2 * q, i, j), 2 * q + 1 < channels ? weight(o, 2 * q + 1, i, j) : 0)
            }
            if let bias { for o in 0..<rows { packedBias[o] = o < outChannels ? bias[o] : 0 } }
            let initial = bias == nil ? nil : UnsafePointer(packedBias)
            let driver = DirectCorrelation<UInt32, Float>(layout: layout, outChannels: outChannels, tile: tile)
            let sample = channels * layout.height * layout.width, paddedCount = layout.paddedSampleCount
            driver.run(batch: batch, input: input, inputSample: sample, output: output, workers: workers, workspace: workspace,
                       pad: { source, padded in
                           BFloat16Kernels.padPairs(source, channels: channels, height: layout.height, width: layout.width,
                                                    paddingHeight: layout.paddingHeight, paddingWidth: layout.paddingWidth,
                                                    into: padded, count: paddedCount)
                       }, kernel: PairTile(shape: tile, depth: depth, packedWeights: UnsafePointer(packed), bias: initial))
        }
        }
    }
}

/// The bf16 pair tile (``BFloat16Kernels/directTile(mr:nv:depth:weights:taps:input:inputOffsets:output:outputOffsets:ldc:initial:)``)
/// of a ``DirectCorrelation`` over channel-pair words, the weights packed `[⌈O/mr⌉][depth][mr]`.
private struct PairTile: DirectCorrelationTile {
    var shape: (mr: Int, nv: Int)
    var depth: Int
    var packedWeights: UnsafePointer<UInt32>
    var bias: UnsafePointer<Float>?

    @inline(__always)
    func compute(block: Int, kStart: Int, kCount: Int, taps: UnsafePointer<Int>, input: UnsafePointer<UInt32>,
                 inputOffsets: UnsafePointer<Int>, output: UnsafeMutablePointer<Float>,
                 outputOffsets: UnsafePointer<Int>, ldc: Int) {
        BFloat16Kernels.directTile(mr: shape.mr, nv: shape.nv, depth: kCount,
                                   weights: packedWeights + (block * depth + kStart) * shape.mr, taps: taps, input: input,
                                   inputOffsets: inputOffsets, output: output, outputOffsets: outputOffsets, ldc: ldc,
                                   initial: bias.map { $0 + block * shape.mr })
    }
}
