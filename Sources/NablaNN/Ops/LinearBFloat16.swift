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
    var out = Tensor<Float>(shape: outShape) { o in
        if let base = o.baseAddress {
            fillBlock(base, rows: 0..<rows, columns: 0..<outFeatures, rowStride: outFeatures, bias: roundedBias)
        }
    }
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
            /// bf16(op(ĝ)·B), `m × inFeatures`, into a fresh tensor of `shape` (fully written: beta = 0).
            func roundedProduct(_ shape: [Int], transposeG: Bool, m: Int, k: Int, _ b: Tensor<Float>) -> Tensor<Float> {
                var result = Tensor<Float>(shape: shape) { _ in }
                result.withUnsafeMutableBufferPointer { pr in
                    b.withUnsafeBufferPointer { pb in
                        bf16MatrixMultiply(transposeA: transposeG, transposeB: false, m: m, n: inFeatures, k: k,
                                           a: pg.baseAddress!, lda: outFeatures, b: pb.baseAddress!, ldb: inFeatures,
                                           beta: 0, c: pr.baseAddress!, ldc: inFeatures)
                    }
                    BFloat16Kernels.round(pr.baseAddress!, count: pr.count)
                }
                return result
            }
            if x.requiresGradient {
                x.accumulate(roundedProduct(x.shape, transposeG: false, m: rows, k: outFeatures, wv))   // ∂x = ĝ·Ŵ
            }
            if weight.requiresGradient {
                weight.accumulate(roundedProduct(wv.shape, transposeG: true, m: outFeatures, k: rows, xv))   // ∂W = ĝᵀ·x̂
            }
            if let bias, bias.requiresGradient {
                var db = columnSums(pg, rows: rows, columns: outFeatures)
                db.withUnsafeMutableBufferPointer { BFloat16Kernels.round($0.baseAddress!, count: outFeatures) }
                bias.accumulate(db)
            }
        }
    }
}
