import Foundation

/// The inner loops shared by the normalization family (batch, group, instance and layer norm).
///
/// Every normalization views its input as `[N, C, S]` — samples, channels, and `S` contiguous spatial
/// positions per (sample, channel) pair, a *run*. Statistics are accumulated in `Double` whatever the
/// scalar type, with a numerically stable scheme: each block of at most ``blockLength`` contiguous
/// elements is reduced by the two-pass formula while it sits in L1 (`mean = Σx/n`, then
/// `M₂ = Σ(x − mean)²`), and blocks are combined with Chan, Golub & LeVeque's pairwise update
/// (“Algorithms for computing the sample variance”, 1983). `E[x²] − E[x]²` is never formed.
///
/// The elementwise passes apply per-run coefficients with contiguous inner loops, and every kernel
/// splits its work over the cores with `DispatchQueue.concurrentPerform` once it is large enough.
enum NormalizationKernels {
    /// Below this many elements a kernel runs on the calling thread.
    static let parallelThreshold = 1 << 15
    /// The longest block reduced by the in-cache two-pass formula before a pairwise merge.
    static let blockLength = 2048

    /// The number of cores work is split over.
    static let coreCount = ProcessInfo.processInfo.activeProcessorCount

    /// Runs `body(i)` for `i` in `0..<iterations`, concurrently when `elementCount` is large enough.
    @inline(__always)
    static func forEach(_ iterations: Int, elementCount: Int, _ body: (Int) -> Void) {
        if iterations > 1 && coreCount > 1 && elementCount >= parallelThreshold {
            DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
        } else {
            for i in 0..<iterations { body(i) }
        }
    }

    /// How many contiguous chunks to split `items` independent items into.
    @inline(__always)
    static func chunkCount(items: Int, elementCount: Int) -> Int {
        elementCount >= parallelThreshold ? Swift.max(1, Swift.min(items, 4 * coreCount)) : 1
    }

    // MARK: Statistics

    /// Count, mean and sum of squared deviations `M₂` of a growing set of values, in `Double`.
    struct Moments {
        var count = 0.0
        var mean = 0.0
        var m2 = 0.0

        /// The biased (population) variance `M₂/n`, used to normalize.
        var biasedVariance: Double { count > 0 ? m2 / count : .nan }

        /// Merges the moments of another set (Chan et al.'s pairwise update).
        @inline(__always)
        mutating func merge(count nb: Double, mean mb: Double, m2 m2b: Double) {
            guard nb > 0 else { return }
            let n = count + nb
            let delta = mb - mean
            mean += delta * (nb / n)
            m2 += m2b + delta * delta * (count * nb / n)
            count = n
        }

        /// Adds `count` contiguous values at `p`, block by block.
        @inline(__always)
        mutating func add<S: TensorScalar>(_ p: UnsafePointer<S>, count n: Int) {
            var start = 0
            while start < n {
                let length = Swift.min(NormalizationKernels.blockLength, n - start)
                let block = p + start
                let blockMean = NormalizationKernels.sum(block, length) / Double(length)
                merge(count: Double(length), mean: blockMean,
                      m2: NormalizationKernels.squaredDeviation(block, length, from: blockMean))
                start += length
            }
        }
    }

    /// `Σ x` over `n` contiguous values, in `Double` with eight independent accumulators.
    @inline(__always)
    static func sum<S: TensorScalar>(_ p: UnsafePointer<S>, _ n: Int) -> Double {
        var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
        var i = 0
        while i &+ 8 <= n {
            a0 += Double(p[i]); a1 += Double(p[i &+ 1]); a2 += Double(p[i &+ 2]); a3 += Double(p[i &+ 3])
            a4 += Double(p[i &+ 4]); a5 += Double(p[i &+ 5]); a6 += Double(p[i &+ 6]); a7 += Double(p[i &+ 7])
            i &+= 8
        }
        while i < n { a0 += Double(p[i]); i &+= 1 }
        return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    }

