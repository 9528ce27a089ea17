/// The register-tiled SIMD micro-kernels of the direct convolution (`DirectConvolution.swift`).
///
/// They are generic over the vector type `V` (`SIMD16<Float>` with AVX-512, `SIMD8<Float>` with AVX2,
/// `SIMD4<Float>` with NEON; the `Double` vectors of the same width for gradient checks) and use
/// `addingProduct`, one fused multiply-add per lane. Two register tiles each: the wide one fills 32
/// vector registers (AVX-512, NEON), the narrow one 16 (AVX2).
///
/// Every pointer the kernels read through is an element of a buffer the driver laid out
/// (``DirectConvolutionLayout``), which holds the invariant that every tap offset plus every vector
/// offset plus the lane count stays inside the buffer; the arithmetic is wrapping.

@inline(__always)
func loadVector<V: SIMD>(_ pointer: UnsafePointer<V.Scalar>) -> V {
    UnsafeRawPointer(pointer).loadUnaligned(as: V.self)
}

@inline(__always)
func storeVector<V: SIMD>(_ value: V, _ pointer: UnsafeMutablePointer<V.Scalar>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: V.self)
}

/// The sum of the lanes, by halves (a fixed order: the same bits on every call).
@inline(__always)
func laneSum<V: SIMD>(_ v: V) -> V.Scalar where V.Scalar: BinaryFloatingPoint {
    var total = V.Scalar.zero
    var width = V.scalarCount
    var lanes = v
    // Fold the upper half onto the lower half until one lane is left.
    while width > 1 {
        width /= 2
        for lane in 0..<width { lanes[lane] += lanes[lane &+ width] }
    }
    total = lanes[0]
    return total
}

