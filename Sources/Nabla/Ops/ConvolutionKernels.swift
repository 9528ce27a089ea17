/// Blocking and GEMM-shape choices of the convolution kernels.
public enum ConvolutionTuning {
    /// Target size, in elements, of the column buffer of one block of samples.
    nonisolated(unsafe) public static var columnBlockElements = 1 << 21
    /// Whether each sample gets its own GEMM (writing NCHW output directly) instead of one GEMM per
    /// group over the whole block followed by a scatter.
    nonisolated(unsafe) public static var perSampleProducts = true
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
}

/// The forward pass of ``conv2d(_:weight:bias:stride:padding:dilation:groups:)`` on raw buffers:
/// `output` (`N·O·Ho·Wo`, uninitialized) `= W ⋆ input + bias`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func convolution2DForward<Scalar: TensorScalar>(
    input x: UnsafePointer<Scalar>, weight w: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>?,
    output out: UnsafeMutablePointer<Scalar>, geometry g: Convolution2DGeometry,
    workspace: ConvolutionWorkspace = .shared
) {
    let plane = g.outPlane, rows = g.columnRows
    let groupOut = g.groupOutChannels, groupRows = g.groupColumnRows
    let inSample = g.inChannels * g.inPlane, outSample = g.outChannels * plane

    /// Writes the bias (or zeros) into sample `n`'s output planes, for GEMMs with `beta = 1`.
    func fillBias(_ n: Int) {
        let o = out + n * outSample
        for channel in 0..<g.outChannels {
            (o + channel * plane).update(repeating: bias?[channel] ?? 0, count: plane)
        }
    }

    if g.isPointwise {
        convolutionParallelFor(g.batch, workPerItem: outSample) { range in for n in range { fillBias(n) } }
        for n in 0..<g.batch {
            for group in 0..<g.groups {
                Scalar.gemm(transposeA: false, transposeB: false, m: groupOut, n: plane, k: groupRows, alpha: 1,
                            a: w + group * groupOut * groupRows, lda: groupRows,
                            b: x + n * inSample + group * groupRows * plane, ldb: plane,
                            beta: 1, c: out + n * outSample + group * groupOut * plane, ldc: plane)
            }
        }
        return
    }

    let block = g.samplesPerBlock
    let perSample = ConvolutionTuning.perSampleProducts || block == 1
    workspace.withBuffer(of: Scalar.self, count: block * rows * plane) { col in
        workspace.withBuffer(of: Scalar.self, count: perSample ? 0 : block * outSample) { product in
            for start in stride(from: 0, to: g.batch, by: block) {
                let count = Swift.min(block, g.batch - start), ld = count * plane
                convolutionParallelFor(count, workPerItem: rows * plane) { range in
                    for s in range {
                        im2col(x + (start + s) * inSample, g, into: col + s * plane, rowStride: ld)
                        if perSample { fillBias(start + s) }
                    }
                }
                if perSample {
                    for s in 0..<count {
                        for group in 0..<g.groups {
                            Scalar.gemm(transposeA: false, transposeB: false, m: groupOut, n: plane, k: groupRows,
                                        alpha: 1, a: w + group * groupOut * groupRows, lda: groupRows,
                                        b: col + group * groupRows * ld + s * plane, ldb: ld, beta: 1,
                                        c: out + (start + s) * outSample + group * groupOut * plane, ldc: plane)
                        }
                    }
                    continue
                }
                for group in 0..<g.groups {
                    Scalar.gemm(transposeA: false, transposeB: false, m: groupOut, n: ld, k: groupRows, alpha: 1,
                                a: w + group * groupOut * groupRows, lda: groupRows,
                                b: col + group * groupRows * ld, ldb: ld,
                                beta: 0, c: product + group * groupOut * ld, ldc: ld)
                }
                // Scatter [O][block·plane] to NCHW, adding the bias on the way.
                convolutionParallelFor(count, workPerItem: outSample) { range in
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
        }
    }
}

/// The backward pass on raw buffers. Each requested gradient buffer must be zero-initialized;
/// gradients are accumulated into it. `upstream` is `∂L/∂y`, `N·O·Ho·Wo`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func convolution2DBackward<Scalar: TensorScalar>(
    input x: UnsafePointer<Scalar>, weight w: UnsafePointer<Scalar>, upstream gy: UnsafePointer<Scalar>,
    inputGradient dx: UnsafeMutablePointer<Scalar>?, weightGradient dw: UnsafeMutablePointer<Scalar>?,
    biasGradient db: UnsafeMutablePointer<Scalar>?, geometry g: Convolution2DGeometry,
    workspace: ConvolutionWorkspace = .shared
) {
    let plane = g.outPlane, rows = g.columnRows
    let groupOut = g.groupOutChannels, groupRows = g.groupColumnRows
    let inSample = g.inChannels * g.inPlane, outSample = g.outChannels * plane

    if let db {
        // ∂b[o] = Σ_n Σ_p ∂y[n, o, p], as matrix–vector products with a vector of ones.
        workspace.withBuffer(of: Scalar.self, count: plane) { ones in
            ones.update(repeating: 1, count: plane)
            for n in 0..<g.batch {
                Scalar.gemm(transposeA: false, transposeB: false, m: g.outChannels, n: 1, k: plane, alpha: 1,
                            a: gy + n * outSample, lda: plane, b: ones, ldb: 1, beta: 1, c: db, ldc: 1)
            }
        }
    }
    if dx == nil && dw == nil { return }

    if g.isPointwise {
        for n in 0..<g.batch {
            for group in 0..<g.groups {
                let gyGroup = gy + n * outSample + group * groupOut * plane
                if let dw {
                    Scalar.gemm(transposeA: false, transposeB: true, m: groupOut, n: groupRows, k: plane, alpha: 1,
                                a: gyGroup, lda: plane, b: x + n * inSample + group * groupRows * plane, ldb: plane,
                                beta: 1, c: dw + group * groupOut * groupRows, ldc: groupRows)
                }
                if let dx {
                    Scalar.gemm(transposeA: true, transposeB: false, m: groupRows, n: plane, k: groupOut, alpha: 1,
                                a: w + group * groupOut * groupRows, lda: groupRows, b: gyGroup, ldb: plane,
                                beta: 1, c: dx + n * inSample + group * groupRows * plane, ldc: plane)
                }
            }
        }
        return
    }

    let block = g.samplesPerBlock
    let perSample = ConvolutionTuning.perSampleProducts || block == 1
    workspace.withBuffer(of: Scalar.self, count: block * rows * plane) { col in
        workspace.withBuffer(of: Scalar.self, count: perSample ? 0 : block * outSample) { gathered in
            for start in stride(from: 0, to: g.batch, by: block) {
                let count = Swift.min(block, g.batch - start), ld = count * plane
                // The upstream gradient of this block: per-sample NCHW planes, or regrouped as [O][block·plane].
                var gyBlock = gy + start * outSample, gyStride = plane, gySample = outSample, gyChannel = plane
                if !perSample {
                    convolutionParallelFor(count, workPerItem: outSample) { range in
                        for s in range {
                            for channel in 0..<g.outChannels {
                                (gathered + channel * ld + s * plane)
                                    .update(from: gy + (start + s) * outSample + channel * plane, count: plane)
                            }
                        }
                    }
                    gyBlock = UnsafePointer(gathered); gyStride = ld; gySample = plane; gyChannel = ld
                }
                if let dw {
                    convolutionParallelFor(count, workPerItem: rows * plane) { range in
                        for s in range { im2col(x + (start + s) * inSample, g, into: col + s * plane, rowStride: ld) }
                    }
                    for group in 0..<g.groups {
                        let gyGroup = gyBlock + group * groupOut * gyChannel
                        if perSample {
                            for s in 0..<count {
                                Scalar.gemm(transposeA: false, transposeB: true, m: groupOut, n: groupRows, k: plane,
                                            alpha: 1, a: gyGroup + s * gySample, lda: gyStride,
                                            b: col + group * groupRows * ld + s * plane, ldb: ld,
                                            beta: 1, c: dw + group * groupOut * groupRows, ldc: groupRows)
                            }
                        } else {
                            Scalar.gemm(transposeA: false, transposeB: true, m: groupOut, n: groupRows, k: ld,
                                        alpha: 1, a: gyGroup, lda: gyStride, b: col + group * groupRows * ld, ldb: ld,
                                        beta: 1, c: dw + group * groupOut * groupRows, ldc: groupRows)
                        }
                    }
                }
                guard let dx else { continue }
                for group in 0..<g.groups {
                    let gyGroup = gyBlock + group * groupOut * gyChannel
                    let wGroup = w + group * groupOut * groupRows
                    if perSample {
                        for s in 0..<count {
                            Scalar.gemm(transposeA: true, transposeB: false, m: groupRows, n: plane, k: groupOut,
                                        alpha: 1, a: wGroup, lda: groupRows, b: gyGroup + s * gySample, ldb: gyStride,
                                        beta: 0, c: col + group * groupRows * ld + s * plane, ldc: ld)
                        }
                    } else {
                        Scalar.gemm(transposeA: true, transposeB: false, m: groupRows, n: ld, k: groupOut, alpha: 1,
                                    a: wGroup, lda: groupRows, b: gyGroup, ldb: gyStride,
                                    beta: 0, c: col + group * groupRows * ld, ldc: ld)
                    }
                }
                convolutionParallelFor(count, workPerItem: rows * plane) { range in
                    for s in range {
                        col2im(col + s * plane, rowStride: ld, g, addingInto: dx + (start + s) * inSample)
                    }
                }
            }
        }
    }
}
