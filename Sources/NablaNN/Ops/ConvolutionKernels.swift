import Foundation
import NablaTensor

/// Blocking and threading choices of the convolution kernels.
///
/// The defaults were measured on the `convnet` layer shapes (batch 64, 3×3, padding 1) on a
/// 2-core machine: splitting the batch across the cores, each running im2col and single-threaded
/// per-sample GEMMs on an L2-sized column block, beat both one GEMM per block of samples and
/// multi-threaded BLAS over blocks lowered on both cores (whose idle BLAS threads spin while ours
/// lower the next block) by 10–40 % per layer.
public enum ConvolutionTuning {
    /// Target size, in elements, of one worker's column buffer (a block of samples lowered together).
    nonisolated(unsafe) public static var columnBlockElements = 1 << 18
    /// Whether each sample gets its own GEMM (writing NCHW output directly) instead of one GEMM per
    /// group over the whole block followed by a scatter.
    nonisolated(unsafe) public static var perSampleProducts = true
    /// Whether each core takes its own share of the batch (im2col and single-threaded GEMMs), rather
    /// than lowering blocks on both cores and splitting each GEMM over them (`matrixMultiply`).
    nonisolated(unsafe) public static var splitBatchAcrossWorkers = true
    /// Passes with fewer multiply-adds than this run on one core.
    nonisolated(unsafe) public static var parallelThreshold = 1 << 18
    /// Whether unit-stride "same-width" convolutions lower each sample with one row per (channel,
    /// kernel column) and run one GEMM per kernel row (`Convolution2DGeometry.usesRowShiftedLowering`).
    nonisolated(unsafe) public static var rowShiftedLowering = true
    /// The smallest `C·kW` (inner dimension of each of those GEMMs) that takes the row-shifted path;
    /// below it the GEMMs are too shallow (the 3-channel input layer of `convnet` has 9).
    nonisolated(unsafe) public static var rowShiftedMinimumDepth = 16
}

extension Convolution2DGeometry {
    /// Samples lowered together into one column buffer.
    var samplesPerBlock: Int {
        Swift.max(1, Swift.min(batch, ConvolutionTuning.columnBlockElements / Swift.max(1, columnRows * outPlane)))
    }

    /// A 1×1 kernel with unit stride and no padding reads the input itself as its column matrix.
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideHeight == 1 && strideWidth == 1
            && paddingHeight == 0 && paddingWidth == 0
    }

    /// Cores to split the batch over: one when the whole pass is too small to pay for a thread hop.
    var workerCount: Int {
        multiplyAddCount < ConvolutionTuning.parallelThreshold ? 1 : Swift.min(ConvolutionParallelism.workerCount, batch)
    }
}

/// Splits `0..<count` over `workers` cores and runs `body(range, worker)` on each; each core runs
/// its own single-threaded GEMMs (see ``BLASThreading``).
func runOnWorkers(_ workers: Int, count: Int, _ body: (Range<Int>, Int) -> Void) {
    if workers <= 1 {
        body(0..<count, 0)
        return
    }
    BLASThreading.useSingleThreadedBLAS()
    Parallelism.forEach(parts: workers) { worker in
        body(count * worker / workers ..< count * (worker + 1) / workers, worker)
    }
}

