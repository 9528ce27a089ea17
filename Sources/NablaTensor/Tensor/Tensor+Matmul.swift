/// Matrix products on CBLAS. Transposed operands are passed to BLAS as flags and never materialized.
extension Tensor {
    /// `op(a) · op(b)` for rank-2 `a` and `b`, or a batched product when both are rank 3 with the
    /// same leading extent. `op(x)` is `xᵀ` (last two axes swapped) when the matching flag is set.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition((a.rank == 2 && b.rank == 2) || (a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0]),
                     "matmul needs two matrices or two equal-sized batches of matrices, got \(a.shape) and \(b.shape)")
        let batch = a.rank == 3 ? a.shape[0] : 1
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (k2, n) = transposeB ? (bc, br) : (br, bc)
        precondition(k == k2, "matmul inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        let outShape = a.rank == 3 ? [batch, m, n] : [m, n]
        var out = Tensor(shape: outShape) { _ in }   // fully written by GEMM (beta = 0)
        out.withUnsafeMutableBufferPointer { c in
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    for i in 0..<batch {
                        matrixMultiply(
                            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                            alpha: 1, a: pa.baseAddress! + i * ar * ac, lda: ac,
                            b: pb.baseAddress! + i * br * bc, ldb: bc,
                            beta: 0, c: c.baseAddress! + i * m * n, ldc: n)
                    }
                }
            }
        }
        return out
    }

    /// `self · other` for matrices.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func matmul(_ other: Tensor) -> Tensor { Tensor.matmul(self, other) }
}
