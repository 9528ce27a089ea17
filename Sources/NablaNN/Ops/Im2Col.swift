import NablaTensor

/// The shape arithmetic of a 2-D convolution over NCHW tensors (PyTorch's `conv2d`).
///
/// Along each spatial axis, with input extent `I`, kernel `k`, stride `s`, padding `p` and dilation
/// `d`, the output extent is `O = ⌊(I + 2p − d·(k − 1) − 1) / s⌋ + 1`; output position `o` reads the
/// input at `o·s − p + j·d` for kernel tap `j`, where positions outside `0..<I` are zeros.
struct Convolution2DGeometry: Equatable {
    var batch: Int
    var inChannels: Int
    var inHeight: Int, inWidth: Int
    var outChannels: Int
    var kernelHeight: Int, kernelWidth: Int
    var strideHeight: Int, strideWidth: Int
    var paddingHeight: Int, paddingWidth: Int
    var dilationHeight: Int, dilationWidth: Int
    var groups: Int

    /// `⌊(I + 2p − d·(k − 1) − 1) / s⌋ + 1`, or a value below 1 when the dilated kernel does not fit.
    static func outputExtent(input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> Int {
        let span = input + 2 * padding - dilation * (kernel - 1) - 1
        return span < 0 ? 0 : span / stride + 1
    }

    var outHeight: Int {
        Self.outputExtent(input: inHeight, kernel: kernelHeight, stride: strideHeight,
                          padding: paddingHeight, dilation: dilationHeight)
    }
    var outWidth: Int {
        Self.outputExtent(input: inWidth, kernel: kernelWidth, stride: strideWidth,
                          padding: paddingWidth, dilation: dilationWidth)
    }
    /// Pixels per input plane.
    var inPlane: Int { inHeight * inWidth }
    /// Pixels per output plane.
    var outPlane: Int { outHeight * outWidth }
    /// Input channels per group.
    var groupInChannels: Int { inChannels / groups }
    /// Output channels per group.
    var groupOutChannels: Int { outChannels / groups }
    /// Rows of a group's column matrix: `(C/groups)·kH·kW`, the GEMM's inner dimension.
    var groupColumnRows: Int { groupInChannels * kernelHeight * kernelWidth }
    /// Rows of the whole column matrix, `C·kH·kW`.
    var columnRows: Int { inChannels * kernelHeight * kernelWidth }
    /// Multiply-adds of one forward pass: `N·O·Ho·Wo·(C/groups)·kH·kW`.
    var multiplyAddCount: Int { batch * outChannels * outPlane * groupColumnRows }

    /// Whether strides and dilations are positive and paddings non-negative — the invariant under
    /// which the kernels' index arithmetic (wrapping, unchecked) stays inside the buffers. The layers
    /// and `conv2d` validate user input before a geometry reaches a kernel.
    var hasValidSteps: Bool {
        strideHeight >= 1 && strideWidth >= 1 && dilationHeight >= 1 && dilationWidth >= 1
            && paddingHeight >= 0 && paddingWidth >= 0
    }
}

/// Lowers one sample to its column matrix (im2col, Chellapilla et al. 2006, "High Performance
/// Convolutional Neural Networks for Document Processing"):
/// `col[(c·kH + i)·kW + j][oh·Wo + ow] = x[c][oh·sH − pH + i·dH][ow·sW − pW + j·dW]`, zero where
/// the index falls into the padding.
///
/// - Parameters:
///   - x: the sample, `C×H×W` contiguous.
///   - col: the first element of the sample's block; row `r` starts at `col + r·rowStride`.
/// The output rows that read padding above or below the input are zeroed in one span per kernel
/// tap; every other output row is a zero margin, a copy (a strided gather when `sW > 1`) and a zero
/// margin, moved by ``copySpan(_:_:count:)``/``zeroSpan(_:count:)`` without a library call per row.
/// With unit strides and `Wo = W` ("same" padding) consecutive output rows read consecutive input
/// rows, so a kernel tap is one long copy plus the margins.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func im2col<Scalar: TensorScalar>(_ x: UnsafePointer<Scalar>, _ geometry: Convolution2DGeometry,
                                  into col: UnsafeMutablePointer<Scalar>, rowStride: Int) {
    let g = geometry
    precondition(g.hasValidSteps, "im2col/col2im: strides and dilations must be positive, paddings non-negative (\(g))")
    let outH = g.outHeight, outW = g.outWidth, inW = g.inWidth, strideW = g.strideWidth, strideH = g.strideHeight
    let sameWidth = strideW == 1 && strideH == 1 && inW == outW
    for c in 0..<g.inChannels {
        let plane = x + c &* g.inPlane
        for i in 0..<g.kernelHeight {
            let rowOffset = i &* g.dilationHeight &- g.paddingHeight
            let (top, bottom) = validOutputRange(offset: rowOffset, stride: strideH, input: g.inHeight, output: outH)
            for j in 0..<g.kernelWidth {
                let row = col + ((c &* g.kernelHeight &+ i) &* g.kernelWidth &+ j) &* rowStride
                let offset = j &* g.dilationWidth &- g.paddingWidth
                let (lower, upper) = validOutputRange(offset: offset, stride: strideW, input: inW, output: outW)
                zeroSpan(row, count: top &* outW)
                defer { zeroSpan(row + bottom &* outW, count: (outH &- bottom) &* outW) }
                if sameWidth && top < bottom {
                    // Output rows top..<bottom read input rows that follow each other with the same pitch:
                    // one copy of the whole span (from the first valid to the last valid element, so it
                    // stays inside the plane), then zero the margins, which picked up the neighbouring rows.
                    let first = top &* outW &+ lower, end = (bottom &- 1) &* outW &+ upper
                    let sourceStart: Int = (top &+ rowOffset) &* inW &+ offset &+ first &- top &* outW
                    copySpan(row + first, plane + sourceStart, count: end &- first)
                    zeroMargins(row, rows: top..<bottom, width: outW, valid: lower..<upper)
                    continue
                }
                for oh in top..<bottom {
                    let destination = row + oh &* outW
                    let source = plane + ((oh &* strideH &+ rowOffset) &* inW &+ offset)
                    zeroSpan(destination, count: lower)
                    if strideW == 1 {
                        copySpan(destination + lower, source + lower, count: upper &- lower)
                    } else {
                        for ow in lower..<upper { destination[ow] = source[ow &* strideW] }
                    }
                    zeroSpan(destination + upper, count: outW &- upper)
                }
            }
        }
    }
}

