import NablaTensor

/// Direct convolution: the forward pass and both gradients of a unit-stride convolution with Nabla's
/// own SIMD micro-kernels (`DirectConvolutionKernels.swift`), without a column matrix.
///
/// Each sample is copied once into a zero-padded buffer (``DirectConvolutionLayout``), `kH·kW` times
/// smaller than im2col's column matrix; the kernels read shifted rows of it directly:
///
/// - forward, `y[o, p] = b[o] + Σ_k W[o, k]·x̂[tap(k) + p]`: an output-stationary register tile of
///   `mr` output channels × `nv` vectors of pixels, one broadcast weight per channel and tap (the
///   weights are packed `[⌈O/mr⌉][C·kH·kW][mr]` once per call);
/// - input gradient: the same kernel on the padded upstream gradient with the flipped, transposed
///   kernel (`∂x = ∂ŷ ⋆ W̃`, Dumoulin & Visin 2016, "A guide to convolution arithmetic"), or — where
///   that multiplies mostly padding — split by kernel column (`ColumnSplitInputGradient.swift`), or,
///   for small planes at training batches, with samples in the lanes and only each input pixel's valid
///   taps summed (`BatchVectorInputGradient.swift`); with one output plane (one image channel), on tiles of
///   eight rows that reuse each loaded input row for every kernel row (`RowReuseCorrelation.swift`);
/// - weight gradient, `∂W[o, k] = Σ_n Σ_p ∂y[n, o, p]·x̂_n[tap(k) + p]`: a tile of `mr` channels × `nt`
///   taps whose accumulators hold per-lane partial sums over the pixels of a block of samples — on the
///   dense upstream gradient with column-masked input taps for "same" layers whose rows are not whole
///   vectors (`MaskedWeightGradient.swift`), or with output channels in the lanes for deep 3×3 and 5×5
///   layers (``OuterKernel``, `OuterWeightGradient.swift`).
///
/// Every output element's sum runs over its taps in an order fixed by its kernel family (the plain
/// correlation's: `c`, then `i`, then `j`), with one fused multiply-add per tap, so the forward pass and
/// the input gradient give the same bits for any thread count; the weight gradient adds per-lane
/// partial sums, per-block lane totals and per-worker partial gradients in a fixed order, the same bits
/// for a given thread count (as the BLAS path).
/// The batch is split across the cores as in the BLAS path.
enum DirectConvolution {
    /// The ``DotKernel`` weight-gradient register tile for `channels` output channels and `depth` taps:
    /// (channels, taps). 3×9 on 32-register targets. On 16 registers 2×6 or 4×3 — both 12 multiply-adds
    /// per vector step, within the load ports' budget — whichever multiplies the fewest padded
    /// channel-tap pairs, `⌈channels/rows⌉·rows × ⌈depth/taps⌉·taps`; ties go to 4×3, which loads
    /// fewer vectors (a 3-channel 3×3 layer's 27 taps are 30 for 2×6, 27 for 4×3).
    static func gradientTile(channels: Int, depth: Int,
                             registers: Int = DirectConvolutionSupport.registerCount) -> (rows: Int, taps: Int) {
        guard registers < 32 else { return (3, 9) }
        func padded(_ tile: (rows: Int, taps: Int)) -> Int {
            (channels + tile.rows - 1) / tile.rows * tile.rows * ((depth + tile.taps - 1) / tile.taps * tile.taps)
        }
        return padded((4, 3)) <= padded((2, 6)) ? (4, 3) : (2, 6)
    }

    /// The forward (and input-gradient) register tile for `channels` output channels: `mr` rows ×
    /// `nv` vectors. The tile that computes the fewest padded rows — or, given the `vectors` per
    /// sample, the fewest padded rows × padded vectors (a partial last group of vectors repeats its
    /// last one) — ties to the earlier: of 8×3, 6×4 and 3×8 on 32-register targets, of 4×3, 6×2 and
    /// 3×4 on 16-register targets (12 accumulators each).
    static func forwardTile(channels: Int, vectors: Int? = nil,
                            registers: Int = DirectConvolutionSupport.registerCount) -> (mr: Int, nv: Int) {
        func cost(_ tile: (mr: Int, nv: Int)) -> Int {
            let rows = (channels + tile.mr - 1) / tile.mr * tile.mr
            return vectors.map { rows * (($0 + tile.nv - 1) / tile.nv * tile.nv) } ?? rows
        }
        let candidates = registers >= 32 ? [(mr: 8, nv: 3), (mr: 6, nv: 4), (mr: 3, nv: 8)]
                                         : [(mr: 4, nv: 3), (mr: 6, nv: 2), (mr: 3, nv: 4)]
        var best = candidates[0]
        for candidate in candidates.dropFirst() where cost(candidate) < cost(best) { best = candidate }
        return best
    }

