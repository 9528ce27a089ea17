import NablaTensor

/// The affine map `y = x·Wᵀ + b` as one tape node, PyTorch's `F.linear`.
///
/// - Parameters:
///   - x: input of shape `[*, in]` (leading axes are flattened into rows).
///   - weight: `[out, in]`, PyTorch's layout.
///   - bias: `[out]`, optional.
/// - Returns: `[*, out]`.
///
/// Forward is one GEMM with the bias preloaded into the output (`beta = 1`); backward is
/// `∂x = g·W`, `∂W = gᵀ·x`, `∂b = Σ_rows g` — two GEMMs and a column sum, no transposes materialized.
/// Under ``Precision/bfloat16`` a `Float` linear map runs in bf16 with Float accumulation, as
/// `torch.autocast("cpu", dtype=torch.bfloat16)` (see ``Precision``).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func linear<Scalar>(_ x: Variable<Scalar>, weight: Variable<Scalar>, bias: Variable<Scalar>?) -> Variable<Scalar> {
    let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
    precondition(x.value.rank >= 1 && x.shape.last == inFeatures,
                 "linear: input of shape \(x.shape) does not end in \(inFeatures) features (weight \(weight.shape))")
    if usesBFloat16(Scalar.self) {
        // Scalar is Float here (usesBFloat16 checked it).
        let result = linearBFloat16(unsafeDowncast(x, to: Variable<Float>.self),
                                    weight: unsafeDowncast(weight, to: Variable<Float>.self),
                                    bias: bias.map { unsafeDowncast($0, to: Variable<Float>.self) })
        return unsafeDowncast(result, to: Variable<Scalar>.self)
    }
    let rows = x.value.count / inFeatures
    var outShape = x.shape
    outShape[outShape.count - 1] = outFeatures
    let xv = x.value, wv = weight.value
    var out = Tensor<Scalar>(shape: outShape) { _ in }   // each part fills its block, then adds into it
    let bv = bias?.value
    out.withUnsafeMutableBufferPointer { o in
        guard let c = o.baseAddress, o.count > 0 else { return }   // an empty batch or no outputs
        xv.withUnsafeBufferPointer { px in
            wv.withUnsafeBufferPointer { pw in
                matrixMultiply(transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                               alpha: 1, a: px.baseAddress!, lda: inFeatures, b: pw.baseAddress!, ldb: inFeatures,
                               beta: 1, c: c, ldc: outFeatures) { partRows, partColumns in
                    // The part's block of the output, on the thread that then accumulates into it.
                    fillBlock(c, rows: partRows, columns: partColumns, rowStride: outFeatures, bias: bv)
                }
            }
        }
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Variable(out, inputs: inputs) { g in
        g.withUnsafeBufferPointer { pg in
            if x.requiresGradient {
                var dx = Tensor<Scalar>(shape: x.shape) { _ in }   // fully written by GEMM (beta = 0)
                dx.withUnsafeMutableBufferPointer { pdx in
                    wv.withUnsafeBufferPointer { pw in
                        matrixMultiply(transposeA: false, transposeB: false, m: rows, n: inFeatures, k: outFeatures,
                                    alpha: 1, a: pg.baseAddress!, lda: outFeatures, b: pw.baseAddress!, ldb: inFeatures,
                                    beta: 0, c: pdx.baseAddress!, ldc: inFeatures)
                    }
                }
                x.accumulate(dx)
            }
            if weight.requiresGradient {
                var dw = Tensor<Scalar>(shape: wv.shape) { _ in }   // fully written by GEMM (beta = 0)
                dw.withUnsafeMutableBufferPointer { pdw in
                    xv.withUnsafeBufferPointer { px in
                        matrixMultiply(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: rows,
                                    alpha: 1, a: pg.baseAddress!, lda: outFeatures, b: px.baseAddress!, ldb: inFeatures,
                                    beta: 0, c: pdw.baseAddress!, ldc: inFeatures)
                    }
                }
                weight.accumulate(dw)
            }
            if let bias, bias.requiresGradient { bias.accumulate(columnSums(pg, rows: rows, columns: outFeatures)) }
        }
    }
}

/// Writes `bias[columns]` (zeros without a bias) into `rows` of a row-major output with row stride
/// `rowStride`: the block of a linear map's output its GEMM then adds into (`beta = 1`).
func fillBlock<Scalar: TensorScalar>(
    _ output: UnsafeMutablePointer<Scalar>, rows: Range<Int>, columns: Range<Int>, rowStride: Int, bias: Tensor<Scalar>?
) {
    guard let bias else {
        for r in rows { (output + r * rowStride + columns.lowerBound).update(repeating: 0, count: columns.count) }
        return
    }
    bias.withUnsafeBufferPointer { pb in
        for r in rows {
            (output + r * rowStride + columns.lowerBound).update(from: pb.baseAddress! + columns.lowerBound,
                                                                 count: columns.count)
        }
    }
}

/// `Σ_r g[r, j]` of a row-major `rows × columns` gradient, summed in row order — the bias gradient
/// of a linear map. The row loop is outer, so each row is one contiguous (vectorizable) add; large
/// gradients split the columns over the threads, which leaves every column's order of addition as is.
func columnSums<Scalar: TensorScalar>(_ g: UnsafeBufferPointer<Scalar>, rows: Int, columns: Int) -> Tensor<Scalar> {
    precondition(g.count == rows * columns, "linear: upstream gradient of \(g.count) elements for \(rows)×\(columns)")
    return Tensor<Scalar>(shape: [columns]) { sums in
        sums.initialize(repeating: 0)
        guard let gradient = g.baseAddress, let sum = sums.baseAddress else { return }
        // Whole 16-column tiles per part, so no part shares a cache line of `sums` with another.
        let tiles = (columns + 15) / 16
        Parallelism.forEachRange(of: tiles, parts: Parallelism.parts(forWork: g.count, items: tiles)) { range, _ in
            let lower = range.lowerBound * 16, upper = Swift.min(columns, range.upperBound * 16)
            for r in 0..<rows {
                let row = gradient + r &* columns
                for j in lower..<upper { sum[j] += row[j] }
            }
        }
    }
}
