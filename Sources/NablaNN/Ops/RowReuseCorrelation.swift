/// Direct correlations with a single output channel — the input gradient of a layer that reads one
/// image channel (LeNet's 1→6: `∂x = ∂ŷ ⋆ W̃` has one output plane), or the forward pass of a layer
/// with one output channel — on the kernel-row-reusing tiles of `RowReuseKernel.swift`.
///
/// The general tiles hold `mr ≥ 3` output channels, so with one channel at most a third of their
/// multiply-adds are useful; a one-row tile would load a vector for every multiply-add. Here a tile is
/// ten or eight output rows of one vector column: each input row it loads serves every output row its
/// kernel rows meet (`kH` multiply-adds per load inside the tile).
///
/// A group of samples is copied side by side into the interior of one padded grid (``RowReuseGrid``:
/// its zero borders are written once per call), the tiles walk the grid's rows in blocks of ten or eight
/// (the last of four when at most four are left; with 16 registers and kernel height 5 that block takes
/// its vectors in pairs), and the output is computed into a staging grid of the same pitch whose output
/// columns are copied out. Within a block the vector columns run last to first: a last vector that
/// reaches past its row writes into the next row's first lanes, which that row's first vector (or
/// pair) overwrites afterwards. Rows past `Ho` (a last block taller than what is left) read the
/// buffer's zeroed tail and are discarded.
///
/// Every output element sums its taps in the order `c`, `j`, `i` (the general kernels: `i`, `c`, `j`),
/// one fused multiply-add each, so its bits do not depend on the thread count.
extension DirectConvolution {
    /// Tests force the single-channel tiles on (where their kernel heights allow) or off.
    nonisolated(unsafe) static var rowReuseOverride: Bool?