    /// Whether the weight gradient of `layout` runs on ``OuterKernel`` (3×3 and 5×5 kernels; on
    /// 16-register targets a 5×5 kernel is five calls of a one-row tile) rather than on the general
    /// ``DotKernel``.
    static func hasOuterKernel(_ layout: DirectConvolutionLayout) -> Bool {
        // Below 64 taps per output channel the per-sample transposition of the upstream gradient costs
        // more than the better kernel saves (the 3-channel input layer of convnet: 22% against 77% of sgemm).
        guard outerKernels && layout.depth >= 64 else { return false }
        if layout.kernelHeight == 3 && layout.kernelWidth == 3 { return true }
        return layout.kernelHeight == 5 && layout.kernelWidth == 5
    }

    /// Whether ``hasOuterKernel(_:)`` may choose the outer-product kernels (tests turn it off to run the
    /// general kernel on the same shapes).
    nonisolated(unsafe) static var outerKernels = true

    /// Vectors of pixels a weight-gradient sweep should cover before its lanes are added (the lane sums
    /// cost about one vector step each, so a sweep of this length keeps them below ~5%).
    nonisolated(unsafe) static var minimumSweepVectors = 128

    // MARK: Entry points (any TensorScalar; Float and Double run vectorized)

    /// `output = W ⋆ input + bias` for `g` (``Convolution2DGeometry/supportsDirectConvolution``).
    static func forward<Scalar: TensorScalar>(
        input x: UnsafePointer<Scalar>, weight w: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>?,
        output: UnsafeMutablePointer<Scalar>, geometry g: Convolution2DGeometry, workspace: ConvolutionWorkspace
    ) {
        let (xr, wr, br, outr) = (UnsafeRawPointer(x), UnsafeRawPointer(w), bias.map(UnsafeRawPointer.init), UnsafeMutableRawPointer(output))
        // Concrete types at each call, so that every driver and kernel is specialized for its vector.
        switch vectorKind(Scalar.self) {
        case .float16: SIMD16<Float>.forward(input: xr, weight: wr, bias: br, output: outr, geometry: g, workspace: workspace)
        case .float8: SIMD8<Float>.forward(input: xr, weight: wr, bias: br, output: outr, geometry: g, workspace: workspace)
        case .float4: SIMD4<Float>.forward(input: xr, weight: wr, bias: br, output: outr, geometry: g, workspace: workspace)
        case .double8: SIMD8<Double>.forward(input: xr, weight: wr, bias: br, output: outr, geometry: g, workspace: workspace)
        case .double4: SIMD4<Double>.forward(input: xr, weight: wr, bias: br, output: outr, geometry: g, workspace: workspace)
        case .double2: SIMD2<Double>.forward(input: xr, weight: wr, bias: br, output: outr, geometry: g, workspace: workspace)
        }
    }

