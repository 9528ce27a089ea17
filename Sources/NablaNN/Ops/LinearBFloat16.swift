import NablaTensor

/// ``linear(_:weight:bias:)`` under ``Precision/bfloat16``, as PyTorch's CPU autocast runs `F.linear`
/// (`addmm` on bf16 operands through oneDNN/mkldnn, Float accumulation, bf16 result):
///
/// `y = bf16(bf16(b) + bf16(x)·bf16(W)ᵀ)` with the sum in Float;
/// backward, with `ĝ = bf16(g)`: `∂x = bf16(ĝ·bf16(W))`, `∂W = bf16(ĝᵀ·bf16(x))`, `∂b = bf16(Σ_rows ĝ)`,
/// each accumulated into the Float gradients of the Float master values.
func linearBFloat16(_ x: Variable<Float>, weight: Variable<Float>, bias: Variable<Float>?) -> Variable<Float> {
    let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
    let rows = x.value.count / inFeatures
    var outShape = x.shape
    outShape[outShape.count - 1] = outFeatures
    let xv = x.value, wv = weight.value
    let roundedBias = bias.map { b in b.value.map(BFloat16Kernels.rounded) }
    var out = Tensor<Float>(shape: outShape) { fillRows($0, with: roundedBias, rows: rows) }
    out.withUnsafeMutableBufferPointer { o in
        xv.withUnsafeBufferPointer { px in
            wv.withUnsafeBufferPointer { pw in
                bf16MatrixMultiply(transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                                   a: px.baseAddress!, lda: inFeatures, b: pw.baseAddress!, ldb: inFeatures,
                                   beta: 1, c: o.baseAddress!, ldc: outFeatures)
            }
        }
        BFloat16Kernels.round(o.baseAddress!, count: o.count)
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Variable(out, inputs: inputs) { upstream in
        // ĝ = bf16(g) once: the GEMMs' packing would round it anyway, and ∂b sums the rounded values.
        let g = upstream.map(BFloat16Kernels.rounded)
        g.withUnsafeBufferPointer { pg in
            if x.requiresGradient {
                var dx = Tensor<Float>(shape: x.shape) { _ in }   // fully written (beta = 0)
                dx.withUnsafeMutableBufferPointer { pdx in
                    wv.withUnsafeBufferPointer { pw in
                        bf16MatrixMultiply(transposeA: false, transposeB: false, m: rows, n: inFeatures, k: outFeatures,
                                           a: pg.baseAddress!, lda: outFeatures, b: pw.baseAddress!, ldb: inFeatures,
                                           beta: 0, c: pdx.baseAddress!, ldc: inFeatures)
                    }
                    BFloat16Kernels.round(pdx.baseAddress!, count: pdx.count)
                }
                x.accumulate(dx)
            }
            if weight.requiresGradient {
                var dw = Tensor<Float>(shape: wv.shape) { _ in }
                dw.withUnsafeMutableBufferPointer { pdw in
                    xv.withUnsafeBufferPointer { px in
                        bf16MatrixMultiply(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: rows,
                                           a: pg.baseAddress!, lda: outFeatures, b: px.baseAddress!, ldb: inFeatures,
                                           beta: 0, c: pdw.baseAddress!, ldc: inFeatures)
                    }
                    BFloat16Kernels.round(pdw.baseAddress!, count: pdw.count)
                }
                weight.accumulate(dw)
            }
            if let bias, bias.requiresGradient {
                var db = columnSums(pg, rows: rows, columns: outFeatures)
                db.withUnsafeMutableBufferPointer { BFloat16Kernels.round($0.baseAddress!, count: outFeatures) }
                bias.accumulate(db)
            }
        }
    }
}