    /// Whether a correlation of `layout` with `outChannels` output planes runs on the row-reusing tiles:
    /// one output plane, unit row dilation, a kernel of height 3 or 5, and — one sample per grid row —
    /// no more vectors to compute than the general tiles' `mr` rows × ``DirectConvolutionLayout/computedVectorCount``.
    static func reusesRows(_ layout: DirectConvolutionLayout, outChannels: Int,
                           registers: Int = DirectConvolutionSupport.registerCount) -> Bool {
        guard outChannels == 1 && layout.dilationHeight == 1 && (layout.kernelHeight == 3 || layout.kernelHeight == 5) else {
            return false
        }
        if let rowReuseOverride { return rowReuseOverride }
        let grid = RowReuseGrid(layout, batch: 1, registers: registers)
        let rows = grid.blocks.reduce(0) { $0 + $1.rows }
        return rows * grid.vectorsPerRow <= forwardTile(channels: 1, registers: registers).mr * layout.computedVectorCount
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
        let grid = RowReuseGrid(layout, batch: batch)
        let lanes = scalarCount, kH = layout.kernelHeight, kW = layout.kernelWidth, channels = layout.channels
        let ho = layout.outHeight, wo = layout.outWidth, outPlane = layout.outPlane
        let pitch = grid.width, plane = grid.plane, samples = grid.samples
        workspace.withBuffer(of: Scalar.self, count: layout.depth) { packed in
            // [C][kW][kH]: the order the tiles walk their taps.
            var k = 0
            for c in 0..<channels { for j in 0..<kW { for i in 0..<kH { packed[k] = weight(c, i, j); k += 1 } } }
            let perWorker = grid.paddedCount + grid.stagingCount
            workspace.withBuffer(of: Scalar.self, count: workers * perWorker) { scratch in
                runOnWorkers(workers, count: batch) { range, worker in
                    let padded = scratch + worker * perWorker, staging = padded + grid.paddedCount
                    // The zero borders (and the tail only discarded rows read) are written once; each
                    // group of samples writes only the interiors. A slot the last group leaves unused
                    // keeps an earlier sample, read only by that slot's discarded outputs.
                    zeroSpan(padded, count: grid.paddedCount)
                    for first in Swift.stride(from: range.lowerBound, to: range.upperBound, by: samples) {
                        let count = Swift.min(samples, range.upperBound - first)
                        for s in 0..<count {
                            layout.copyInterior(input + (first + s) * inputSample, into: padded + s * grid.sampleStride,
                                                rowPitch: pitch, planeStride: plane)
                        }
                        // A last group of fewer samples computes only the vectors its slots reach.
                        let vectors = grid.vectors(samples: count)
                        for (top, rows) in grid.blocks {
                            // A 4-row block of kernel height 5 on 16 registers takes its vectors in pairs;
                            // the vectors past the pairs (all of them elsewhere) go one by one. Last to first.
                            let paired = rows == 4 && grid.pairsLastBlock ? vectors / 2 * 2 : 0
                            for column in Swift.stride(from: vectors - 1, through: paired, by: -1) {
                                let offset = top * pitch + column * lanes
                                tile(rows: rows, kernelHeight: kH, channels: channels, kernelWidth: kW,
                                     dilationWidth: layout.dilationWidth, weights: UnsafePointer(packed),
                                     input: UnsafePointer(padded + offset), planeStride: plane, rowPitch: pitch,
                                     output: staging + offset, initial: bias)
                            }
                            for column in Swift.stride(from: paired - 2, through: 0, by: -2) {
                                let offset = top * pitch + column * lanes
                                RowReuseKernel.rows4Height5Columns2(
                                    channels: channels, kernelWidth: kW, dilationWidth: layout.dilationWidth,
                                    weights: UnsafePointer(packed), input: UnsafePointer(padded + offset),
                                    planeStride: plane, rowPitch: pitch, output: staging + offset, outputPitch: pitch,
                                    initial: bias, Self.self)
                            }
                        }
                        for s in 0..<count {
                            let out = output + (finish == nil ? first + s : worker) * outPlane
                            for oh in 0..<ho { copySpan(out + oh * wo, staging + (oh * pitch + s * grid.sampleStride), count: wo) }
                            finish?(first + s, UnsafePointer(out))
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func tile(rows: Int, kernelHeight: Int, channels: Int, kernelWidth: Int, dilationWidth: Int,
                             weights: UnsafePointer<Scalar>, input: UnsafePointer<Scalar>, planeStride: Int, rowPitch: Int,
                             output: UnsafeMutablePointer<Scalar>, initial: Scalar) {
        switch (rows, kernelHeight) {
        case (10, 5):
            if RowReuseKernel.nativeRows10Height5(channels: channels, kernelWidth: kernelWidth, dilationWidth: dilationWidth,
                                                  weights: weights, input: input, planeStride: planeStride, rowPitch: rowPitch,
                                                  output: output, outputPitch: rowPitch, initial: initial, Self.self) {
                return
            }
            RowReuseKernel.rows10Height5(channels: channels, kernelWidth: kernelWidth, dilationWidth: dilationWidth, weights: weights,
                                         input: input, planeStride: planeStride, rowPitch: rowPitch,
                                         output: output, outputPitch: rowPitch, initial: initial, Self.self)
        case (10, _):
            RowReuseKernel.rows10Height3(channels: channels, kernelWidth: kernelWidth, dilationWidth: dilationWidth, weights: weights,
                                         input: input, planeStride: planeStride, rowPitch: rowPitch,
                                         output: output, outputPitch: rowPitch, initial: initial, Self.self)
        case (8, 5):
            RowReuseKernel.rows8Height5(channels: channels, kernelWidth: kernelWidth, dilationWidth: dilationWidth, weights: weights,
                                        input: input, planeStride: planeStride, rowPitch: rowPitch,
                                        output: output, outputPitch: rowPitch, initial: initial, Self.self)
        case (8, _):
            RowReuseKernel.rows8Height3(channels: channels, kernelWidth: kernelWidth, dilationWidth: dilationWidth, weights: weights,
                                        input: input, planeStride: planeStride, rowPitch: rowPitch,
                                        output: output, outputPitch: rowPitch, initial: initial, Self.self)
        case (_, 5):
            RowReuseKernel.rows4Height5(channels: channels, kernelWidth: kernelWidth, dilationWidth: dilationWidth, weights: weights,
                                        input: input, planeStride: planeStride, rowPitch: rowPitch,
                                        output: output, outputPitch: rowPitch, initial: initial, Self.self)
        default:
            RowReuseKernel.rows4Height3(channels: channels, kernelWidth: kernelWidth, dilationWidth: dilationWidth, weights: weights,
                                        input: input, planeStride: planeStride, rowPitch: rowPitch,
                                        output: output, outputPitch: rowPitch, initial: initial, Self.self)
        }
    }
}

/// The padded grid of ``DirectVector/rowReuseCorrelation(_:batch:input:inputSample:weight:bias:output:workers:workspace:finish:)``:
/// `samples` samples side by side in each row, `W + pW` columns apart, so that the right padding of one
/// is the left padding of the next (the kernel's reach past a sample's last column is `pW` columns, all
/// zeros, on either side). Output pixel `(oh, ow)` of slot `s` is grid column `s·(W + pW) + ow`; the
/// `pW` columns between two samples' outputs are computed and discarded. The slot count (at most 8)
/// computes the fewest vectors per useful output pixel — a 28-wide LeNet plane: one sample per row
/// wastes 4 of 32 lanes, and with 16-lane vectors seven samples 12 of 208; with 8 lanes three samples
/// waste 4 of 88.
struct RowReuseGrid {
    var samples: Int, sampleStride: Int, width: Int, plane: Int, vectorsPerRow: Int
    /// Whether a block of 4 rows takes its vectors in pairs (``RowReuseKernel/rows4Height5Columns2(channels:kernelWidth:dilationWidth:weights:input:planeStride:rowPitch:output:outputPitch:initial:_:)``):
    /// kernel height 5 with 16 registers, where it was measured (AMD Zen 3); 32-register machines, not
    /// measured, keep one vector.
    var pairsLastBlock: Bool
    private var outWidth: Int, lanes: Int
    /// (first row, rows) of each register tile (``blockRows(remaining:tenRows:)``).
    var blocks: [(top: Int, rows: Int)]
    var paddedCount: Int, stagingCount: Int

    init(_ layout: DirectConvolutionLayout, batch: Int, registers: Int = DirectConvolutionSupport.registerCount) {
        let w = layout.width, pW = layout.paddingWidth, wo = layout.outWidth, l = layout.lanes
        sampleStride = w + pW
        outWidth = wo; lanes = l
        func vectors(_ count: Int) -> Int { Self.vectors(samples: count, stride: w + pW, outWidth: wo, lanes: l) }
        var best = 1
        for candidate in 2...8 where candidate <= batch && vectors(candidate) * best < vectors(best) * candidate {
            best = candidate
        }
        samples = best
        pairsLastBlock = registers < 32 && layout.kernelHeight == 5
        width = pW + best * (w + pW)
        plane = layout.paddedHeight * width
        vectorsPerRow = vectors(best)
        blocks = Self.blocks(outHeight: layout.outHeight,
                             tenRows: Self.takesTenRows(registers: registers, kernelHeight: layout.kernelHeight, lanes: l))
        let top = blocks.last.map { $0.top + $0.rows } ?? 0
        // The last tile reads input rows up to `top − 1 + kH − 1` of the last plane, and its last vector
        // reaches `L` lanes past its first.
        let reach = (layout.channels - 1) * plane + (top + layout.kernelHeight - 2) * width
            + (vectorsPerRow - 1) * l + (layout.kernelWidth - 1) * layout.dilationWidth + l
        paddedCount = paddedToCacheLine(Swift.max(layout.channels * plane, reach))
        stagingCount = paddedToCacheLine(top * width + vectorsPerRow * l)
    }

    /// Whether blocks of 10 rows are taken: on 32 registers, and on 16 with kernel height 5 and 8 lanes
    /// where the C tile runs (``RowReuseKernel/nativeTenRows``; 8 Doubles on 16 registers, only in
    /// tests, take the Swift tile, which spills there but computes the same). Elsewhere the Swift
    /// 10-row tile spills on 16 registers.
    static func takesTenRows(registers: Int, kernelHeight: Int, lanes: Int) -> Bool {
        registers >= 32 || (kernelHeight == 5 && lanes == 8 && RowReuseKernel.nativeTenRows)
    }

    /// The rows of the next register tile when `remaining` output rows are left. With `tenRows`
    /// (``takesTenRows(registers:kernelHeight:lanes:)``) the 10-row tile, whose 10 accumulators outlast
    /// the multiply-add latency on machines that issue two vector multiply-adds per cycle (8
    /// accumulators × 4-cycle latency only just keep two pipes fed: with 8-lane vectors and 32
    /// registers on an AMD Zen 4, 57 → 78 GFLOP/s for LeNet's 1→6 input gradient); it takes 8 rows
    /// where that wastes fewer rows past the plane (11 or 12 left: 8 + 4, not 10 + 4). Without, blocks
    /// of 8. Either way the last block is 4 rows when at most 4 are left.
    static func blockRows(remaining: Int, tenRows: Bool) -> Int {
        switch remaining {
        case ...4: 4
        case ...8, 11, 12: 8
        default: tenRows ? 10 : 8
        }
    }

    /// The register tiles that cover `outHeight` output rows, top to bottom: (first row, rows).
    static func blocks(outHeight: Int, tenRows: Bool) -> [(top: Int, rows: Int)] {
        var blocks: [(top: Int, rows: Int)] = [], top = 0
        while top < outHeight {
            let rows = blockRows(remaining: outHeight - top, tenRows: tenRows)
            blocks.append((top, rows))
            top += rows
        }
        return blocks
    }

    /// Vectors per grid row that cover the outputs of the first `samples` slots.
    func vectors(samples: Int) -> Int { Self.vectors(samples: samples, stride: sampleStride, outWidth: outWidth, lanes: lanes) }

    private static func vectors(samples: Int, stride: Int, outWidth: Int, lanes: Int) -> Int {
        ((samples - 1) * stride + outWidth + lanes - 1) / lanes
    }
}