    /// Overwrites the requested gradients (the bias gradient is the caller's).
    static func backward<Scalar: TensorScalar>(
        input x: UnsafePointer<Scalar>, weight w: UnsafePointer<Scalar>, upstream gy: UnsafePointer<Scalar>,
        inputGradient dx: UnsafeMutablePointer<Scalar>?, weightGradient dw: UnsafeMutablePointer<Scalar>?,
        geometry g: Convolution2DGeometry, workspace: ConvolutionWorkspace
    ) {
        let (xr, wr, gr) = (UnsafeRawPointer(x), UnsafeRawPointer(w), UnsafeRawPointer(gy))
        let (dxr, dwr) = (dx.map(UnsafeMutableRawPointer.init), dw.map(UnsafeMutableRawPointer.init))
        switch vectorKind(Scalar.self) {
        case .float16: SIMD16<Float>.backward(input: xr, weight: wr, upstream: gr, inputGradient: dxr, weightGradient: dwr, geometry: g, workspace: workspace)
        case .float8: SIMD8<Float>.backward(input: xr, weight: wr, upstream: gr, inputGradient: dxr, weightGradient: dwr, geometry: g, workspace: workspace)
        case .float4: SIMD4<Float>.backward(input: xr, weight: wr, upstream: gr, inputGradient: dxr, weightGradient: dwr, geometry: g, workspace: workspace)
        case .double8: SIMD8<Double>.backward(input: xr, weight: wr, upstream: gr, inputGradient: dxr, weightGradient: dwr, geometry: g, workspace: workspace)
        case .double4: SIMD4<Double>.backward(input: xr, weight: wr, upstream: gr, inputGradient: dxr, weightGradient: dwr, geometry: g, workspace: workspace)
        case .double2: SIMD2<Double>.backward(input: xr, weight: wr, upstream: gr, inputGradient: dxr, weightGradient: dwr, geometry: g, workspace: workspace)
        }
    }

    enum VectorKind { case float16, float8, float4, double8, double4, double2 }

    /// The vector type of `Scalar` at this build's SIMD width (``DirectConvolutionSupport/vectorBits``).
    /// Tests set the vector width in bits (512, 256 or 128) to run every kernel family on any machine.
    nonisolated(unsafe) static var vectorBitsOverride: Int?

    static func vectorKind<Scalar>(_: Scalar.Type) -> VectorKind {
        let bits = vectorBitsOverride ?? DirectConvolutionSupport.vectorBits
        if Scalar.self == Float.self { return bits >= 512 ? .float16 : bits >= 256 ? .float8 : .float4 }
        precondition(Scalar.self == Double.self, "direct convolution: Float or Double only")
        return bits >= 512 ? .double8 : bits >= 256 ? .double4 : .double2
    }
}

/// A SIMD vector type the direct kernels run on; the conformances below specialize every driver.
protocol DirectVector: LanePermutable where Scalar: TensorScalar {}
extension SIMD16: DirectVector where Scalar == Float {}
extension SIMD8: DirectVector where Scalar: TensorScalar {}
extension SIMD4: DirectVector where Scalar: TensorScalar {}
extension SIMD2: DirectVector where Scalar == Double {}

extension DirectVector {
    static func forward(input: UnsafeRawPointer, weight: UnsafeRawPointer, bias: UnsafeRawPointer?,
                        output: UnsafeMutableRawPointer, geometry g: Convolution2DGeometry, workspace: ConvolutionWorkspace) {
        let x = input.assumingMemoryBound(to: Scalar.self), w = weight.assumingMemoryBound(to: Scalar.self)
        if DirectConvolution.vectorizesChannels(g, lanes: scalarCount) {
            return channelVectorForward(input: x, weight: w, bias: bias?.assumingMemoryBound(to: Scalar.self),
                                        output: output.assumingMemoryBound(to: Scalar.self), geometry: g, workspace: workspace)
        }
        let layout = DirectConvolutionLayout(forward: g, lanes: scalarCount)
        let tile = DirectConvolution.forwardTile(channels: g.outChannels)
        let rows = (g.outChannels + tile.mr - 1) / tile.mr * tile.mr
        workspace.withBuffer(of: Scalar.self, count: rows * (layout.depth + 1)) { packed in
            let packedBias = packed + rows * layout.depth
            layout.packWeights(outChannels: g.outChannels, mr: tile.mr, into: packed) { o, c, i, j in
                w[((o * g.inChannels + c) * g.kernelHeight + i) * g.kernelWidth + j]
            }
            if let bias {
                let b = bias.assumingMemoryBound(to: Scalar.self)
                for o in 0..<rows { packedBias[o] = o < g.outChannels ? b[o] : 0 }
            }
            directCorrelation(layout, batch: g.batch, input: x, inputSample: g.inChannels * g.inPlane,
                              packedWeights: packed, outChannels: g.outChannels, tile: tile,
                              bias: bias == nil ? nil : UnsafePointer(packedBias),
                              output: output.assumingMemoryBound(to: Scalar.self), workers: g.workerCount, workspace: workspace)
        }
    }

