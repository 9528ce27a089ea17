import Foundation
import NablaTensor

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
/// splits its work over the cores with ``Parallelism/forEach(parts:_:)`` once it is large enough.
enum NormalizationKernels {
    /// Below this many elements a kernel runs on the calling thread.
    static let parallelThreshold = 1 << 15
    /// The longest block reduced by the in-cache two-pass formula before a pairwise merge.
    static let blockLength = 2048

    /// The number of threads work is split over (``Parallelism/threadCount``).
    static var coreCount: Int { Parallelism.threadCount }

    /// Runs `body(i)` for `i` in `0..<iterations`, concurrently when `elementCount` is large enough.
    @inline(__always)
    static func forEach(_ iterations: Int, elementCount: Int, _ body: (Int) -> Void) {
        if iterations > 1 && coreCount > 1 && elementCount >= parallelThreshold {
            Parallelism.forEach(parts: iterations, body)
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

    /// `Σ x` over `n` contiguous values, in `Double`.
    @inline(__always)
    static func sum<S: TensorScalar>(_ p: UnsafePointer<S>, _ n: Int) -> Double {
        if S.self == Float.self { return simdSum(rebound(p, Float.self), n) }
        if S.self == Double.self { return simdSum(rebound(p, Double.self), n) }
        var total = 0.0
        for i in 0..<n { total += Double(p[i]) }
        return total
    }

    /// `Σ (x − mean)²` over `n` contiguous values, in `Double`.
    @inline(__always)
    static func squaredDeviation<S: TensorScalar>(_ p: UnsafePointer<S>, _ n: Int, from mean: Double) -> Double {
        if S.self == Float.self { return simdSquaredDeviation(rebound(p, Float.self), n, from: mean) }
        if S.self == Double.self { return simdSquaredDeviation(rebound(p, Double.self), n, from: mean) }
        var total = 0.0
        for i in 0..<n { let d = Double(p[i]) - mean; total += d * d }
        return total
    }

    /// `(Σ dy, Σ dy·(x − center))` over `n` contiguous pairs, in `Double`.
    @inline(__always)
    static func gradientSums<S: TensorScalar>(
        _ dy: UnsafePointer<S>, _ x: UnsafePointer<S>, _ n: Int, center: S
    ) -> (sumDy: Double, sumDyCentered: Double) {
        if S.self == Float.self {
            return simdGradientSums(rebound(dy, Float.self), rebound(x, Float.self), n, center: unsafeBitCast(center, to: Float.self))
        }
        if S.self == Double.self {
            return simdGradientSums(rebound(dy, Double.self), rebound(x, Double.self), n, center: unsafeBitCast(center, to: Double.self))
        }
        var a = 0.0, b = 0.0
        for i in 0..<n { let g = Double(dy[i]); a += g; b += g * Double(x[i] - center) }
        return (a, b)
    }

    /// ``gradientSums(_:_:_:center:)`` of `dy` masked by a fused ReLU: `dy` counts only where
    /// ``BatchNormCoefficients/passesReLU(_:)``. The masked run goes through `scratch` (`n`
    /// elements), so the sums are the unfused ones bit for bit.
    @inline(__always)
    static func maskedGradientSums<S: TensorScalar>(
        _ dy: UnsafePointer<S>, _ x: UnsafePointer<S>, _ n: Int, coefficients k: BatchNormCoefficients<S>,
        scratch: UnsafeMutablePointer<S>
    ) -> (sumDy: Double, sumDyCentered: Double) {
        for i in 0..<n {
            let g = dy[i]
            scratch[i] = k.passesReLU(x[i]) ? g : 0
        }
        return gradientSums(UnsafePointer(scratch), x, n, center: k.center)
    }

    // MARK: SIMD reductions (Float and Double)

    /// `p` viewed as the concrete type `T` that `S` is.
    @inline(__always)
    static func rebound<S, T>(_ p: UnsafePointer<S>, _ type: T.Type) -> UnsafePointer<T> {
        UnsafeRawPointer(p).assumingMemoryBound(to: T.self)
    }

    /// Loads `SIMD4<T>` at element offset `i`, widened to `Double`.
    @inline(__always)
    static func load4<T: TensorScalar & SIMDScalar>(_ p: UnsafePointer<T>, _ i: Int) -> SIMD4<Double> {
        SIMD4<Double>(UnsafeRawPointer(p + i).loadUnaligned(as: SIMD4<T>.self))
    }

    @inline(__always)
    static func simdSum<T: TensorScalar & SIMDScalar>(_ p: UnsafePointer<T>, _ n: Int) -> Double {
        var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
        var i = 0
        while i &+ 8 <= n {
            a0 += load4(p, i)
            a1 += load4(p, i &+ 4)
            i &+= 8
        }
        var total = (a0 + a1).sum()
        while i < n { total += Double(p[i]); i &+= 1 }
        return total
    }

    @inline(__always)
    static func simdSquaredDeviation<T: TensorScalar & SIMDScalar>(_ p: UnsafePointer<T>, _ n: Int, from mean: Double) -> Double {
        let m = SIMD4<Double>(repeating: mean)
        var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
        var i = 0
        while i &+ 8 <= n {
            let d0 = load4(p, i) - m, d1 = load4(p, i &+ 4) - m
            a0 += d0 * d0
            a1 += d1 * d1
            i &+= 8
        }
        var total = (a0 + a1).sum()
        while i < n { let d = Double(p[i]) - mean; total += d * d; i &+= 1 }
        return total
    }

    @inline(__always)
    static func simdGradientSums<T: TensorScalar & SIMDScalar>(
        _ dy: UnsafePointer<T>, _ x: UnsafePointer<T>, _ n: Int, center: T
    ) -> (sumDy: Double, sumDyCentered: Double) {
        let c = SIMD4<T>(repeating: center)
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>(), t0 = SIMD4<Double>(), t1 = SIMD4<Double>()
        var i = 0
        while i &+ 8 <= n {
            let g0 = load4(dy, i), g1 = load4(dy, i &+ 4)
            let x0: SIMD4<T> = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD4<T>.self)
            let x1: SIMD4<T> = UnsafeRawPointer(x + (i &+ 4)).loadUnaligned(as: SIMD4<T>.self)
            let d0 = SIMD4<Double>(x0 - c), d1 = SIMD4<Double>(x1 - c)
            s0 += g0; s1 += g1
            t0 += g0 * d0; t1 += g1 * d1
            i &+= 8
        }
        var a = (s0 + s1).sum(), b = (t0 + t1).sum()
        while i < n { let g = Double(dy[i]); a += g; b += g * Double(x[i] - center); i &+= 1 }
        return (a, b)
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
    /// With `clampingAtZero`, `y = max(0, …)` (a ReLU fused onto the map).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func affine<S: TensorScalar>(
        _ x: UnsafePointer<S>, into y: UnsafeMutablePointer<S>, samples: Int, channels: Int, spatial: Int,
        center: UnsafePointer<S>, scale: UnsafePointer<S>, shift: UnsafePointer<S>, coefficientRowStride: Int,
        clampingAtZero: Bool = false
    ) {
        let runs = samples * channels, total = runs * spatial
        let chunks = chunkCount(items: runs, elementCount: total)
        forEach(chunks, elementCount: total) { chunk in
            forEachRowSegment(runs: (chunk * runs / chunks)..<((chunk + 1) * runs / chunks), channels: channels) { n, c0, c1 in
                let k = n * coefficientRowStride
                if spatial == 1 {
                    let row = n * channels + c0
                    affineRow(x + row, into: y + row, count: c1 - c0, center: center + k + c0, scale: scale + k + c0,
                              shift: shift + k + c0, clampingAtZero: clampingAtZero)
                    return
                }
                for c in c0..<c1 {
                    let base = (n * channels + c) * spatial
                    affineRun(x + base, into: y + base, count: spatial, center: center[k + c], scale: scale[k + c],
                              shift: shift[k + c], clampingAtZero: clampingAtZero)
                }
            }
        }
    }

    /// `y[c] = (x[c] − center[c])·scale[c] + shift[c]` for `c < count` (`max(0, …)` with
    /// `clampingAtZero`): a row of an `(N, C)` input, coefficients per channel. Every pointer is a
    /// parameter, not a value captured by the caller's closure, so that the loop vectorizes (a store
    /// through `y` could otherwise alias the closure's context, and the loop stayed scalar, reloading
    /// each pointer per element).
    @inline(__always)
    static func affineRow<S: TensorScalar>(_ x: UnsafePointer<S>, into y: UnsafeMutablePointer<S>, count: Int,
                                           center: UnsafePointer<S>, scale: UnsafePointer<S>, shift: UnsafePointer<S>,
                                           clampingAtZero: Bool) {
        if clampingAtZero {
            for c in 0..<count { y[c] = Swift.max((x[c] - center[c]) * scale[c] + shift[c], 0) }
        } else {
            for c in 0..<count { y[c] = (x[c] - center[c]) * scale[c] + shift[c] }
        }
    }

    /// `dx[c] = scale[c]·dy[c] + slope[c]·(x[c] − center[c]) + offset[c]` for `c < count`: a row of an
    /// `(N, C)` input (pointers as parameters for the reason given at ``affineRow(_:into:count:center:scale:shift:clampingAtZero:)``).
    @inline(__always)
    static func inputGradientRow<S: TensorScalar>(_ dy: UnsafePointer<S>, _ x: UnsafePointer<S>,
                                                  into dx: UnsafeMutablePointer<S>, count: Int,
                                                  center: UnsafePointer<S>, scale: UnsafePointer<S>,
                                                  slope: UnsafePointer<S>, offset: UnsafePointer<S>) {
        for c in 0..<count { dx[c] = scale[c] * dy[c] + slope[c] * (x[c] - center[c]) + offset[c] }
    }

    /// `y = (x − center)·scale + shift` over `count` contiguous values (`max(0, …)` with `clampingAtZero`).
    @inline(__always)
    static func affineRun<S: TensorScalar>(_ x: UnsafePointer<S>, into y: UnsafeMutablePointer<S>, count: Int,
                                           center m: S, scale a: S, shift b: S, clampingAtZero: Bool) {
        if clampingAtZero {
            for s in 0..<count { y[s] = Swift.max((x[s] - m) * a + b, 0) }
        } else {
            for s in 0..<count { y[s] = (x[s] - m) * a + b }
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
                if spatial == 1, let slope, let offset {
                    let row = n * channels + c0, coefficient = k + c0
                    inputGradientRow(dy + row, x + row, into: dx + row, count: c1 - c0, center: center + coefficient,
                                     scale: scale + coefficient, slope: slope + coefficient, offset: offset + coefficient)
                    return
                }
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
