import NablaTensor

/// Row-shifted lowering: im2col for unit-stride "same-width" convolutions with one lowered row per
/// (input channel, kernel column) instead of one per (input channel, kernel row, kernel column).
///
/// With unit strides and an output as wide as the input (`Wo = W`), kernel row `i` of output row
/// `oh` reads input row `oh + i·dH − pH` whole, so the `kH` kernel rows of a tap column `j` read the
/// same lowered plane at offsets `i·dH·W` apart. Nabla lowers each sample once into
///
///     Z[c, j][r·W + ow] = x[c, r − pH, ow + j·dW − pW]      (zero outside the input),
///     r ∈ 0 ..< Ho + (kH − 1)·dH,
///
/// and the product `W·col` of classic im2col becomes `kH` GEMMs over views of `Z`, each with inner
/// dimension `C·kW` and `B` starting `i·dH·W` elements further (row stride: one `Z` plane):
///
///     y = Σ_i W_i · Z_i,     W_i[o][c·kW + j] = W[o, c, i, j],   Z_i[(c, j)][p] = Z[c, j][p + i·dH·W].
///
/// The backward pass uses the same views: `∂W_i = ∂y·Z_iᵀ`, and `∂Z` accumulates `W_iᵀ·∂y` at the
/// `i`-th offset before it is folded back onto `∂x` (the adjoint of the lowering: `kW` adds per input
/// pixel instead of `kH·kW`). The lowered matrix is `kH` times smaller than im2col's — 3× for the
/// 3×3 layers of `convnet` — so it stays in the core's L2 cache, and lowering and folding move a
/// third of the data. The sums run in another order than im2col's (`i` outermost), so the last bits
/// can differ from that path; each is deterministic for any thread count.
extension Convolution2DGeometry {
    /// Whether ``convolution2DForward(input:weight:bias:output:geometry:workspace:)`` and the backward
    /// pass use the row-shifted lowering: one group, unit strides, `Wo = W`, a kernel taller than one
    /// row, and at least ``ConvolutionTuning/rowShiftedMinimumDepth`` rows (`C·kW`) per partial GEMM.
    var usesRowShiftedLowering: Bool {
        ConvolutionTuning.rowShiftedLowering && ConvolutionTuning.splitBatchAcrossWorkers
            && ConvolutionTuning.perSampleProducts && groups == 1 && strideHeight == 1 && strideWidth == 1
            && outWidth == inWidth && kernelHeight > 1 && outHeight > 0
            && inChannels * kernelWidth >= ConvolutionTuning.rowShiftedMinimumDepth
    }

    /// Rows of one lowered plane `Z[c, j]`: `Ho + (kH − 1)·dH`.
    var shiftedRows: Int { outHeight + (kernelHeight - 1) * dilationHeight }
    /// Elements of one lowered plane, the row stride of the GEMM views.
    var shiftedPlane: Int { shiftedRows * inWidth }
    /// Lowered planes per sample, `C·kW`: the inner dimension of each partial GEMM.
    var shiftedDepth: Int { inChannels * kernelWidth }

    /// The rows of a lowered plane that hold input rows (row `r` holds input row `r − pH`); the
    /// others read the padding.
    var shiftedInputRows: Range<Int> {
        let first = Swift.min(paddingHeight, shiftedRows)
        return first..<Swift.max(first, Swift.min(shiftedRows, paddingHeight + inHeight))
    }

    /// Where a plane `Z[c, j]` of kernel column `j` meets its input channel: the output columns
    /// `valid` that read inside the input, and one span over all ``shiftedInputRows`` — `count`
    /// elements from offset `lowered` in the plane pair with `count` elements from offset `input` in
    /// the channel. Inside the span, the entries outside `valid` pair with the neighbouring row's
    /// pixels (the margins). `count` is 0 when the plane reads only padding.
    func shiftedSpan(column j: Int) -> (valid: Range<Int>, lowered: Int, input: Int, count: Int) {
        let offset = j * dilationWidth - paddingWidth
        let (lower, upper) = validOutputRange(offset: offset, stride: 1, input: inWidth, output: inWidth)
        let rows = shiftedInputRows
        guard !rows.isEmpty && lower < upper else { return (lower..<upper, 0, 0, 0) }
        let begin = rows.lowerBound * inWidth + lower, end = (rows.upperBound - 1) * inWidth + upper
        return (lower..<upper, begin, begin - paddingHeight * inWidth + offset, end - begin)
    }
}