/// The output-stationary kernel of the forward pass and of the input gradient: an `mr × nv`-vector
/// tile `c_v[m·ldc] = init[m] + Σ_k a[k·mr + m] · b_v[taps[k]]` for `k < depth`, where `a` is a packed
/// weight panel (`depth × mr`, one broadcast per row and tap), `b_v = input + inputOffsets[v]` the
/// input at vector `v`'s pixels, `c_v = output + outputOffsets[v]`, and `taps[k]` the offset of tap
/// `k` (channel plane, kernel row and column). `initial` (length `mr`) is the bias, or nil for zeros.
/// The wide tiles (8×3, 6×4, 3×8) fill 32 vector registers, the narrow ones (4×3, 6×2, 3×4,
/// `NarrowRegisterKernels.swift`) 16; the driver picks the shape that wastes the fewest rows of a
/// layer's channels (``DirectConvolution/forwardTile(channels:vectors:registers:)``).
enum BroadcastKernel {
    /// 8 rows × 3 vectors: 24 accumulators (32-register targets).
    @inline(never)
    static func tile8x3<V: SIMD>(
        depth: Int, weights a: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>,
        input: UnsafePointer<V.Scalar>, inputOffsets: UnsafePointer<Int>,
        output: UnsafeMutablePointer<V.Scalar>, outputOffsets: UnsafePointer<Int>,
        ldc: Int, initial: UnsafePointer<V.Scalar>?, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        let b0 = input + inputOffsets[0], b1 = input + inputOffsets[1], b2 = input + inputOffsets[2]
        var s00 = initial.map { V(repeating: $0[0]) } ?? V(), s01 = s00, s02 = s00
        var s10 = initial.map { V(repeating: $0[1]) } ?? V(), s11 = s10, s12 = s10
        var s20 = initial.map { V(repeating: $0[2]) } ?? V(), s21 = s20, s22 = s20
        var s30 = initial.map { V(repeating: $0[3]) } ?? V(), s31 = s30, s32 = s30
        var s40 = initial.map { V(repeating: $0[4]) } ?? V(), s41 = s40, s42 = s40
        var s50 = initial.map { V(repeating: $0[5]) } ?? V(), s51 = s50, s52 = s50
        var s60 = initial.map { V(repeating: $0[6]) } ?? V(), s61 = s60, s62 = s60
        var s70 = initial.map { V(repeating: $0[7]) } ?? V(), s71 = s70, s72 = s70
        var w = a
        for k in 0..<depth {
            let offset = taps[k]
            let x0: V = loadVector(b0 + offset), x1: V = loadVector(b1 + offset), x2: V = loadVector(b2 + offset)
            var r = V(repeating: w[0])
            s00 = s00.addingProduct(r, x0); s01 = s01.addingProduct(r, x1); s02 = s02.addingProduct(r, x2)
            r = V(repeating: w[1])
            s10 = s10.addingProduct(r, x0); s11 = s11.addingProduct(r, x1); s12 = s12.addingProduct(r, x2)
            r = V(repeating: w[2])
            s20 = s20.addingProduct(r, x0); s21 = s21.addingProduct(r, x1); s22 = s22.addingProduct(r, x2)
            r = V(repeating: w[3])
            s30 = s30.addingProduct(r, x0); s31 = s31.addingProduct(r, x1); s32 = s32.addingProduct(r, x2)
            r = V(repeating: w[4])
            s40 = s40.addingProduct(r, x0); s41 = s41.addingProduct(r, x1); s42 = s42.addingProduct(r, x2)
            r = V(repeating: w[5])
            s50 = s50.addingProduct(r, x0); s51 = s51.addingProduct(r, x1); s52 = s52.addingProduct(r, x2)
            r = V(repeating: w[6])
            s60 = s60.addingProduct(r, x0); s61 = s61.addingProduct(r, x1); s62 = s62.addingProduct(r, x2)
            r = V(repeating: w[7])
            s70 = s70.addingProduct(r, x0); s71 = s71.addingProduct(r, x1); s72 = s72.addingProduct(r, x2)
            w += 8
        }
        let c0 = output + outputOffsets[0], c1 = output + outputOffsets[1], c2 = output + outputOffsets[2]
        storeVector(s00, c0); storeVector(s01, c1); storeVector(s02, c2)
        storeVector(s10, c0 + ldc); storeVector(s11, c1 + ldc); storeVector(s12, c2 + ldc)
        storeVector(s20, c0 + 2 &* ldc); storeVector(s21, c1 + 2 &* ldc); storeVector(s22, c2 + 2 &* ldc)
        storeVector(s30, c0 + 3 &* ldc); storeVector(s31, c1 + 3 &* ldc); storeVector(s32, c2 + 3 &* ldc)
        storeVector(s40, c0 + 4 &* ldc); storeVector(s41, c1 + 4 &* ldc); storeVector(s42, c2 + 4 &* ldc)
        storeVector(s50, c0 + 5 &* ldc); storeVector(s51, c1 + 5 &* ldc); storeVector(s52, c2 + 5 &* ldc)
        storeVector(s60, c0 + 6 &* ldc); storeVector(s61, c1 + 6 &* ldc); storeVector(s62, c2 + 6 &* ldc)
        storeVector(s70, c0 + 7 &* ldc); storeVector(s71, c1 + 7 &* ldc); storeVector(s72, c2 + 7 &* ldc)
    }

