import CNablaBF16

/// The bf16 direct-convolution kernels of `CNablaBF16` (`bf16_direct.c`), for NablaNN's
/// `BFloat16DirectConvolution`: a sample padded into channel-pair words, and one register tile of the
/// correlation on `vdpbf16ps`.
extension BFloat16Kernels {
    /// The bf16 bits of `x` (``rounded(_:)``'s upper half) in the low 16 bits of a word.
    @inlinable
    package static func bits(_ x: Float) -> UInt32 { rounded(x).bitPattern >> 16 }

    /// One word of a channel pair: `bits(even)` in the low half, `bits(odd)` in the high half.
    @inlinable
    package static func pair(_ even: Float, _ odd: Float) -> UInt32 { bits(even) | bits(odd) << 16 }

    /// Copies `channels` planes of `height × width` Floats into `count` zero-padded channel-pair words
    /// (see `nabla_bf16_pad_pairs`); `hardware` picks the AVX-512 loop (the same words).
    package static func padPairs(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                 paddingHeight: Int, paddingWidth: Int, into out: UnsafeMutablePointer<UInt32>,
                                 count: Int, hardware: Bool = usesHardware) {
        let planes = (channels + 1) / 2 * (height + 2 * paddingHeight) * (width + 2 * paddingWidth)
        precondition(count >= planes, "bf16 padPairs: \(count) words cannot hold \(planes)")
        precondition(!hardware || hardwareAvailable, "bf16 padPairs: this CPU has no AVX512_BF16")
        nabla_bf16_pad_pairs(x, channels, height, width, paddingHeight, paddingWidth, out, count, hardware ? 1 : 0)
    }

    /// The tiles ``directTile(mr:nv:depth:weights:taps:input:inputOffsets:output:outputOffsets:ldc:initial:)`` runs.
    package static let directTiles: [(mr: Int, nv: Int)] = [(8, 3), (6, 4), (3, 8)]

    /// One `mr × nv` tile of the bf16 direct correlation (see `nabla_bf16_direct_tile`; needs
    /// ``usesHardware`` and a tile of ``directTiles``).
    @inline(__always)
    package static func directTile(mr: Int, nv: Int, depth: Int, weights: UnsafePointer<UInt32>, taps: UnsafePointer<Int>,
                                   input: UnsafePointer<UInt32>, inputOffsets: UnsafePointer<Int>,
                                   output: UnsafeMutablePointer<Float>, outputOffsets: UnsafePointer<Int>, ldc: Int,
                                   initial: UnsafePointer<Float>?) {
        let done = nabla_bf16_direct_tile(Int32(mr), Int32(nv), depth, weights, taps, input, inputOffsets, output,
                                          outputOffsets, ldc, initial)
        precondition(done == 1, "bf16 direct tile \(mr)×\(nv) is not available here")
    }

    /// One sample's input as sliding pixel pairs of each zero-padded channel plane (see `nabla_bf16_sliding_pairs`).
    package static func slidingPairs(_ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                     paddingHeight: Int, paddingWidth: Int, into out: UnsafeMutablePointer<UInt32>, count: Int,
                                     hardware: Bool = usesHardware) {
        let planes = channels * (height + 2 * paddingHeight) * (width + 2 * paddingWidth)
        precondition(count >= planes, "bf16 slidingPairs: \(count) words cannot hold \(planes)")
        precondition(!hardware || hardwareAvailable, "bf16 slidingPairs: this CPU has no AVX512_BF16")
        nabla_bf16_sliding_pairs(x, channels, height, width, paddingHeight, paddingWidth, out, count, hardware ? 1 : 0)
    }

    /// One sample's upstream gradient as pixel pairs by row, channels last with row stride `stride`
    /// (see `nabla_bf16_transpose_pixel_pairs`).
    package static func transposePixelPairs(_ gy: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                            into out: UnsafeMutablePointer<UInt32>, stride: Int, hardware: Bool = usesHardware) {
        precondition(channels <= stride, "bf16 transposePixelPairs: \(channels) channels in rows of \(stride)")
        precondition(!hardware || hardwareAvailable, "bf16 transposePixelPairs: this CPU has no AVX512_BF16")
        nabla_bf16_transpose_pixel_pairs(gy, channels, height, width, out, stride, hardware ? 1 : 0)
    }

    /// One 3×3 weight-gradient sweep over `vectors` (1 or 2) vectors of 16 channels (see
    /// `nabla_bf16_outer_3x3`; needs ``usesHardware``).
    @inline(__always)
    package static func outer3x3(vectors: Int, input: UnsafePointer<UInt32>, gradient: UnsafePointer<UInt32>,
                                 out: UnsafeMutablePointer<Float>, rows: Int, columnPairs: Int, pitch: Int,
                                 rowStep: Int, columnStep: Int, gradientStride: Int, outStride: Int) {
        let done = nabla_bf16_outer_3x3(Int32(vectors), input, gradient, out, rows, columnPairs, pitch, rowStep, columnStep,
                                        gradientStride, outStride)
        precondition(done == 1, "bf16 outer kernel with \(vectors) vectors is not available here")
    }
}
