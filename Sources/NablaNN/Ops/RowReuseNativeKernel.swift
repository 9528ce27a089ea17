import CNablaKernels

/// The 10-row, kernel-height-5 tile for 8-float vectors on 16 registers, in C with inline-assembly
/// multiply-adds (`CNablaKernels/rowreuse_x86.h`): the Swift ``RowReuseKernel/rows10Height5(channels:kernelWidth:dilationWidth:weights:input:planeStride:rowPitch:output:outputPitch:initial:_:)``
/// holds its 5 broadcast weights, 10 accumulators and the loaded row in 16 live vectors, and LLVM spills
/// accumulators there; the C tile reads kernel rows 3 and 4's weights as memory operands (14 registers),
/// term for term the same sums in the same order, so the same bits.
///
/// With it, 16-register machines take blocks of 10 rows as 32-register ones do (``RowReuseGrid/blockRows(remaining:tenRows:)``):
/// LeNet's 28 rows as 10 + 10 + 8 instead of 8 + 8 + 8 + 4, whose 4-row block keeps the multiply-add
/// pipes half idle, and 10 accumulators instead of 8 at the 4-cycle latency of two pipes.
extension RowReuseKernel {
    /// Whether this build and CPU have the C tile: x86-64 with AVX2 and FMA (checked at run time, as the
    /// module may be compiled for baseline x86-64). Tests turn it off to compare.
    nonisolated(unsafe) static var nativeTenRows: Bool = {
        #if arch(x86_64)
        return nabla_cpu_has_avx2_fma() != 0
        #else
        return false
        #endif
    }()

    /// Runs the C tile when `V` is 8 Floats and ``nativeTenRows``, and returns whether it did. On
    /// 32-register machines 8-Float vectors come only from a forced 256-bit width (the tests'); there
    /// the C tile stands in for the Swift one with the same bits.
    @inline(__always)
    static func nativeRows10Height5<V: SIMD>(
        channels: Int, kernelWidth: Int, dilationWidth: Int, weights: UnsafePointer<V.Scalar>,
        input: UnsafePointer<V.Scalar>, planeStride: Int, rowPitch: Int,
        output: UnsafeMutablePointer<V.Scalar>, outputPitch: Int, initial: V.Scalar, _: V.Type
    ) -> Bool where V.Scalar: BinaryFloatingPoint {
        #if arch(x86_64)
        guard V.self == SIMD8<Float>.self && nativeTenRows else { return false }
        nabla_rows10_height5_avx2(channels, kernelWidth, dilationWidth,
                                  UnsafeRawPointer(weights).assumingMemoryBound(to: Float.self),
                                  UnsafeRawPointer(input).assumingMemoryBound(to: Float.self), planeStride, rowPitch,
                                  UnsafeMutableRawPointer(output).assumingMemoryBound(to: Float.self), outputPitch,
                                  Float(initial))
        return true
        #else
        return false
        #endif
    }
}