    /// 6 rows × 4 vectors: 24 accumulators (32-register targets; six channels in one block). With
    /// `groups > 1` it computes that many tiles, the next one's offsets `stride` further in
    /// `inputOffsets` and `outputOffsets` (a run of ``DirectCorrelation``'s groups over one tap range),
    /// first requesting each tile's output lines owned if `prefetch`.
    @inline(never)
    static func tile6x4<V: SIMD>(
        depth: Int, weights a: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>,
        input: UnsafePointer<V.Scalar>, inputOffsets: UnsafePointer<Int>,
        output: UnsafeMutablePointer<V.Scalar>, outputOffsets: UnsafePointer<Int>,
        ldc: Int, initial: UnsafePointer<V.Scalar>?, groups: Int = 1, stride: Int = 0, prefetch: Bool = false, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var inputOffsets = inputOffsets, outputOffsets = outputOffsets
        for _ in 0..<groups {
            let c0 = output + outputOffsets[0], c1 = output + outputOffsets[1], c2 = output + outputOffsets[2], c3 = output + outputOffsets[3]
            if prefetch {
                prefetchForWrite(rows: 6, from: c0, pitch: ldc); prefetchForWrite(rows: 6, from: c1, pitch: ldc)
                prefetchForWrite(rows: 6, from: c2, pitch: ldc); prefetchForWrite(rows: 6, from: c3, pitch: ldc)
            }
            let b0 = input + inputOffsets[0], b1 = input + inputOffsets[1], b2 = input + inputOffsets[2], b3 = input + inputOffsets[3]
            var s00 = initial.map { V(repeating: $0[0]) } ?? V(), s01 = s00, s02 = s00, s03 = s00
            var s10 = initial.map { V(repeating: $0[1]) } ?? V(), s11 = s10, s12 = s10, s13 = s10
            var s20 = initial.map { V(repeating: $0[2]) } ?? V(), s21 = s20, s22 = s20, s23 = s20
            var s30 = initial.map { V(repeating: $0[3]) } ?? V(), s31 = s30, s32 = s30, s33 = s30
            var s40 = initial.map { V(repeating: $0[4]) } ?? V(), s41 = s40, s42 = s40, s43 = s40
            var s50 = initial.map { V(repeating: $0[5]) } ?? V(), s51 = s50, s52 = s50, s53 = s50
            var w = a
            for k in 0..<depth {
                let offset = taps[k]
                let x0: V = loadVector(b0 + offset), x1: V = loadVector(b1 + offset), x2: V = loadVector(b2 + offset), x3: V = loadVector(b3 + offset)
                var r = V(repeating: w[0])
                s00 = s00.addingProduct(r, x0); s01 = s01.addingProduct(r, x1); s02 = s02.addingProduct(r, x2); s03 = s03.addingProduct(r, x3)
                r = V(repeating: w[1])
                s10 = s10.addingProduct(r, x0); s11 = s11.addingProduct(r, x1); s12 = s12.addingProduct(r, x2); s13 = s13.addingProduct(r, x3)
                r = V(repeating: w[2])
                s20 = s20.addingProduct(r, x0); s21 = s21.addingProduct(r, x1); s22 = s22.addingProduct(r, x2); s23 = s23.addingProduct(r, x3)
                r = V(repeating: w[3])
                s30 = s30.addingProduct(r, x0); s31 = s31.addingProduct(r, x1); s32 = s32.addingProduct(r, x2); s33 = s33.addingProduct(r, x3)
                r = V(repeating: w[4])
                s40 = s40.addingProduct(r, x0); s41 = s41.addingProduct(r, x1); s42 = s42.addingProduct(r, x2); s43 = s43.addingProduct(r, x3)
                r = V(repeating: w[5])
                s50 = s50.addingProduct(r, x0); s51 = s51.addingProduct(r, x1); s52 = s52.addingProduct(r, x2); s53 = s53.addingProduct(r, x3)
                w += 6
            }
            storeVector(s00, c0); storeVector(s01, c1); storeVector(s02, c2); storeVector(s03, c3)
            storeVector(s10, c0 + ldc); storeVector(s11, c1 + ldc); storeVector(s12, c2 + ldc); storeVector(s13, c3 + ldc)
            storeVector(s20, c0 + 2 &* ldc); storeVector(s21, c1 + 2 &* ldc); storeVector(s22, c2 + 2 &* ldc); storeVector(s23, c3 + 2 &* ldc)
            storeVector(s30, c0 + 3 &* ldc); storeVector(s31, c1 + 3 &* ldc); storeVector(s32, c2 + 3 &* ldc); storeVector(s33, c3 + 3 &* ldc)
            storeVector(s40, c0 + 4 &* ldc); storeVector(s41, c1 + 4 &* ldc); storeVector(s42, c2 + 4 &* ldc); storeVector(s43, c3 + 4 &* ldc)
            storeVector(s50, c0 + 5 &* ldc); storeVector(s51, c1 + 5 &* ldc); storeVector(s52, c2 + 5 &* ldc); storeVector(s53, c3 + 5 &* ldc)
            inputOffsets += stride; outputOffsets += stride
        }
    }