    static func backward(input: UnsafeRawPointer, weight: UnsafeRawPointer, upstream: UnsafeRawPointer,
                         inputGradient: UnsafeMutableRawPointer?, weightGradient: UnsafeMutableRawPointer?,
                         geometry g: Convolution2DGeometry, workspace: ConvolutionWorkspace) {
        let x = input.assumingMemoryBound(to: Scalar.self), w = weight.assumingMemoryBound(to: Scalar.self)
        let gy = upstream.assumingMemoryBound(to: Scalar.self)
        if let inputGradient {
            let dx = inputGradient.assumingMemoryBound(to: Scalar.self)
            if DirectConvolution.vectorizesBatch(g, lanes: scalarCount, scalarSize: MemoryLayout<Scalar>.size) {
                batchVectorInputGradient(weight: w, upstream: gy, inputGradient: dx, geometry: g, workspace: workspace)
            } else if DirectConvolution.splitsColumns(g, lanes: scalarCount) {
                columnSplitInputGradient(weight: w, upstream: gy, inputGradient: dx, geometry: g, workspace: workspace)
            } else {
                plainInputGradient(weight: w, upstream: gy, inputGradient: dx, geometry: g, workspace: workspace)
            }
        }
        if let weightGradient {
            let layout = DirectConvolutionLayout(forward: g, lanes: scalarCount)
            let target = weightGradient.assumingMemoryBound(to: Scalar.self)
            if DirectConvolution.masksColumns(layout) {
                maskedWeightGradient(layout, batch: g.batch, input: x, upstream: gy, outChannels: g.outChannels,
                                     weightGradient: target, workers: g.workerCount, workspace: workspace)
            } else if DirectConvolution.hasOuterKernel(layout) {
                outerWeightGradient(layout, batch: g.batch, input: x, upstream: gy, outChannels: g.outChannels,
                                    weightGradient: target, workers: g.workerCount, workspace: workspace)
            } else {
                directWeightGradient(layout, batch: g.batch, input: x, upstream: gy, outChannels: g.outChannels,
                                     weightGradient: target, workers: g.workerCount, workspace: workspace)
            }
        }
    }

    /// `∂x = ∂ŷ ⋆ W̃` (`W̃[c, o, i, j] = W[o, c, kH−1−i, kW−1−j]`): the forward kernels on the upstream
    /// gradient padded by `d·(k − 1) − p`; overwrites `dx`.
    static func plainInputGradient(weight w: UnsafePointer<Scalar>, upstream gy: UnsafePointer<Scalar>,
                                   inputGradient dx: UnsafeMutablePointer<Scalar>, geometry g: Convolution2DGeometry,
                                   workspace: ConvolutionWorkspace) {
        let layout = DirectConvolutionLayout(inputGradient: g, lanes: scalarCount)
        let tile = DirectConvolution.forwardTile(channels: g.inChannels)
        let rows = (g.inChannels + tile.mr - 1) / tile.mr * tile.mr
        let kH = g.kernelHeight, kW = g.kernelWidth
        workspace.withBuffer(of: Scalar.self, count: rows * layout.depth) { packed in
            layout.packWeights(outChannels: g.inChannels, mr: tile.mr, into: packed) { c, o, i, j in
                w[((o * g.inChannels + c) * kH + (kH - 1 - i)) * kW + (kW - 1 - j)]
            }
            directCorrelation(layout, batch: g.batch, input: gy, inputSample: g.outChannels * g.outPlane,
                              packedWeights: packed, outChannels: g.inChannels, tile: tile, bias: nil,
                              output: dx, workers: g.workerCount, workspace: workspace)
        }
    }

