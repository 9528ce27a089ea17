/// The windows of average pooling along each axis: output row `oh` reads input rows
/// `rowStart[oh] ..< rowEnd[oh]` and divides by `rowDivisor[oh] · columnDivisor[ow]`.
struct PoolingWindows {
    var rowStart: [Int], rowEnd: [Int], rowDivisor: [Int]
    var columnStart: [Int], columnEnd: [Int], columnDivisor: [Int]

    /// PyTorch's `avg_pool2d` windows: start `o·s − p`, end clipped to the padded input `I + p`, the
    /// divisor being that clipped size (`countIncludePad`) or the part inside `0..<I`.
    static func average(_ g: Pooling2DGeometry, countIncludePad: Bool) -> PoolingWindows {
        func axis(input: Int, output: Int, kernel: Int, stride: Int, padding: Int) -> ([Int], [Int], [Int]) {
            var starts = [Int](), ends = [Int](), divisors = [Int]()
            for o in 0..<output {
                let start = o * stride - padding
                let paddedEnd = Swift.min(start + kernel, input + padding)
                let lower = Swift.max(start, 0), upper = Swift.min(paddedEnd, input)
                starts.append(lower)
                ends.append(Swift.max(lower, upper))
                divisors.append(countIncludePad ? paddedEnd - start : Swift.max(upper - lower, 0))
            }
            return (starts, ends, divisors)
        }
        let rows = axis(input: g.inHeight, output: g.outHeight, kernel: g.kernelHeight, stride: g.strideHeight,
                        padding: g.paddingHeight)
        let columns = axis(input: g.inWidth, output: g.outWidth, kernel: g.kernelWidth, stride: g.strideWidth,
                           padding: g.paddingWidth)
        return PoolingWindows(rowStart: rows.0, rowEnd: rows.1, rowDivisor: rows.2,
                              columnStart: columns.0, columnEnd: columns.1, columnDivisor: columns.2)
    }

    /// PyTorch's adaptive windows `⌊o·I/O⌋ ..< ⌈(o+1)·I/O⌉`, divided by their size.
    static func adaptive(_ g: Pooling2DGeometry) -> PoolingWindows {
        func axis(input: Int, output: Int) -> ([Int], [Int], [Int]) {
            let starts = (0..<output).map { $0 * input / output }
            let ends = (0..<output).map { (($0 + 1) * input + output - 1) / output }
            return (starts, ends, zip(starts, ends).map { $1 - $0 })
        }
        let rows = axis(input: g.inHeight, output: g.outHeight)
        let columns = axis(input: g.inWidth, output: g.outWidth)
        return PoolingWindows(rowStart: rows.0, rowEnd: rows.1, rowDivisor: rows.2,
                              columnStart: columns.0, columnEnd: columns.1, columnDivisor: columns.2)
    }
}

/// Average pooling forward over every plane, parallel over planes.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func averagePool2DForward<Scalar: TensorScalar>(_ x: UnsafePointer<Scalar>, _ g: Pooling2DGeometry,
                                                _ windows: PoolingWindows, output: UnsafeMutablePointer<Scalar>) {
    let window = Swift.max(1, g.inPlane / Swift.max(1, g.outPlane))
    windows.rowStart.withUnsafeBufferPointer { rs in windows.rowEnd.withUnsafeBufferPointer { re in
    windows.columnStart.withUnsafeBufferPointer { cs in windows.columnEnd.withUnsafeBufferPointer { ce in
    windows.rowDivisor.withUnsafeBufferPointer { rd in windows.columnDivisor.withUnsafeBufferPointer { cd in
        convolutionParallelFor(g.planes, workPerItem: g.outPlane * window) { range in
            for plane in range {
                let source = x + plane * g.inPlane, destination = output + plane * g.outPlane
                for oh in 0..<g.outHeight {
                    for ow in 0..<g.outWidth {
                        var sum: Scalar = 0
                        for h in rs[oh]..<re[oh] {
                            let row = source + h * g.inWidth
                            for w in cs[ow]..<ce[ow] { sum += row[w] }
                        }
                        let divisor = rd[oh] * cd[ow]
                        destination[oh * g.outWidth + ow] = divisor == 0 ? 0 : sum / Scalar(divisor)
                    }
                }
            }
        }
    }}}}}}
}