    /// 3 rows × 8 vectors: 24 accumulators (32-register targets).
    @inline(never)
    static func tile3x8<V: SIMD>(
        depth: Int, weights a: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>,
        input: UnsafePointer<V.Scalar>, inputOffsets: UnsafePointer<Int>,
        output: UnsafeMutablePointer<V.Scalar>, outputOffsets: UnsafePointer<Int>,
        ldc: Int, initial: UnsafePointer<V.Scalar>?, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        let b0 = input + inputOffsets[0], b1 = input + inputOffsets[1], b2 = input + inputOffsets[2], b3 = input + inputOffsets[3], b4 = input + inputOffsets[4], b5 = input + inputOffsets[5], b6 = input + inputOffsets[6], b7 = input + inputOffsets[7]
        var s00 = initial.map { V(repeating: $0[0]) } ?? V(), s01 = s00, s02 = s00, s03 = s00, s04 = s00, s05 = s00, s06 = s00, s07 = s00
        var s10 = initial.map { V(repeating: $0[1]) } ?? V(), s11 = s10, s12 = s10, s13 = s10, s14 = s10, s15 = s10, s16 = s10, s17 = s10
        var s20 = initial.map { V(repeating: $0[2]) } ?? V(), s21 = s20, s22 = s20, s23 = s20, s24 = s20, s25 = s20, s26 = s20, s27 = s20
        var w = a
        // A pointer walk, not `for k in 0..<depth`: with the frame pointer SwiftPM builds with
        // (`-fno-omit-frame-pointer`), LLVM unrolled the counted loop twice, hoisted the second
        // iteration's eight loads and spilled accumulators to the stack in every iteration.
        var tap = taps
        let tapsEnd = taps + depth
        while tap < tapsEnd {
            let offset = tap.pointee
            tap += 1
            let r0 = V(repeating: w[0]), r1 = V(repeating: w[1]), r2 = V(repeating: w[2])
            var x: V = loadVector(b0 + offset)
            s00 = s00.addingProduct(r0, x); s10 = s10.addingProduct(r1, x); s20 = s20.addingProduct(r2, x)
            x = loadVector(b1 + offset)
            s01 = s01.addingProduct(r0, x); s11 = s11.addingProduct(r1, x); s21 = s21.addingProduct(r2, x)
            x = loadVector(b2 + offset)
            s02 = s02.addingProduct(r0, x); s12 = s12.addingProduct(r1, x); s22 = s22.addingProduct(r2, x)
            x = loadVector(b3 + offset)
            s03 = s03.addingProduct(r0, x); s13 = s13.addingProduct(r1, x); s23 = s23.addingProduct(r2, x)
            x = loadVector(b4 + offset)
            s04 = s04.addingProduct(r0, x); s14 = s14.addingProduct(r1, x); s24 = s24.addingProduct(r2, x)
            x = loadVector(b5 + offset)
            s05 = s05.addingProduct(r0, x); s15 = s15.addingProduct(r1, x); s25 = s25.addingProduct(r2, x)
            x = loadVector(b6 + offset)
            s06 = s06.addingProduct(r0, x); s16 = s16.addingProduct(r1, x); s26 = s26.addingProduct(r2, x)
            x = loadVector(b7 + offset)
            s07 = s07.addingProduct(r0, x); s17 = s17.addingProduct(r1, x); s27 = s27.addingProduct(r2, x)
            w += 3
        }
        let c0 = output + outputOffsets[0], c1 = output + outputOffsets[1], c2 = output + outputOffsets[2], c3 = output + outputOffsets[3], c4 = output + outputOffsets[4], c5 = output + outputOffsets[5], c6 = output + outputOffsets[6], c7 = output + outputOffsets[7]
        storeVector(s00, c0); storeVector(s01, c1); storeVector(s02, c2); storeVector(s03, c3); storeVector(s04, c4); storeVector(s05, c5); storeVector(s06, c6); storeVector(s07, c7)
        storeVector(s10, c0 + ldc); storeVector(s11, c1 + ldc); storeVector(s12, c2 + ldc); storeVector(s13, c3 + ldc); storeVector(s14, c4 + ldc); storeVector(s15, c5 + ldc); storeVector(s16, c6 + ldc); storeVector(s17, c7 + ldc)
        storeVector(s20, c0 + 2 &* ldc); storeVector(s21, c1 + 2 &* ldc); storeVector(s22, c2 + 2 &* ldc); storeVector(s23, c3 + 2 &* ldc); storeVector(s24, c4 + 2 &* ldc); storeVector(s25, c5 + 2 &* ldc); storeVector(s26, c6 + 2 &* ldc); storeVector(s27, c7 + 2 &* ldc)
    }
}