    /// `output[n][o] = bias[o] + Σ_k packed[o][k]·pad(input[n])[tap(k) + ·]` for every sample on the
    /// ``BroadcastKernel`` tiles (the driver: ``DirectCorrelation``; `finish` as there).
    static func directCorrelation(
        _ layout: DirectConvolutionLayout, batch: Int, input: UnsafePointer<Scalar>, inputSample: Int,
        packedWeights: UnsafeMutablePointer<Scalar>, outChannels: Int, tile: (mr: Int, nv: Int), bias: UnsafePointer<Scalar>?,
        output: UnsafeMutablePointer<Scalar>, workers: Int, workspace: ConvolutionWorkspace,
        finish: ((_ sample: Int, _ output: UnsafePointer<Scalar>) -> Void)? = nil
    ) {
        precondition(layout.lanes == scalarCount, "direct convolution: invalid layout \(layout)")
        let mr = tile.mr, depth = layout.depth
        if DirectConvolution.reusesRows(layout, outChannels: outChannels) {
            let channels = layout.channels, kW = layout.kernelWidth
            return rowReuseCorrelation(layout, batch: batch, input: input, inputSample: inputSample,
                                       weight: { c, i, j in packedWeights[((i * channels + c) * kW + j) * mr] },
                                       bias: bias?[0] ?? 0, output: output, workers: workers, workspace: workspace, finish: finish)
        }
        let driver = DirectCorrelation<Scalar, Scalar>(layout: layout, outChannels: outChannels, tile: tile)
        driver.run(batch: batch, input: input, inputSample: inputSample, output: output, workers: workers, workspace: workspace,
                   interiorOnly: true, pad: { layout.copyInterior($0, into: $1) }, finish: finish,
                   kernel: BroadcastTile<Self>(shape: tile, depth: depth, packedWeights: UnsafePointer(packedWeights), bias: bias))
    }

    /// One ``BroadcastKernel`` tile of shape `tile` (`mr` rows × `nv` vectors; the shapes of
    /// ``DirectConvolution/forwardTile(channels:vectors:registers:)``).
    @inline(__always)
    static func broadcastTile(_ tile: (mr: Int, nv: Int), depth: Int, weights: UnsafePointer<Scalar>, taps: UnsafePointer<Int>,
                              input source: UnsafePointer<Scalar>, inputOffsets: UnsafePointer<Int>,
                              output target: UnsafeMutablePointer<Scalar>, outputOffsets targetOffsets: UnsafePointer<Int>,
                              ldc: Int, initial: UnsafePointer<Scalar>?) {
        switch (tile.mr, tile.nv) {
        case (8, 3):
            BroadcastKernel.tile8x3(depth: depth, weights: weights, taps: taps, input: source, inputOffsets: inputOffsets,
                                    output: target, outputOffsets: targetOffsets, ldc: ldc, initial: initial, Self.self)
        case (6, 4):
            BroadcastKernel.tile6x4(depth: depth, weights: weights, taps: taps, input: source, inputOffsets: inputOffsets,
                                    output: target, outputOffsets: targetOffsets, ldc: ldc, initial: initial, Self.self)
        case (3, 8):
            BroadcastKernel.tile3x8(depth: depth, weights: weights, taps: taps, input: source, inputOffsets: inputOffsets,
                                    output: target, outputOffsets: targetOffsets, ldc: ldc, initial: initial, Self.self)
        case (4, 3):
            BroadcastKernel.tile4x3(depth: depth, weights: weights, taps: taps, input: source, inputOffsets: inputOffsets,
                                    output: target, outputOffsets: targetOffsets, ldc: ldc, initial: initial, Self.self)
        case (6, 2):
            BroadcastKernel.tile6x2(depth: depth, weights: weights, taps: taps, input: source, inputOffsets: inputOffsets,
                                    output: target, outputOffsets: targetOffsets, ldc: ldc, initial: initial, Self.self)
        case (3, 4):
            BroadcastKernel.tile3x4(depth: depth, weights: weights, taps: taps, input: source, inputOffsets: inputOffsets,
                                    output: target, outputOffsets: targetOffsets, ldc: ldc, initial: initial, Self.self)
        default:
            preconditionFailure("direct convolution: no register tile \(tile)")
        }
    }