/// The forward pass of ``conv2d(_:weight:bias:stride:padding:dilation:groups:)`` on raw buffers:
/// `output` (`N·O·Ho·Wo`, uninitialized) `= W ⋆ input + bias`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func convolution2DForward<Scalar: TensorScalar>(
    input x: UnsafePointer<Scalar>, weight w: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>?,
    output out: UnsafeMutablePointer<Scalar>, geometry g: Convolution2DGeometry,
    algorithm: ConvolutionAlgorithm = .current, workspace: ConvolutionWorkspace = .shared, bf16: Bool = false
) {
    // bf16 (Float only): the bf16 direct kernels where they apply, else im2col and the bf16 GEMM.
    if bf16 && BFloat16DirectConvolution.applies(to: g, algorithm: algorithm) {
        BFloat16DirectConvolution.forward(input: floats(x), weight: floats(w), bias: bias.map(floats),
                                          output: floats(out), geometry: g, workspace: workspace)
        return
    }
    let path = bf16 ? .gemm : g.path(algorithm, for: Scalar.self, product: .forward)
    switch path {
    case .direct:
        return DirectConvolution.forward(input: x, weight: w, bias: bias, output: out, geometry: g, workspace: workspace)
    case .winograd, .winograd4x4:
        let tileSize = path.winogradTileSize ?? 2
        return WinogradConvolution.forward(input: x, weight: w, bias: bias, output: out, geometry: g, tileSize: tileSize,
                                           workspace: workspace)
    case .gemm:
        break
    }
    if !bf16 && g.usesRowShiftedLowering {
        rowShiftedConvolutionForward(input: x, weight: w, bias: bias, output: out, geometry: g, workspace: workspace)
        return
    }
    let plane = g.outPlane, rows = g.columnRows
    let groupOut = g.groupOutChannels, groupRows = g.groupColumnRows
    let inSample = g.inChannels * g.inPlane, outSample = g.outChannels * plane
    let block = g.isPointwise ? 1 : g.samplesPerBlock
    let perSample = ConvolutionTuning.perSampleProducts || block == 1
    let split = ConvolutionTuning.splitBatchAcrossWorkers

    /// im2col, GEMMs and bias for samples `start ..< start + count`; `parallel` spreads the memory-bound
    /// loops over the cores (when the caller has not already split the batch).
    func lowerAndMultiply(_ start: Int, _ count: Int, col: UnsafeMutablePointer<Scalar>,
                          product: UnsafeMutablePointer<Scalar>, parallel: Bool) {
        let ld = count * plane
        convolutionParallelFor(count, workPerItem: rows * plane, enabled: parallel) { range in
            for s in range {
                if !g.isPointwise { im2col(x + (start + s) * inSample, g, into: col + s * plane, rowStride: ld) }
                if perSample, let bias {
                    // The bias goes in first; the GEMM adds onto it (beta = 1).
                    let o = out + (start + s) * outSample
                    for channel in 0..<g.outChannels { (o + channel * plane).update(repeating: bias[channel], count: plane) }
                }
            }
        }
        if perSample {
            for s in 0..<count {
                let columns = g.isPointwise ? UnsafePointer(x + (start + s) * inSample) : UnsafePointer(col + s * plane)
                let columnStride = g.isPointwise ? plane : ld
                for group in 0..<g.groups {
                    convolutionProduct(splitAcrossCores: parallel, bf16: bf16, transposeA: false, transposeB: false, m: groupOut, n: plane, k: groupRows,
                                alpha: 1, a: w + group * groupOut * groupRows, lda: groupRows,
                                b: columns + group * groupRows * columnStride, ldb: columnStride,
                                beta: bias == nil ? 0 : 1, c: out + (start + s) * outSample + group * groupOut * plane,
                                ldc: plane)
                }
            }
            return
        }
        for group in 0..<g.groups {
            convolutionProduct(splitAcrossCores: parallel, bf16: bf16, transposeA: false, transposeB: false, m: groupOut, n: ld, k: groupRows, alpha: 1,
                        a: w + group * groupOut * groupRows, lda: groupRows, b: col + group * groupRows * ld, ldb: ld,
                        beta: 0, c: product + group * groupOut * ld, ldc: ld)
        }
        // Scatter [O][count·plane] to NCHW, adding the bias on the way.
        convolutionParallelFor(count, workPerItem: outSample, enabled: parallel) { range in
            for s in range {
                let o = out + (start + s) * outSample
                for channel in 0..<g.outChannels {
                    let source = product + channel * ld + s * plane, destination = o + channel * plane
                    let b = bias?[channel] ?? 0
                    for p in 0..<plane { destination[p] = source[p] + b }
                }
            }
        }
    }

    let columnCount = g.isPointwise ? 0 : paddedToCacheLine(block * rows * plane)
    let productCount = perSample ? 0 : paddedToCacheLine(block * outSample)
    if split {
        // The workers' buffers are borrowed here, on the calling thread, so that the pool sees the same
        // requests in the same order on every call and reaches its steady state after the first.
        let workers = g.workerCount
        workspace.withBuffer(of: Scalar.self, count: workers * columnCount) { columns in
            workspace.withBuffer(of: Scalar.self, count: workers * productCount) { products in
                runOnWorkers(workers, count: g.batch) { range, worker in
                    for start in Swift.stride(from: range.lowerBound, to: range.upperBound, by: block) {
                        lowerAndMultiply(start, Swift.min(block, range.upperBound - start),
                                         col: columns + worker * columnCount, product: products + worker * productCount,
                                         parallel: false)
                    }
                }
            }
        }
        return
    }
    workspace.withBuffer(of: Scalar.self, count: columnCount) { col in
        workspace.withBuffer(of: Scalar.self, count: productCount) { product in
            for start in Swift.stride(from: 0, to: g.batch, by: block) {
                lowerAndMultiply(start, Swift.min(block, g.batch - start), col: col, product: product, parallel: true)
            }
        }
    }
}