/// Lowers one sample (`C×H×W`) into its `C·kW` planes `Z[c, j]`, ``Convolution2DGeometry/shiftedPlane``
/// elements apart (see the type-level description above).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func lowerShiftedRows<Scalar: TensorScalar>(_ x: UnsafePointer<Scalar>, _ g: Convolution2DGeometry,
                                            into z: UnsafeMutablePointer<Scalar>) {
    let width = g.inWidth, segment = g.shiftedPlane, rows = g.shiftedInputRows
    for c in 0..<g.inChannels {
        for j in 0..<g.kernelWidth {
            let lowered = z + (c &* g.kernelWidth &+ j) &* segment
            let span = g.shiftedSpan(column: j)
            zeroSpan(lowered, count: rows.lowerBound &* width)
            zeroSpan(lowered + rows.upperBound &* width, count: (g.shiftedRows &- rows.upperBound) &* width)
            if span.count > 0 {
                // One copy over the whole span, then the margins, which picked up the neighbouring rows'
                // pixels, are zeroed.
                copySpan(lowered + span.lowered, x + (c &* g.inPlane &+ span.input), count: span.count)
                zeroMargins(lowered, rows: rows, width: width, valid: span.valid)
            } else {
                zeroSpan(lowered + rows.lowerBound &* width, count: rows.count &* width)
            }
        }
    }
}

/// The adjoint of ``lowerShiftedRows(_:_:into:)``: overwrites `dx` (`C×H×W`) with
/// `dx[c, h, w] = Σ_j ∂Z[c, j][(h + pH)·W + w − (j·dW − pW)]` over the entries that were copied from the
/// input. `dz` is scratch: the entries that read the left and right padding are set to zero so that
/// each plane adds onto `dx` as one contiguous span.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func foldShiftedRows<Scalar: TensorScalar>(_ dz: UnsafeMutablePointer<Scalar>, _ g: Convolution2DGeometry,
                                           into dx: UnsafeMutablePointer<Scalar>) {
    let width = g.inWidth, segment = g.shiftedPlane, rows = g.shiftedInputRows
    zeroSpan(dx, count: g.inChannels &* g.inPlane)
    for c in 0..<g.inChannels {
        for j in 0..<g.kernelWidth {
            let span = g.shiftedSpan(column: j)
            if span.count == 0 { continue }
            let lowered = dz + (c &* g.kernelWidth &+ j) &* segment
            zeroMargins(lowered, rows: rows, width: width, valid: span.valid)
            let source = lowered + span.lowered, destination = dx + (c &* g.inPlane &+ span.input)
            for k in 0..<span.count { destination[k] += source[k] }
        }
    }
}

/// `W_i[o][c·kW + j] = W[o, c, i, j]` for each kernel row `i`, `[kH][O][C·kW]` (one group).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func shiftedRowWeights<Scalar: TensorScalar>(_ w: UnsafePointer<Scalar>, _ g: Convolution2DGeometry,
                                             into permuted: UnsafeMutablePointer<Scalar>) {
    let kH = g.kernelHeight, kW = g.kernelWidth, depth = g.shiftedDepth
    for o in 0..<g.outChannels {
        for c in 0..<g.inChannels {
            for i in 0..<kH {
                let source = w + ((o &* g.inChannels &+ c) &* kH &+ i) &* kW
                let destinationIndex: Int = (i &* g.outChannels &+ o) &* depth &+ c &* kW
                let destination = permuted + destinationIndex
                for j in 0..<kW { destination[j] = source[j] }
            }
        }
    }
}

/// The forward pass with the row-shifted lowering: each worker takes its share of the batch,
/// lowers a sample into its own `Z` buffer and runs `kH` single-threaded GEMMs into the output
/// (which starts as the bias, or is overwritten by the first product).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func rowShiftedConvolutionForward<Scalar: TensorScalar>(
    input x: UnsafePointer<Scalar>, weight w: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>?,
    output out: UnsafeMutablePointer<Scalar>, geometry g: Convolution2DGeometry, workspace: ConvolutionWorkspace
) {
    let outChannels = g.outChannels, depth = g.shiftedDepth, segment = g.shiftedPlane, plane = g.outPlane
    let inSample = g.inChannels * g.inPlane, outSample = outChannels * plane, step = g.dilationHeight * g.inWidth
    let zCount = paddedToCacheLine(depth * segment), workers = g.workerCount
    workspace.withBuffer(of: Scalar.self, count: g.kernelHeight * outChannels * depth) { permuted in
        shiftedRowWeights(w, g, into: permuted)
        workspace.withBuffer(of: Scalar.self, count: workers * zCount) { lowered in
            runOnWorkers(workers, count: g.batch) { range, worker in
                let z = lowered + worker * zCount
                for n in range {
                    lowerShiftedRows(x + n * inSample, g, into: z)
                    let o = out + n * outSample
                    if let bias {
                        for channel in 0..<outChannels { (o + channel * plane).update(repeating: bias[channel], count: plane) }
                    }
                    for i in 0..<g.kernelHeight {
                        blasProduct(transposeA: false, transposeB: false, m: outChannels, n: plane, k: depth, alpha: 1,
                                    a: permuted + i * outChannels * depth, lda: depth, b: z + i * step, ldb: segment,
                                    beta: i == 0 && bias == nil ? 0 : 1, c: o, ldc: plane)
                    }
                }
            }
        }
    }
}