    /// `Σ (x − mean)²` over `n` contiguous values, in `Double`.
    @inline(__always)
    static func squaredDeviation<S: TensorScalar>(_ p: UnsafePointer<S>, _ n: Int, from mean: Double) -> Double {
        var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
        var i = 0
        while i &+ 8 <= n {
            let d0 = Double(p[i]) - mean, d1 = Double(p[i &+ 1]) - mean
            let d2 = Double(p[i &+ 2]) - mean, d3 = Double(p[i &+ 3]) - mean
            let d4 = Double(p[i &+ 4]) - mean, d5 = Double(p[i &+ 5]) - mean
            let d6 = Double(p[i &+ 6]) - mean, d7 = Double(p[i &+ 7]) - mean
            a0 += d0 * d0; a1 += d1 * d1; a2 += d2 * d2; a3 += d3 * d3
            a4 += d4 * d4; a5 += d5 * d5; a6 += d6 * d6; a7 += d7 * d7
            i &+= 8
        }
        while i < n { let d = Double(p[i]) - mean; a0 += d * d; i &+= 1 }
        return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    }

    /// `(Σ dy, Σ dy·(x − center))` over `n` contiguous pairs, in `Double`.
    @inline(__always)
    static func gradientSums<S: TensorScalar>(
        _ dy: UnsafePointer<S>, _ x: UnsafePointer<S>, _ n: Int, center: S
    ) -> (sumDy: Double, sumDyCentered: Double) {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0
        var i = 0
        while i &+ 4 <= n {
            let g0 = Double(dy[i]), g1 = Double(dy[i &+ 1]), g2 = Double(dy[i &+ 2]), g3 = Double(dy[i &+ 3])
            s0 += g0; s1 += g1; s2 += g2; s3 += g3
            t0 += g0 * Double(x[i] - center); t1 += g1 * Double(x[i &+ 1] - center)
            t2 += g2 * Double(x[i &+ 2] - center); t3 += g3 * Double(x[i &+ 3] - center)
            i &+= 4
        }
        while i < n { let g = Double(dy[i]); s0 += g; t0 += g * Double(x[i] - center); i &+= 1 }
        return ((s0 + s1) + (s2 + s3), (t0 + t1) + (t2 + t3))
    }