/// The backward pass on raw buffers. Each requested gradient buffer may be uninitialized; it is
/// overwritten with the gradient. `upstream` is `∂L/∂y`, `N·O·Ho·Wo`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func convolution2DBackward<Scalar: TensorScalar>(
    input x: UnsafePointer<Scalar>, weight w: UnsafePointer<Scalar>, upstream gy: UnsafePointer<Scalar>,
    inputGradient dx: UnsafeMutablePointer<Scalar>?, weightGradient dw: UnsafeMutablePointer<Scalar>?,
    biasGradient db: UnsafeMutablePointer<Scalar>?, geometry g: Convolution2DGeometry,
    algorithm: ConvolutionAlgorithm = .current, workspace: ConvolutionWorkspace = .shared, bf16: Bool = false
) {
    let plane = g.outPlane, rows = g.columnRows
    let groupOut = g.groupOutChannels, groupRows = g.groupColumnRows
    let inSample = g.inChannels * g.inPlane, outSample = g.outChannels * plane
    let weightCount = g.outChannels * groupRows

    if let db {
        // ∂b[o] = Σ_n Σ_p ∂y[n, o, p]: the per-(sample, channel) plane sums in parallel, then added in
        // sample order on this thread (the same bits for any number of cores).
        workspace.withBuffer(of: Scalar.self, count: g.batch * g.outChannels) { sums in
            convolutionParallelFor(g.batch, workPerItem: outSample) { range in
                for n in range {
                    for channel in 0..<g.outChannels {
                        sums[n * g.outChannels + channel] = contiguousSum(gy + n * outSample + channel * plane, plane)
                    }
                }
            }
            db.update(repeating: 0, count: g.outChannels)
            for n in 0..<g.batch {
                for channel in 0..<g.outChannels { db[channel] += sums[n * g.outChannels + channel] }
            }
        }
    }
    if dx == nil && dw == nil { return }
    if bf16 && BFloat16DirectConvolution.applies(to: g, algorithm: algorithm) {
        BFloat16DirectConvolution.backward(input: floats(x), weight: floats(w), upstream: floats(gy),
                                           inputGradient: dx.map(floats), weightGradient: dw.map(floats),
                                           geometry: g, workspace: workspace)
        return
    }
    // The direct kernels take the gradients `algorithm` gives them (``Convolution2DGeometry/path(_:for:product:)``);
    // the lowering below computes the others.
    let inputPath = bf16 || dx == nil ? ConvolutionPath.gemm : g.path(algorithm, for: Scalar.self, product: .inputGradient)
    let directInput = inputPath == .direct, winogradInput = inputPath.winogradTileSize != nil
    let weightPath = bf16 || dw == nil ? ConvolutionPath.gemm : g.path(algorithm, for: Scalar.self, product: .weightGradient)
    let directWeight = weightPath == .direct, winogradWeight = weightPath.winogradTileSize != nil
    if directInput || directWeight {
        DirectConvolution.backward(input: x, weight: w, upstream: gy, inputGradient: directInput ? dx : nil,
                                   weightGradient: directWeight ? dw : nil, geometry: g, workspace: workspace)
    }
    if winogradInput, let dx {
        WinogradConvolution.inputGradient(weight: w, upstream: gy, inputGradient: dx, geometry: g,
                                          tileSize: inputPath.winogradTileSize ?? 2, workspace: workspace)
    }
    if winogradWeight, let dw {
        WinogradWeightGradient.compute(input: x, upstream: gy, weightGradient: dw, geometry: g,
                                       tileSize: weightPath.winogradTileSize ?? 2, workspace: workspace)
    }
    let dx = directInput || winogradInput ? nil : dx, dw = directWeight || winogradWeight ? nil : dw
    if dx == nil && dw == nil { return }
    if !bf16 && g.usesRowShiftedLowering {
        rowShiftedConvolutionBackward(input: x, weight: w, upstream: gy, inputGradient: dx, weightGradient: dw,
                                      geometry: g, workspace: workspace)
        return
    }

    let block = g.isPointwise ? 1 : g.samplesPerBlock
    let perSample = ConvolutionTuning.perSampleProducts || block == 1
    let split = ConvolutionTuning.splitBatchAcrossWorkers

    /// Both gradients for samples `start ..< start + count`, accumulating the weight gradient into `dwTarget`.
    func backBlock(_ start: Int, _ count: Int, col: UnsafeMutablePointer<Scalar>, gathered: UnsafeMutablePointer<Scalar>,
                   dwTarget: UnsafeMutablePointer<Scalar>?, parallel: Bool) {
        let ld = count * plane
        // The block's upstream gradient: per-sample NCHW planes, or regrouped as [O][count·plane].
        var gyBlock = gy + start * outSample, gyStride = plane, gySample = outSample, gyChannel = plane
        if !perSample {
            convolutionParallelFor(count, workPerItem: outSample, enabled: parallel) { range in
                for s in range {
                    for channel in 0..<g.outChannels {
                        (gathered + channel * ld + s * plane)
                            .update(from: gy + (start + s) * outSample + channel * plane, count: plane)
                    }
                }
            }
            gyBlock = UnsafePointer(gathered); gyStride = ld; gySample = plane; gyChannel = ld
        }
        let columns: UnsafePointer<Scalar>, columnStride: Int
        if g.isPointwise {
            columns = x + start * inSample; columnStride = plane
        } else {
            columns = UnsafePointer(col); columnStride = ld
        }
        if let dwTarget {
            if !g.isPointwise {
                convolutionParallelFor(count, workPerItem: rows * plane, enabled: parallel) { range in
                    for s in range { im2col(x + (start + s) * inSample, g, into: col + s * plane, rowStride: ld) }
                }
            }
            for group in 0..<g.groups {
                let gyGroup = gyBlock + group * groupOut * gyChannel
                if perSample {
                    for s in 0..<count {
                        let sampleColumns = g.isPointwise ? columns + s * inSample : columns + s * plane
                        convolutionProduct(splitAcrossCores: parallel, bf16: bf16, transposeA: false, transposeB: true, m: groupOut, n: groupRows, k: plane,
                                    alpha: 1, a: gyGroup + s * gySample, lda: gyStride,
                                    b: sampleColumns + group * groupRows * columnStride, ldb: columnStride,
                                    beta: 1, c: dwTarget + group * groupOut * groupRows, ldc: groupRows)
                    }
                } else {
                    convolutionProduct(splitAcrossCores: parallel, bf16: bf16, transposeA: false, transposeB: true, m: groupOut, n: groupRows, k: ld,
                                alpha: 1, a: gyGroup, lda: gyStride, b: columns + group * groupRows * ld, ldb: ld,
                                beta: 1, c: dwTarget + group * groupOut * groupRows, ldc: groupRows)
                }
            }
        }
        guard let dx else { return }
        // ∂col = Wᵀ·∂y, written straight into ∂x for a pointwise kernel, else folded back by col2im.
        let target = g.isPointwise ? dx + start * inSample : col
        for group in 0..<g.groups {
            let gyGroup = gyBlock + group * groupOut * gyChannel
            let wGroup = w + group * groupOut * groupRows
            if perSample {
                for s in 0..<count {
                    let sampleTarget = g.isPointwise ? target + s * inSample : target + s * plane
                    convolutionProduct(splitAcrossCores: parallel, bf16: bf16, transposeA: true, transposeB: false, m: groupRows, n: plane, k: groupOut,
                                alpha: 1, a: wGroup, lda: groupRows, b: gyGroup + s * gySample, ldb: gyStride,
                                beta: 0, c: sampleTarget + group * groupRows * columnStride, ldc: columnStride)
                }
            } else {
                convolutionProduct(splitAcrossCores: parallel, bf16: bf16, transposeA: true, transposeB: false, m: groupRows, n: ld, k: groupOut, alpha: 1,
                            a: wGroup, lda: groupRows, b: gyGroup, ldb: gyStride,
                            beta: 0, c: col + group * groupRows * ld, ldc: ld)
            }
        }
        if g.isPointwise { return }
        convolutionParallelFor(count, workPerItem: rows * plane, enabled: parallel) { range in
            for s in range {
                let sampleGradient = dx + (start + s) * inSample
                sampleGradient.update(repeating: 0, count: inSample)
                col2im(col + s * plane, rowStride: ld, g, addingInto: sampleGradient)
            }
        }
    }

    let columnCount = g.isPointwise ? 0 : paddedToCacheLine(block * rows * plane)
    let gatheredCount = perSample ? 0 : paddedToCacheLine(block * outSample)
    let partialCount = paddedToCacheLine(weightCount)
    dw?.update(repeating: 0, count: weightCount)
    if split {
        let workers = g.workerCount
        // Buffers are borrowed on the calling thread (see the forward pass). Worker 0 accumulates into
        // ∂W itself, the others into private partial sums added at the end.
        workspace.withBuffer(of: Scalar.self, count: dw == nil ? 0 : (workers - 1) * partialCount) { partials in
            if dw != nil && workers > 1 { partials.update(repeating: 0, count: (workers - 1) * partialCount) }
            workspace.withBuffer(of: Scalar.self, count: workers * columnCount) { columns in
                workspace.withBuffer(of: Scalar.self, count: workers * gatheredCount) { gathereds in
                    runOnWorkers(workers, count: g.batch) { range, worker in
                        let target = dw.map { worker == 0 ? $0 : partials + (worker - 1) * partialCount }
                        for start in Swift.stride(from: range.lowerBound, to: range.upperBound, by: block) {
                            backBlock(start, Swift.min(block, range.upperBound - start),
                                      col: columns + worker * columnCount, gathered: gathereds + worker * gatheredCount,
                                      dwTarget: target, parallel: false)
                        }
                    }
                }
            }
            if let dw {
                for worker in 1..<Swift.max(1, workers) {
                    let partial = partials + (worker - 1) * partialCount
                    for i in 0..<weightCount { dw[i] += partial[i] }
                }
            }
        }
        return
    }
    workspace.withBuffer(of: Scalar.self, count: columnCount) { col in
        workspace.withBuffer(of: Scalar.self, count: gatheredCount) { gathered in
            for start in Swift.stride(from: 0, to: g.batch, by: block) {
                backBlock(start, Swift.min(block, g.batch - start), col: col, gathered: gathered, dwTarget: dw,
                          parallel: true)
            }
        }
    }
}