    /// `weightGradient[o][k] = Σ_n Σ_p upstream[n][o][p]·pad(input[n])[tap(k) + p]` (overwritten), the
    /// batch split over `workers` cores, each summing blocks of samples into a private partial gradient.
    static func directWeightGradient(
        _ layout: DirectConvolutionLayout, batch: Int, input: UnsafePointer<Scalar>,
        upstream: UnsafePointer<Scalar>, outChannels: Int, weightGradient: UnsafeMutablePointer<Scalar>,
        workers: Int, workspace: ConvolutionWorkspace
    ) {
        precondition(layout.isValid && layout.lanes == scalarCount && outChannels >= 1,
                     "direct convolution: invalid layout \(layout)")
        let (mr, nt) = DirectConvolution.gradientTile(channels: outChannels, depth: layout.depth)
        let depth = layout.depth, depthPadded = (depth + nt - 1) / nt * nt
        let rowBlocks = (outChannels + mr - 1) / mr, partialCount = paddedToCacheLine(rowBlocks * mr * depthPadded)
        let outPlane = layout.outPlane, outSample = outChannels * outPlane
        let vectors = layout.vectorCount, rowMode = layout.isRowMode, pitch = layout.stagingPitch
        let perBlock = Swift.max(1, Swift.min(16, (DirectConvolution.minimumSweepVectors + vectors - 1) / vectors))
        let paddedCount = layout.paddedSampleCount
        let stagedCount = rowMode ? 0 : paddedToCacheLine(outChannels * pitch)
        let workerCount = perBlock * (paddedCount + stagedCount) + partialCount
        workspace.withBuffer(of: Int.self, count: depthPadded) { taps in
            layout.writeTapOffsets(taps, padding: depthPadded - depth)
            workspace.withBuffer(of: Scalar.self, count: workers * workerCount) { scratch in
                runOnWorkers(workers, count: batch) { range, worker in
                    let base = scratch + worker * workerCount
                    let partial = base, padded = base + partialCount, staged = padded + perBlock * paddedCount
                    partial.update(repeating: 0, count: partialCount)
                    // Zero borders written once; each sample fills only the interior.
                    padded.update(repeating: 0, count: perBlock * paddedCount)
                    for first in Swift.stride(from: range.lowerBound, to: range.upperBound, by: perBlock) {
                        let count = Swift.min(perBlock, range.upperBound - first)
                        for s in 0..<count {
                            layout.copyInterior(input + (first + s) * layout.channels * layout.height * layout.width,
                                                into: padded + s * paddedCount)
                            if !rowMode {
                                // The upstream gradient on the padded grid, zeros in the discarded lanes.
                                let destination = staged + s * stagedCount, source = upstream + (first + s) * outSample
                                destination.update(repeating: 0, count: stagedCount)
                                for o in 0..<outChannels {
                                    for oh in 0..<layout.outHeight {
                                        copySpan(destination + o * pitch + oh * layout.paddedWidth,
                                                 source + o * outPlane + oh * layout.outWidth, count: layout.outWidth)
                                    }
                                }
                            }
                        }
                        let gradient = rowMode ? upstream + first * outSample : UnsafePointer(staged)
                        let channelStride = rowMode ? outPlane : pitch
                        let sweep = rowMode
                            ? DotKernelSweep(samples: count, dSample: outSample, xSample: paddedCount, rows: layout.outHeight,
                                             rowVectors: layout.outWidth / scalarCount, dPitch: layout.outWidth,
                                             xPitch: layout.paddedWidth)
                            : DotKernelSweep(samples: count, dSample: stagedCount, xSample: paddedCount, rows: 1,
                                             rowVectors: vectors, dPitch: 0, xPitch: 0)
                        for rowBlock in 0..<rowBlocks {
                            // Channels past O repeat the last one; their rows of the partial sum are dropped.
                            func channel(_ m: Int) -> UnsafePointer<Scalar> {
                                gradient + Swift.min(rowBlock * mr + m, outChannels - 1) * channelStride
                            }
                            for tapBlock in Swift.stride(from: 0, to: depthPadded, by: nt) {
                                let target = partial + rowBlock * mr * depthPadded + tapBlock
                                switch mr {
                                case 3:
                                    DotKernel.tile3x9(channel(0), channel(1), channel(2), input: UnsafePointer(padded),
                                                      taps: taps + tapBlock, sweep: sweep, out: target, ldo: depthPadded, Self.self)
                                case 4:
                                    DotKernel.tile4x3(channel(0), channel(1), channel(2), channel(3), input: UnsafePointer(padded),
                                                      taps: taps + tapBlock, sweep: sweep, out: target, ldo: depthPadded, Self.self)
                                default:
                                    DotKernel.tile2x6(channel(0), channel(1), input: UnsafePointer(padded),
                                                      taps: taps + tapBlock, sweep: sweep, out: target, ldo: depthPadded, Self.self)
                                }
                            }
                        }
                    }
                }
                // ∂W = Σ over workers, in worker order.
                for o in 0..<outChannels {
                    for k in 0..<depth {
                        var sum = scratch[o * depthPadded + k]
                        for worker in 1..<Swift.max(1, workers) { sum += scratch[worker * workerCount + o * depthPadded + k] }
                        weightGradient[o * depth + k] = sum
                    }
                }
            }
        }
    }
}