/// The input and weight gradients with the row-shifted lowering (the bias gradient is the caller's).
/// Each worker accumulates its samples' `∂W_i` in a private `[kH][O][C·kW]` buffer; the buffers are
/// added in worker order and permuted back to `[O, C, kH, kW]` at the end.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func rowShiftedConvolutionBackward<Scalar: TensorScalar>(
    input x: UnsafePointer<Scalar>, weight w: UnsafePointer<Scalar>, upstream gy: UnsafePointer<Scalar>,
    inputGradient dx: UnsafeMutablePointer<Scalar>?, weightGradient dw: UnsafeMutablePointer<Scalar>?,
    geometry g: Convolution2DGeometry, workspace: ConvolutionWorkspace
) {
    let outChannels = g.outChannels, depth = g.shiftedDepth, segment = g.shiftedPlane, plane = g.outPlane
    let kH = g.kernelHeight, kW = g.kernelWidth
    let inSample = g.inChannels * g.inPlane, outSample = outChannels * plane, step = g.dilationHeight * g.inWidth
    let zCount = paddedToCacheLine(depth * segment), workers = g.workerCount
    let weightCount = kH * outChannels * depth, partialCount = paddedToCacheLine(weightCount)
    workspace.withBuffer(of: Scalar.self, count: dx == nil ? 0 : weightCount) { permuted in
        if dx != nil { shiftedRowWeights(w, g, into: permuted) }
        workspace.withBuffer(of: Scalar.self, count: dw == nil ? 0 : workers * partialCount) { partials in
            if dw != nil { partials.update(repeating: 0, count: workers * partialCount) }
            workspace.withBuffer(of: Scalar.self, count: workers * zCount) { lowered in
                runOnWorkers(workers, count: g.batch) { range, worker in
                    let z = lowered + worker * zCount, partial = partials + worker * partialCount
                    for n in range {
                        let upstream = gy + n * outSample
                        if dw != nil {
                            lowerShiftedRows(x + n * inSample, g, into: z)
                            for i in 0..<kH {
                                blasProduct(transposeA: false, transposeB: true, m: outChannels, n: depth, k: plane,
                                            alpha: 1, a: upstream, lda: plane, b: z + i * step, ldb: segment,
                                            beta: 1, c: partial + i * outChannels * depth, ldc: depth)
                            }
                        }
                        guard let dx else { continue }
                        // ∂Z = Σ_i (W_iᵀ·∂y shifted by i rows): the first product overwrites rows 0..<Ho of
                        // each plane, so only the rows below them start at zero. Z is reused as ∂Z.
                        for r in 0..<depth { zeroSpan(z + r * segment + plane, count: segment - plane) }
                        for i in 0..<kH {
                            blasProduct(transposeA: true, transposeB: false, m: depth, n: plane, k: outChannels,
                                        alpha: 1, a: permuted + i * outChannels * depth, lda: depth, b: upstream,
                                        ldb: plane, beta: i == 0 ? 0 : 1, c: z + i * step, ldc: segment)
                        }
                        foldShiftedRows(z, g, into: dx + n * inSample)
                    }
                }
            }
            guard let dw else { return }
            for o in 0..<outChannels {
                for c in 0..<g.inChannels {
                    for i in 0..<kH {
                        for j in 0..<kW {
                            let index = (i * outChannels + o) * depth + c * kW + j
                            var sum = partials[index]
                            for worker in 1..<Swift.max(1, workers) { sum += partials[worker * partialCount + index] }
                            dw[((o * g.inChannels + c) * kH + i) * kW + j] = sum
                        }
                    }
                }
            }
        }
    }
}
