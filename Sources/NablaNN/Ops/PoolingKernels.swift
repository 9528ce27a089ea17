import NablaTensor

/// The windows of average pooling along each axis: output row `oh` reads input rows
/// `rowStart[oh] ..< rowEnd[oh]` and divides by `rowDivisor[oh] · columnDivisor[ow]`.
struct PoolingWindows {
    var rowStart: [Int], rowEnd: [Int], rowDivisor: [Int]
    var columnStart: [Int], columnEnd: [Int], columnDivisor: [Int]
    /// Whether the windows are the strided kernel windows of the geometry (not adaptive ones), so
    /// that column `ow` of tap `j` is input column `ow·stride − padding + j`.
    var isRegular: Bool

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
                              columnStart: columns.0, columnEnd: columns.1, columnDivisor: columns.2, isRegular: true)
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
                              columnStart: columns.0, columnEnd: columns.1, columnDivisor: columns.2, isRegular: false)
    }
}

/// Average pooling forward over every plane, parallel over planes. Regular windows are summed tap
/// by tap across a whole output row (each tap a strided sweep the compiler can pipeline); adaptive
/// windows, which vary in size, window by window.
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
                let source = x + plane * g.inPlane
                for oh in 0..<g.outHeight {
                    let out = output + plane * g.outPlane + oh * g.outWidth
                    if windows.isRegular {
                        out.update(repeating: 0, count: g.outWidth)
                        for h in rs[oh]..<re[oh] {
                            let row = source + h * g.inWidth
                            for j in 0..<g.kernelWidth {
                                let offset = j - g.paddingWidth
                                let (lower, upper) = validOutputRange(offset: offset, stride: g.strideWidth,
                                                                      input: g.inWidth, output: g.outWidth)
                                let s = g.strideWidth
                                for ow in lower..<upper { out[ow] += row[ow * s + offset] }
                            }
                        }
                    } else {
                        for ow in 0..<g.outWidth {
                            var sum: Scalar = 0
                            for h in rs[oh]..<re[oh] { sum += contiguousSum(source + h * g.inWidth + cs[ow], ce[ow] - cs[ow]) }
                            out[ow] = sum
                        }
                    }
                    for ow in 0..<g.outWidth {
                        let divisor = rd[oh] * cd[ow]
                        out[ow] = divisor == 0 ? 0 : out[ow] / Scalar(divisor)
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
                let destination = dx + plane * g.inPlane
                destination.update(repeating: 0, count: g.inPlane)
                for oh in 0..<g.outHeight {
                    let upstream = gy + plane * g.outPlane + oh * g.outWidth
                    if windows.isRegular {
                        for h in rs[oh]..<re[oh] {
                            let row = destination + h * g.inWidth
                            for j in 0..<g.kernelWidth {
                                let offset = j - g.paddingWidth
                                let (lower, upper) = validOutputRange(offset: offset, stride: g.strideWidth,
                                                                      input: g.inWidth, output: g.outWidth)
                                let s = g.strideWidth
                                for ow in lower..<upper { row[ow * s + offset] += upstream[ow] / Scalar(rd[oh] * cd[ow]) }
                            }
                        }
                        continue
                    }
                    for ow in 0..<g.outWidth {
                        let divisor = rd[oh] * cd[ow]
                        if divisor == 0 { continue }
                        let share = upstream[ow] / Scalar(divisor)
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
///
/// PyTorch's rule: scan the window in row-major order from `−∞` (index: the first tap), a value
/// replacing the running maximum only when strictly greater or NaN — so ties go to the first
/// maximum and a NaN wins. The scan here is branch-free (a max instruction and arithmetic index
/// update; on real data the comparison is a coin flip a branch predictor would miss), and the rare
/// window holding a NaN is rescanned with the NaN rule.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func maxPool2DForward<Scalar: TensorScalar>(_ x: UnsafePointer<Scalar>, _ g: Pooling2DGeometry,
                                            output: UnsafeMutablePointer<Scalar>, argmax: UnsafeMutablePointer<Int32>) {
    if g.kernelHeight == 2 && g.kernelWidth == 2 && g.strideHeight == 2 && g.strideWidth == 2
        && g.paddingHeight == 0 && g.paddingWidth == 0 && g.dilationHeight == 1 && g.dilationWidth == 1
        && 2 * g.outHeight <= g.inHeight && 2 * g.outWidth <= g.inWidth {
        maxPool2x2Forward(x, g, output: output, argmax: argmax)
        return
    }
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
    let width = g.inWidth, dh = g.dilationHeight, dw = g.dilationWidth
    rowStart.withUnsafeBufferPointer { rs in rowEnd.withUnsafeBufferPointer { re in
    columnStart.withUnsafeBufferPointer { cs in columnEnd.withUnsafeBufferPointer { ce in
        convolutionParallelFor(g.planes, workPerItem: g.outPlane * g.kernelHeight * g.kernelWidth) { range in
            for plane in range {
                let source = x + plane * g.inPlane
                let destination = output + plane * g.outPlane, indices = argmax + plane * g.outPlane
                for oh in 0..<g.outHeight {
                    for ow in 0..<g.outWidth {
                        var best = -Scalar.infinity
                        var bestIndex = rs[oh] < re[oh] && cs[ow] < ce[ow] ? rs[oh] * width + cs[ow] : -1
                        var sawNaN = 0
                        var h = rs[oh]
                        while h < re[oh] {
                            var w = cs[ow]
                            while w < ce[ow] {
                                let tap = h * width + w, value = source[tap]
                                let greater = value > best
                                bestIndex &+= (greater ? 1 : 0) &* (tap &- bestIndex)
                                best = greater ? value : best
                                sawNaN |= value != value ? 1 : 0
                                w += dw
                            }
                            h += dh
                        }
                        if sawNaN != 0 {
                            h = rs[oh]
                            while h < re[oh] {
                                var w = cs[ow]
                                while w < ce[ow] {
                                    if source[h * width + w].isNaN { best = source[h * width + w]; bestIndex = h * width + w }
                                    w += dw
                                }
                                h += dh
                            }
                        }
                        destination[oh * g.outWidth + ow] = best
                        indices[oh * g.outWidth + ow] = Int32(truncatingIfNeeded: bestIndex)
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

/// `Σ p[0..<count]` with independent vector accumulators (SIMD for `Float` and `Double`), so the
/// additions pipeline instead of waiting on each other. The association order differs from a
/// left-to-right sum by rounding only.
@inline(__always)
func contiguousSum<Scalar: TensorScalar>(_ p: UnsafePointer<Scalar>, _ count: Int) -> Scalar {
    if Scalar.self == Float.self {
        return unsafeBitCast(vectorSum(UnsafeRawPointer(p), count, SIMD16<Float>.self), to: Scalar.self)
    }
    if Scalar.self == Double.self {
        return unsafeBitCast(vectorSum(UnsafeRawPointer(p), count, SIMD8<Double>.self), to: Scalar.self)
    }
    var s0: Scalar = 0, s1: Scalar = 0, s2: Scalar = 0, s3: Scalar = 0
    var i = 0
    while i + 4 <= count { s0 += p[i]; s1 += p[i + 1]; s2 += p[i + 2]; s3 += p[i + 3]; i += 4 }
    while i < count { s0 += p[i]; i += 1 }
    return (s0 + s1) + (s2 + s3)
}

/// The sum of `count` elements at `p` using two accumulators of vector type `V`.
@inline(__always)
private func vectorSum<V: SIMD>(_ p: UnsafeRawPointer, _ count: Int, _: V.Type) -> V.Scalar
where V.Scalar: BinaryFloatingPoint {
    let lanes = V.scalarCount, size = MemoryLayout<V.Scalar>.stride
    var a = V(), b = V()
    var i = 0
    while i + 2 * lanes <= count {
        a += p.loadUnaligned(fromByteOffset: i * size, as: V.self)
        b += p.loadUnaligned(fromByteOffset: (i + lanes) * size, as: V.self)
        i += 2 * lanes
    }
    var total = (a + b).sum()
    while i < count {
        total += p.load(fromByteOffset: i * size, as: V.Scalar.self)
        i += 1
    }
    return total
}


/// The common 2×2, stride-2, unpadded max pooling with every window inside the input: the four taps
/// unrolled, with the general kernel's semantics — the first maximum in row-major order wins ties,
/// and a window holding NaN yields its last NaN. `Float` runs eight or four windows at a time.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func maxPool2x2Forward<Scalar: TensorScalar>(_ x: UnsafePointer<Scalar>, _ g: Pooling2DGeometry,
                                             output: UnsafeMutablePointer<Scalar>, argmax: UnsafeMutablePointer<Int32>) {
    // Every window lies inside the input (2·outHeight ≤ inHeight, 2·outWidth ≤ inWidth), so every
    // index below is inside the plane; index arithmetic wraps instead of checking.
    precondition(2 * g.outHeight <= g.inHeight && 2 * g.outWidth <= g.inWidth && g.inPlane <= Int(Int32.max),
                 "maxPool2x2Forward: windows outside the input (\(g))")
    let width = g.inWidth, outWidth = g.outWidth
    convolutionParallelFor(g.planes, workPerItem: g.outPlane &* 4) { range in
        for plane in range {
            let source = x + plane &* g.inPlane
            let destination = output + plane &* g.outPlane, indices = argmax + plane &* g.outPlane
            for oh in 0..<g.outHeight {
                let top = 2 &* oh &* width, bottom = top &+ width
                var ow = 0
                if Scalar.self == Float.self {
                    let row = UnsafeRawPointer(source)
                    let out = UnsafeMutableRawPointer(destination + oh &* outWidth), outIndices = indices + oh &* outWidth
                    let lanes = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14)
                    while ow &+ 8 <= outWidth {
                        let upper = row.loadUnaligned(fromByteOffset: (top &+ 2 &* ow) &* 4, as: SIMD16<Float>.self)
                        let lower = row.loadUnaligned(fromByteOffset: (bottom &+ 2 &* ow) &* 4, as: SIMD16<Float>.self)
                        let t0 = lanes &+ Int32(truncatingIfNeeded: top &+ 2 &* ow)
                        var best = upper.evenHalf, index = t0
                        @inline(__always) func scan(_ value: SIMD8<Float>, _ tap: SIMD8<Int32>) {
                            let take = (value .> best) .| (value .!= value)
                            best.replace(with: value, where: take)
                            index.replace(with: tap, where: take)
                        }
                        scan(upper.oddHalf, t0 &+ 1)
                        scan(lower.evenHalf, t0 &+ Int32(truncatingIfNeeded: width))
                        scan(lower.oddHalf, t0 &+ Int32(truncatingIfNeeded: width &+ 1))
                        out.storeBytes(of: best, toByteOffset: ow &* 4, as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(outIndices + ow).storeBytes(of: index, as: SIMD8<Int32>.self)
                        ow &+= 8
                    }
                    // The same, four windows at a time (LeNet's 14- and 5-wide outputs). Kept as a concrete
                    // copy: a helper generic over the vector width was left unspecialized by the compiler
                    // (10% of a convnet step).
                    while ow &+ 4 <= outWidth {
                        let upper = row.loadUnaligned(fromByteOffset: (top &+ 2 &* ow) &* 4, as: SIMD8<Float>.self)
                        let lower = row.loadUnaligned(fromByteOffset: (bottom &+ 2 &* ow) &* 4, as: SIMD8<Float>.self)
                        let t0 = lanes.lowHalf &+ Int32(truncatingIfNeeded: top &+ 2 &* ow)
                        var best = upper.evenHalf, index = t0
                        @inline(__always) func scan(_ value: SIMD4<Float>, _ tap: SIMD4<Int32>) {
                            let take = (value .> best) .| (value .!= value)
                            best.replace(with: value, where: take)
                            index.replace(with: tap, where: take)
                        }
                        scan(upper.oddHalf, t0 &+ 1)
                        scan(lower.evenHalf, t0 &+ Int32(truncatingIfNeeded: width))
                        scan(lower.oddHalf, t0 &+ Int32(truncatingIfNeeded: width &+ 1))
                        out.storeBytes(of: best, toByteOffset: ow &* 4, as: SIMD4<Float>.self)
                        UnsafeMutableRawPointer(outIndices + ow).storeBytes(of: index, as: SIMD4<Int32>.self)
                        ow &+= 4
                    }
                }
                while ow < outWidth {
                    let t0 = top &+ 2 &* ow, t1 = t0 &+ 1, t2 = bottom &+ 2 &* ow, t3 = t2 &+ 1
                    let a = source[t0], b = source[t1], c = source[t2], d = source[t3]
                    // PyTorch's scan `if v > best || isnan(v) { best = v }`, started at best = a, as
                    // selects rather than branches (on real data each comparison is a coin flip).
                    var best = a, index = t0
                    var take = b > best || b.isNaN
                    best = take ? b : best; index = take ? t1 : index
                    take = c > best || c.isNaN
                    best = take ? c : best; index = take ? t2 : index
                    take = d > best || d.isNaN
                    best = take ? d : best; index = take ? t3 : index
                    destination[oh &* outWidth &+ ow] = best
                    indices[oh &* outWidth &+ ow] = Int32(truncatingIfNeeded: index)
                    ow &+= 1
                }
            }
        }
    }
}