/// Average pooling backward: `dx = 0`, then `dx[window] += ∂y / divisor`, parallel over planes.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func averagePool2DBackward<Scalar: TensorScalar>(_ gy: UnsafePointer<Scalar>, _ g: Pooling2DGeometry,
                                                 _ windows: PoolingWindows, into dx: UnsafeMutablePointer<Scalar>) {
    let window = Swift.max(1, g.inPlane / Swift.max(1, g.outPlane))
    windows.rowStart.withUnsafeBufferPointer { rs in windows.rowEnd.withUnsafeBufferPointer { re in
    windows.columnStart.withUnsafeBufferPointer { cs in windows.columnEnd.withUnsafeBufferPointer { ce in
    windows.rowDivisor.withUnsafeBufferPointer { rd in windows.columnDivisor.withUnsafeBufferPointer { cd in
        convolutionParallelFor(g.planes, workPerItem: g.outPlane * window) { range in
            for plane in range {
                let source = gy + plane * g.outPlane, destination = dx + plane * g.inPlane
                destination.update(repeating: 0, count: g.inPlane)
                for oh in 0..<g.outHeight {
                    for ow in 0..<g.outWidth {
                        let divisor = rd[oh] * cd[ow]
                        if divisor == 0 { continue }
                        let share = source[oh * g.outWidth + ow] / Scalar(divisor)
                        for h in rs[oh]..<re[oh] {
                            let row = destination + h * g.inWidth
                            for w in cs[ow]..<ce[ow] { row[w] += share }
                        }
                    }
                }
            }
        }
    }}}}}}
}

/// Max pooling forward over every plane, parallel over planes; records the flat in-plane index of
/// each window's maximum in `argmax` (−1 for a window with no input position).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func maxPool2DForward<Scalar: TensorScalar>(_ x: UnsafePointer<Scalar>, _ g: Pooling2DGeometry,
                                            output: UnsafeMutablePointer<Scalar>, argmax: UnsafeMutablePointer<Int32>) {
    // First in-bounds tap and end of each window along each axis, as PyTorch's kernel computes them.
    func taps(input: Int, output: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> ([Int], [Int]) {
        var starts = [Int](), ends = [Int]()
        for o in 0..<output {
            var start = o * stride - padding
            let end = Swift.min(start + (kernel - 1) * dilation + 1, input)
            while start < 0 { start += dilation }
            starts.append(start)
            ends.append(end)
        }
        return (starts, ends)
    }
    let (rowStart, rowEnd) = taps(input: g.inHeight, output: g.outHeight, kernel: g.kernelHeight,
                                  stride: g.strideHeight, padding: g.paddingHeight, dilation: g.dilationHeight)
    let (columnStart, columnEnd) = taps(input: g.inWidth, output: g.outWidth, kernel: g.kernelWidth,
                                        stride: g.strideWidth, padding: g.paddingWidth, dilation: g.dilationWidth)
    let dh = g.dilationHeight, dw = g.dilationWidth
    rowStart.withUnsafeBufferPointer { rs in rowEnd.withUnsafeBufferPointer { re in
    columnStart.withUnsafeBufferPointer { cs in columnEnd.withUnsafeBufferPointer { ce in
        convolutionParallelFor(g.planes, workPerItem: g.outPlane * g.kernelHeight * g.kernelWidth) { range in
            for plane in range {
                let source = x + plane * g.inPlane
                let destination = output + plane * g.outPlane, index = argmax + plane * g.outPlane
                for oh in 0..<g.outHeight {
                    for ow in 0..<g.outWidth {
                        // PyTorch starts from the first tap with −∞, so an all −∞ window picks its first tap.
                        var best = -Scalar.infinity
                        var bestIndex = rs[oh] < re[oh] && cs[ow] < ce[ow] ? rs[oh] * g.inWidth + cs[ow] : -1
                        var h = rs[oh]
                        while h < re[oh] {
                            let row = source + h * g.inWidth
                            var w = cs[ow]
                            while w < ce[ow] {
                                let value = row[w]
                                if value > best || value.isNaN {
                                    best = value
                                    bestIndex = h * g.inWidth + w
                                }
                                w += dw
                            }
                            h += dh
                        }
                        destination[oh * g.outWidth + ow] = best
                        index[oh * g.outWidth + ow] = Int32(bestIndex)
                    }
                }
            }
        }
    }}}}
}

/// Max pooling backward: `dx = 0`, then `dx[argmax] += ∂y`, parallel over planes.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func maxPool2DBackward<Scalar: TensorScalar>(_ gy: UnsafePointer<Scalar>, argmax: UnsafePointer<Int32>,
                                             _ g: Pooling2DGeometry, into dx: UnsafeMutablePointer<Scalar>) {
    convolutionParallelFor(g.planes, workPerItem: g.outPlane + g.inPlane) { range in
        for plane in range {
            let source = gy + plane * g.outPlane, index = argmax + plane * g.outPlane
            let destination = dx + plane * g.inPlane
            destination.update(repeating: 0, count: g.inPlane)
            for o in 0..<g.outPlane where index[o] >= 0 {
                destination[Int(index[o])] += source[o]
            }
        }
    }
}