/// The adjoint of ``im2col(_:_:into:rowStride:)`` (col2im): adds every column entry back onto the
/// input pixel it was copied from, `dx[c][ih][iw] += col[(c·kH + i)·kW + j][oh·Wo + ow]`; entries
/// that came from the padding are dropped. `dx` must be initialized (usually to zeros).
///
/// With unit strides and `Wo = W` a kernel tap adds one long contiguous span (which vectorizes)
/// instead of a short run per output row: the entries that came from the left/right padding are
/// first set to zero in `col` — they are scratch, and adding `+0` leaves every sum unchanged — so the
/// span may pass over them onto the neighbouring row's pixels.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func col2im<Scalar: TensorScalar>(_ col: UnsafeMutablePointer<Scalar>, rowStride: Int, _ geometry: Convolution2DGeometry,
                                  addingInto dx: UnsafeMutablePointer<Scalar>) {
    let g = geometry
    precondition(g.hasValidSteps, "im2col/col2im: strides and dilations must be positive, paddings non-negative (\(g))")
    let outH = g.outHeight, outW = g.outWidth, inW = g.inWidth, strideW = g.strideWidth, strideH = g.strideHeight
    let sameWidth = strideW == 1 && strideH == 1 && inW == outW
    for c in 0..<g.inChannels {
        let plane = dx + c &* g.inPlane
        for i in 0..<g.kernelHeight {
            let rowOffset = i &* g.dilationHeight &- g.paddingHeight
            let (top, bottom) = validOutputRange(offset: rowOffset, stride: strideH, input: g.inHeight, output: outH)
            for j in 0..<g.kernelWidth {
                let row = col + ((c &* g.kernelHeight &+ i) &* g.kernelWidth &+ j) &* rowStride
                let offset = j &* g.dilationWidth &- g.paddingWidth
                let (lower, upper) = validOutputRange(offset: offset, stride: strideW, input: inW, output: outW)
                if lower >= upper || top >= bottom { continue }
                if sameWidth {
                    zeroMargins(row, rows: top..<bottom, width: outW, valid: lower..<upper)
                    let first = top &* outW &+ lower, end = (bottom &- 1) &* outW &+ upper
                    let destinationStart: Int = (top &+ rowOffset) &* inW &+ offset &+ first &- top &* outW
                    let source = row + first, destination = plane + destinationStart
                    for k in 0..<(end &- first) { destination[k] += source[k] }
                    continue
                }
                for oh in top..<bottom {
                    let source = row + oh &* outW
                    let destination = plane + ((oh &* strideH &+ rowOffset) &* inW &+ offset)
                    if strideW == 1 {
                        for ow in lower..<upper { destination[ow] += source[ow] }
                    } else {
                        for ow in lower..<upper { destination[ow &* strideW] += source[ow] }
                    }
                }
            }
        }
    }
}

/// Zeroes, in each of `rows` of a column row laid out `width` to a row, the positions outside `valid`
/// (those that read the left and right padding).
@inline(__always)
func zeroMargins<Scalar>(_ row: UnsafeMutablePointer<Scalar>, rows: Range<Int>, width: Int, valid: Range<Int>) {
    for oh in rows {
        let rowStart = oh &* width
        zeroSpan(row + rowStart, count: valid.lowerBound)
        zeroSpan(row + (rowStart &+ valid.upperBound), count: width &- valid.upperBound)
    }
}

/// The output positions `lower..<upper` whose input column `ow·stride + offset` lies in `0..<input`.
/// Needs `stride ≥ 1` (``Convolution2DGeometry/hasValidSteps``); the arithmetic wraps, since the
/// operands are extents and offsets of an allocated tensor.
@inline(__always)
func validOutputRange(offset: Int, stride: Int, input: Int, output: Int) -> (Int, Int) {
    // ow·s + offset ≥ 0  ⇔  ow ≥ ⌈−offset / s⌉;   ow·s + offset ≤ input − 1  ⇔  ow ≤ ⌊(input − 1 − offset) / s⌋.
    let s = UInt(bitPattern: stride)
    let lower = offset >= 0 ? 0 : Swift.min(output, Int(bitPattern: (UInt(bitPattern: 0 &- offset) &+ s &- 1) / s))
    let last = input &- 1 &- offset
    let upper = last < 0 ? 0 : Swift.min(output, Int(bitPattern: UInt(bitPattern: last) / s) &+ 1)
    return (lower, Swift.max(lower, upper))
}