    /// The moments of `blockCount` contiguous blocks of `blockLength` values each: block `b` is
    /// `x[b·length ..< (b+1)·length]` (a group of a sample for group norm, a row for layer norm).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func blockMoments<S: TensorScalar>(
        _ x: UnsafePointer<S>, blockCount: Int, blockLength: Int,
        mean: UnsafeMutablePointer<Double>, variance: UnsafeMutablePointer<Double>
    ) {
        let chunks = chunkCount(items: blockCount, elementCount: blockCount * blockLength)
        forEach(chunks, elementCount: blockCount * blockLength) { chunk in
            for b in (chunk * blockCount / chunks)..<((chunk + 1) * blockCount / chunks) {
                var moments = Moments()
                moments.add(x + b * blockLength, count: blockLength)
                mean[b] = moments.mean
                variance[b] = moments.biasedVariance
            }
        }
    }

    // MARK: Elementwise passes over runs

    /// `y = (x − center[i])·scale[i] + shift[i]` over an `[N, C, S]` input, where the coefficients of
    /// run `(n, c)` sit at `i = n·coefficientRowStride + c` (stride 0: per channel; `C`: per run).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func affine<S: TensorScalar>(
        _ x: UnsafePointer<S>, into y: UnsafeMutablePointer<S>, samples: Int, channels: Int, spatial: Int,
        center: UnsafePointer<S>, scale: UnsafePointer<S>, shift: UnsafePointer<S>, coefficientRowStride: Int
    ) {
        let runs = samples * channels, total = runs * spatial
        let chunks = chunkCount(items: runs, elementCount: total)
        forEach(chunks, elementCount: total) { chunk in
            forEachRowSegment(runs: (chunk * runs / chunks)..<((chunk + 1) * runs / chunks), channels: channels) { n, c0, c1 in
                let k = n * coefficientRowStride
                if spatial == 1 {
                    let xr = x + n * channels, yr = y + n * channels
                    for c in c0..<c1 { yr[c] = (xr[c] - center[k + c]) * scale[k + c] + shift[k + c] }
                    return
                }
                for c in c0..<c1 {
                    let base = (n * channels + c) * spatial
                    let xr = x + base, yr = y + base
                    let m = center[k + c], a = scale[k + c], b = shift[k + c]
                    for s in 0..<spatial { yr[s] = (xr[s] - m) * a + b }
                }
            }
        }
    }

    /// `dx = scale[i]·dy + slope[i]·(x − center[i]) + offset[i]` over an `[N, C, S]` input, with the
    /// coefficient indexing of ``affine(_:into:samples:channels:spatial:center:scale:shift:coefficientRowStride:)``.
    /// Without `slope` (an affine map's backward) it is `dx = scale[i]·dy` and `x` is not read.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func inputGradient<S: TensorScalar>(
        _ dy: UnsafePointer<S>, _ x: UnsafePointer<S>, into dx: UnsafeMutablePointer<S>,
        samples: Int, channels: Int, spatial: Int, center: UnsafePointer<S>, scale: UnsafePointer<S>,
        slope: UnsafePointer<S>?, offset: UnsafePointer<S>?, coefficientRowStride: Int
    ) {
        let runs = samples * channels, total = runs * spatial
        let chunks = chunkCount(items: runs, elementCount: total)
        forEach(chunks, elementCount: total) { chunk in
            forEachRowSegment(runs: (chunk * runs / chunks)..<((chunk + 1) * runs / chunks), channels: channels) { n, c0, c1 in
                let k = n * coefficientRowStride
                for c in c0..<c1 {
                    let base = (n * channels + c) * spatial
                    let g = dy + base, xr = x + base, out = dx + base
                    let a = scale[k + c]
                    if let slope, let offset {
                        let m = center[k + c], p = slope[k + c], q = offset[k + c]
                        for s in 0..<spatial { out[s] = a * g[s] + p * (xr[s] - m) + q }
                    } else {
                        for s in 0..<spatial { out[s] = a * g[s] }
                    }
                }
            }
        }
    }

    /// `(Σ dy, Σ dy·(x − center[i]))` of every run `(n, c)` of an `[N, C, S]` pair, written at index
    /// `n·C + c`; `center` has the indexing of ``affine(_:into:samples:channels:spatial:center:scale:shift:coefficientRowStride:)``.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func runGradientSums<S: TensorScalar>(
        _ dy: UnsafePointer<S>, _ x: UnsafePointer<S>, samples: Int, channels: Int, spatial: Int,
        center: UnsafePointer<S>, coefficientRowStride: Int,
        sumDy: UnsafeMutablePointer<Double>, sumDyCentered: UnsafeMutablePointer<Double>
    ) {
        let runs = samples * channels, total = runs * spatial
        let chunks = chunkCount(items: runs, elementCount: total)
        forEach(chunks, elementCount: total) { chunk in
            for r in (chunk * runs / chunks)..<((chunk + 1) * runs / chunks) {
                let n = r / channels, c = r - n * channels
                let sums = gradientSums(dy + r * spatial, x + r * spatial, spatial,
                                        center: center[n * coefficientRowStride + c])
                sumDy[r] = sums.sumDy
                sumDyCentered[r] = sums.sumDyCentered
            }
        }
    }

    /// Calls `body(n, c0, c1)` for the row segments covering the flat run range `runs` of an
    /// `[N, C]` grid of runs: sample `n`, channels `c0..<c1`.
    @inline(__always)
    static func forEachRowSegment(runs: Range<Int>, channels: Int, _ body: (Int, Int, Int) -> Void) {
        var r = runs.lowerBound
        while r < runs.upperBound {
            let n = r / channels, c0 = r - n * channels
            let c1 = Swift.min(channels, c0 + (runs.upperBound - r))
            body(n, c0, c1)
            r += c1 - c0
        }
    }
}