/// One GEMM of a convolution pass: split across the cores by ``matrixMultiply(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``
/// when the caller runs on one thread (`splitAcrossCores`), a single BLAS call when it already runs on a worker.
/// `bf16` (only with `Scalar == Float`, `alpha` 1 and `beta` 0 or 1): the bf16 GEMM with Float accumulation instead.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
private func convolutionProduct<Scalar: TensorScalar>(
    splitAcrossCores: Bool, bf16: Bool, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Scalar, a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
    beta: Scalar, c: UnsafeMutablePointer<Scalar>, ldc: Int
) {
    if bf16 {
        precondition(Scalar.self == Float.self && alpha == 1, "conv2d: the bf16 product is for Float with alpha 1")
        bf16MatrixMultiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                           a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda: lda,
                           b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb: ldb,
                           beta: beta == 0 ? 0 : 1, c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self),
                           ldc: ldc, splitAcrossCores: splitAcrossCores)
        return
    }
    if splitAcrossCores {
        matrixMultiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    } else {
        blasProduct(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}

/// `pointer` as a pointer to Float (bf16 paths: the caller has checked `Scalar == Float`).
@inline(__always)
private func floats<Scalar>(_ pointer: UnsafePointer<Scalar>) -> UnsafePointer<Float> {
    precondition(Scalar.self == Float.self, "conv2d: bf16 is for Float")
    return UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
}

@inline(__always)
private func floats<Scalar>(_ pointer: UnsafeMutablePointer<Scalar>) -> UnsafeMutablePointer<Float> {
    precondition(Scalar.self == Float.self, "conv2d: bf16 is for Float")
    return UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: Float.self)
}

/// `count` rounded up to a whole number of 64-byte cache lines' worth of 4-byte elements, so that
/// the workers' slices of a shared buffer start on separate cache lines.
@inline(__always)
func paddedToCacheLine(_ count: Int) -> Int { (count + 15) & ~15 }

/// `count` elements of `Scalar` rounded up to an odd number of 64-byte cache lines. Blocks laid out
/// this far apart start in different sets of a set-associative cache (the 64 sets of a 32 KiB 8-way L1
/// take the first lines of 64 consecutive such blocks), where blocks a multiple of 4 KiB apart all
/// share one set: a kernel that touches one vector per block then evicts its own lines.
func oddCacheLines<Scalar>(_ count: Int, of _: Scalar.Type) -> Int {
    let perLine = Swift.max(1, 64 / MemoryLayout<Scalar>.stride)
    let lines = (count + perLine - 1) / perLine
    return (lines % 2 == 0 ? lines + 1 : lines) * perLine
}