/// Where the weight-gradient kernel's vectors come from: `samples` samples `dSample`/`xSample`
/// elements apart, each `rows` rows of `rowVectors` vectors, rows `dPitch`/`xPitch` apart.
struct DotKernelSweep {
    var samples: Int, dSample: Int, xSample: Int
    var rows: Int, rowVectors: Int, dPitch: Int, xPitch: Int
}

/// The reduction kernel of the weight gradient: a tile of `mr` output channels × `nt` taps,
/// `out[m·ldo + t] += Σ_p d_m[p] · x[taps[t] + p]` over every position `p` of the sweep, where `d_m` is
/// the upstream gradient of channel `m` and `x` the padded input. The accumulators hold one partial
/// sum per lane; their lanes are added (``laneSum(_:)``) once per sweep. Each tile writes the sweep's
/// sample and row loops out itself, as ``BatchVectorKernel``'s do: a shared walk taking the step as a
/// closure kept the accumulators in memory there (2.3× slower).
enum DotKernel {
    /// 3 channels × 9 taps: 27 accumulators + 3 gradients + 1 input of 32 registers.
    @inline(never)
    static func tile3x9<V: SIMD>(
        _ d0: UnsafePointer<V.Scalar>, _ d1: UnsafePointer<V.Scalar>, _ d2: UnsafePointer<V.Scalar>,
        input x: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>, sweep: DotKernelSweep,
        out: UnsafeMutablePointer<V.Scalar>, ldo: Int, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var s00 = V(), s01 = V(), s02 = V(), s03 = V(), s04 = V(), s05 = V(), s06 = V(), s07 = V(), s08 = V()
        var s10 = V(), s11 = V(), s12 = V(), s13 = V(), s14 = V(), s15 = V(), s16 = V(), s17 = V(), s18 = V()
        var s20 = V(), s21 = V(), s22 = V(), s23 = V(), s24 = V(), s25 = V(), s26 = V(), s27 = V(), s28 = V()
        let t0 = taps[0], t1 = taps[1], t2 = taps[2], t3 = taps[3], t4 = taps[4]
        let t5 = taps[5], t6 = taps[6], t7 = taps[7], t8 = taps[8]
        let lanes = V.scalarCount
        for sample in 0..<sweep.samples {
            for row in 0..<sweep.rows {
                var dOffset = sample &* sweep.dSample &+ row &* sweep.dPitch
                var xp = x + (sample &* sweep.xSample &+ row &* sweep.xPitch)
                for _ in 0..<sweep.rowVectors {
                    let a: V = loadVector(d0 + dOffset), b: V = loadVector(d1 + dOffset), c: V = loadVector(d2 + dOffset)
                    var v: V = loadVector(xp + t0)
                    s00 = s00.addingProduct(a, v); s10 = s10.addingProduct(b, v); s20 = s20.addingProduct(c, v)
                    v = loadVector(xp + t1)
                    s01 = s01.addingProduct(a, v); s11 = s11.addingProduct(b, v); s21 = s21.addingProduct(c, v)
                    v = loadVector(xp + t2)
                    s02 = s02.addingProduct(a, v); s12 = s12.addingProduct(b, v); s22 = s22.addingProduct(c, v)
                    v = loadVector(xp + t3)
                    s03 = s03.addingProduct(a, v); s13 = s13.addingProduct(b, v); s23 = s23.addingProduct(c, v)
                    v = loadVector(xp + t4)
                    s04 = s04.addingProduct(a, v); s14 = s14.addingProduct(b, v); s24 = s24.addingProduct(c, v)
                    v = loadVector(xp + t5)
                    s05 = s05.addingProduct(a, v); s15 = s15.addingProduct(b, v); s25 = s25.addingProduct(c, v)
                    v = loadVector(xp + t6)
                    s06 = s06.addingProduct(a, v); s16 = s16.addingProduct(b, v); s26 = s26.addingProduct(c, v)
                    v = loadVector(xp + t7)
                    s07 = s07.addingProduct(a, v); s17 = s17.addingProduct(b, v); s27 = s27.addingProduct(c, v)
                    v = loadVector(xp + t8)
                    s08 = s08.addingProduct(a, v); s18 = s18.addingProduct(b, v); s28 = s28.addingProduct(c, v)
                    dOffset &+= lanes
                    xp += lanes
                }
            }
        }
        let o0 = out, o1 = out + ldo, o2 = out + 2 &* ldo
        o0[0] += laneSum(s00); o0[1] += laneSum(s01); o0[2] += laneSum(s02); o0[3] += laneSum(s03); o0[4] += laneSum(s04)
        o0[5] += laneSum(s05); o0[6] += laneSum(s06); o0[7] += laneSum(s07); o0[8] += laneSum(s08)
        o1[0] += laneSum(s10); o1[1] += laneSum(s11); o1[2] += laneSum(s12); o1[3] += laneSum(s13); o1[4] += laneSum(s14)
        o1[5] += laneSum(s15); o1[6] += laneSum(s16); o1[7] += laneSum(s17); o1[8] += laneSum(s18)
        o2[0] += laneSum(s20); o2[1] += laneSum(s21); o2[2] += laneSum(s22); o2[3] += laneSum(s23); o2[4] += laneSum(s24)
        o2[5] += laneSum(s25); o2[6] += laneSum(s26); o2[7] += laneSum(s27); o2[8] += laneSum(s28)
    }