/// The ``BroadcastKernel`` tile of ``DirectVector/directCorrelation(_:batch:input:inputSample:packedWeights:outChannels:tile:bias:output:workers:workspace:finish:)``
/// over weights packed `[⌈O/mr⌉][depth][mr]` and a bias padded to whole blocks (or none).
struct BroadcastTile<V: DirectVector>: DirectCorrelationTile {
    var shape: (mr: Int, nv: Int)
    var depth: Int
    var packedWeights: UnsafePointer<V.Scalar>
    var bias: UnsafePointer<V.Scalar>?

    @inline(__always)
    func compute(block: Int, kStart: Int, kCount: Int, taps: UnsafePointer<Int>, input: UnsafePointer<V.Scalar>,
                 inputOffsets: UnsafePointer<Int>, output: UnsafeMutablePointer<V.Scalar>,
                 outputOffsets: UnsafePointer<Int>, ldc: Int) {
        V.broadcastTile(shape, depth: kCount, weights: packedWeights + (block * depth + kStart) * shape.mr, taps: taps,
                        input: input, inputOffsets: inputOffsets, output: output, outputOffsets: outputOffsets, ldc: ldc,
                        initial: bias.map { $0 + block * shape.mr })
    }

    @inline(__always)
    func computeGroups(block: Int, kStart: Int, kCount: Int, taps: UnsafePointer<Int>, input: UnsafePointer<V.Scalar>,
                       groups: UnsafePointer<Int>, stride: Int, count: Int, output: UnsafeMutablePointer<V.Scalar>,
                       ldc: Int, prefetch: Bool) {
        // The tiles of shallow first layers loop over the groups themselves: a call per group cost ~4%
        // of LeNet's 1→6 forward pass (depth 25, AVX2, one thread: 0.403–0.412 ms one by one,
        // 0.390–0.393 in the 6×2 tile) and ~6% of convnet's 3→32 (depth 27, 4×3: 1.406–1.431 →
        // 1.328–1.343 ms); at 6→16's depth of 150 no difference showed (0.818–0.833 ms both).
        let weights = packedWeights + (block * depth + kStart) * shape.mr, initial = bias.map { $0 + block * shape.mr }
        switch shape {
        case (6, 2):
            BroadcastKernel.tile6x2(depth: kCount, weights: weights, taps: taps, input: input, inputOffsets: groups,
                                    output: output, outputOffsets: groups + 2, ldc: ldc, initial: initial,
                                    groups: count, stride: stride, prefetch: prefetch, V.self)
        case (4, 3):
            BroadcastKernel.tile4x3(depth: kCount, weights: weights, taps: taps, input: input, inputOffsets: groups,
                                    output: output, outputOffsets: groups + 3, ldc: ldc, initial: initial,
                                    groups: count, stride: stride, prefetch: prefetch, V.self)
        case (6, 4):
            BroadcastKernel.tile6x4(depth: kCount, weights: weights, taps: taps, input: input, inputOffsets: groups,
                                    output: output, outputOffsets: groups + 4, ldc: ldc, initial: initial,
                                    groups: count, stride: stride, prefetch: prefetch, V.self)
        default:
            computeGroupsOneByOne(block: block, kStart: kStart, kCount: kCount, taps: taps, input: input, groups: groups,
                                  stride: stride, count: count, output: output, ldc: ldc, prefetch: prefetch)
        }
    }
}