    /// 4 channels × 3 taps: 12 accumulators + 3 inputs + 1 gradient of 16 registers. Per vector step
    /// 7 loads (3 of them unaligned input vectors) for 12 multiply-adds, against 2×6's 8 (6 unaligned);
    /// it covers 32 channels × 27 taps (convnet's and ResNet's 3-channel input layers) without padding.
    @inline(never)
    static func tile4x3<V: SIMD>(
        _ d0: UnsafePointer<V.Scalar>, _ d1: UnsafePointer<V.Scalar>, _ d2: UnsafePointer<V.Scalar>,
        _ d3: UnsafePointer<V.Scalar>,
        input x: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>, sweep: DotKernelSweep,
        out: UnsafeMutablePointer<V.Scalar>, ldo: Int, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var s00 = V(), s01 = V(), s02 = V(), s10 = V(), s11 = V(), s12 = V()
        var s20 = V(), s21 = V(), s22 = V(), s30 = V(), s31 = V(), s32 = V()
        let t0 = taps[0], t1 = taps[1], t2 = taps[2]
        let lanes = V.scalarCount
        for sample in 0..<sweep.samples {
            for row in 0..<sweep.rows {
                var dOffset = sample &* sweep.dSample &+ row &* sweep.dPitch
                var xp = x + (sample &* sweep.xSample &+ row &* sweep.xPitch)
                for _ in 0..<sweep.rowVectors {
                    let u: V = loadVector(xp + t0), v: V = loadVector(xp + t1), w: V = loadVector(xp + t2)
                    var a: V = loadVector(d0 + dOffset)
                    s00 = s00.addingProduct(a, u); s01 = s01.addingProduct(a, v); s02 = s02.addingProduct(a, w)
                    a = loadVector(d1 + dOffset)
                    s10 = s10.addingProduct(a, u); s11 = s11.addingProduct(a, v); s12 = s12.addingProduct(a, w)
                    a = loadVector(d2 + dOffset)
                    s20 = s20.addingProduct(a, u); s21 = s21.addingProduct(a, v); s22 = s22.addingProduct(a, w)
                    a = loadVector(d3 + dOffset)
                    s30 = s30.addingProduct(a, u); s31 = s31.addingProduct(a, v); s32 = s32.addingProduct(a, w)
                    dOffset &+= lanes
                    xp += lanes
                }
            }
        }
        let o0 = out, o1 = out + ldo, o2 = out + 2 &* ldo, o3 = out + 3 &* ldo
        o0[0] += laneSum(s00); o0[1] += laneSum(s01); o0[2] += laneSum(s02)
        o1[0] += laneSum(s10); o1[1] += laneSum(s11); o1[2] += laneSum(s12)
        o2[0] += laneSum(s20); o2[1] += laneSum(s21); o2[2] += laneSum(s22)
        o3[0] += laneSum(s30); o3[1] += laneSum(s31); o3[2] += laneSum(s32)
    }

    /// 2 channels × 6 taps: 12 accumulators + 2 gradients + 1 input of 16 registers.
    @inline(never)
    static func tile2x6<V: SIMD>(
        _ d0: UnsafePointer<V.Scalar>, _ d1: UnsafePointer<V.Scalar>,
        input x: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>, sweep: DotKernelSweep,
        out: UnsafeMutablePointer<V.Scalar>, ldo: Int, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var s00 = V(), s01 = V(), s02 = V(), s03 = V(), s04 = V(), s05 = V()
        var s10 = V(), s11 = V(), s12 = V(), s13 = V(), s14 = V(), s15 = V()
        let t0 = taps[0], t1 = taps[1], t2 = taps[2], t3 = taps[3], t4 = taps[4], t5 = taps[5]
        let lanes = V.scalarCount
        for sample in 0..<sweep.samples {
            for row in 0..<sweep.rows {
                var dOffset = sample &* sweep.dSample &+ row &* sweep.dPitch
                var xp = x + (sample &* sweep.xSample &+ row &* sweep.xPitch)
                for _ in 0..<sweep.rowVectors {
                    let a: V = loadVector(d0 + dOffset), b: V = loadVector(d1 + dOffset)
                    var v: V = loadVector(xp + t0)
                    s00 = s00.addingProduct(a, v); s10 = s10.addingProduct(b, v)
                    v = loadVector(xp + t1)
                    s01 = s01.addingProduct(a, v); s11 = s11.addingProduct(b, v)
                    v = loadVector(xp + t2)
                    s02 = s02.addingProduct(a, v); s12 = s12.addingProduct(b, v)
                    v = loadVector(xp + t3)
                    s03 = s03.addingProduct(a, v); s13 = s13.addingProduct(b, v)
                    v = loadVector(xp + t4)
                    s04 = s04.addingProduct(a, v); s14 = s14.addingProduct(b, v)
                    v = loadVector(xp + t5)
                    s05 = s05.addingProduct(a, v); s15 = s15.addingProduct(b, v)
                    dOffset &+= lanes
                    xp += lanes
                }
            }
        }
        let o0 = out, o1 = out + ldo
        o0[0] += laneSum(s00); o0[1] += laneSum(s01); o0[2] += laneSum(s02)
        o0[3] += laneSum(s03); o0[4] += laneSum(s04); o0[5] += laneSum(s05)
        o1[0] += laneSum(s10); o1[1] += laneSum(s11); o1[2] += laneSum(s12)
        o1[3] += laneSum(s13); o1[4] += laneSum(s14); o1[5] += laneSum(s15)
    }
}
