/// The register tiles of 16-register targets (x86-64 with AVX2 but without AVX-512): the same sums as
/// the 32-register tiles of `DirectConvolutionKernels.swift` and `MaskedWeightGradientKernel.swift`,
/// in the same order per output, on tiles of at most 12 accumulators plus the vectors a step loads.
///
/// Why several shapes: a tile's rows are output channels, and a layer whose channel count is not a
/// multiple of the rows computes padding rows (LeNet's 6 channels on a 4-row tile: two blocks, a
/// quarter of the rows wasted), so the drivers pick among the shapes by the rows and vectors they
/// waste (``DirectConvolution/forwardTile(channels:vectors:registers:)``,
/// ``DirectConvolution/maskedTile(channels:depth:registers:)``). The tap loops walk a pointer rather than
/// count (as ``BroadcastKernel/tile3x8(depth:weights:taps:input:inputOffsets:output:outputOffsets:ldc:initial:_:)``
/// does): a counted loop may be unrolled and spill accumulators under SwiftPM's frame-pointer flag.
extension BroadcastKernel {
    /// 4 rows × 3 vectors: 12 accumulators (16-register targets). `groups`, `stride` and `prefetch` as in
    /// ``tile6x2(depth:weights:taps:input:inputOffsets:output:outputOffsets:ldc:initial:groups:stride:prefetch:_:)``.
    @inline(never)
    static func tile4x3<V: SIMD>(
        depth: Int, weights a: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>,
        input: UnsafePointer<V.Scalar>, inputOffsets: UnsafePointer<Int>,
        output: UnsafeMutablePointer<V.Scalar>, outputOffsets: UnsafePointer<Int>,
        ldc: Int, initial: UnsafePointer<V.Scalar>?, groups: Int = 1, stride: Int = 0, prefetch: Bool = false, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var inputOffsets = inputOffsets, outputOffsets = outputOffsets
        let tapsEnd = taps + depth
        for _ in 0..<groups {
            let c0 = output + outputOffsets[0], c1 = output + outputOffsets[1], c2 = output + outputOffsets[2]
            if prefetch {
                prefetchForWrite(rows: 4, from: c0, pitch: ldc); prefetchForWrite(rows: 4, from: c1, pitch: ldc)
                prefetchForWrite(rows: 4, from: c2, pitch: ldc)
            }
            let b0 = input + inputOffsets[0], b1 = input + inputOffsets[1], b2 = input + inputOffsets[2]
            var s00 = initial.map { V(repeating: $0[0]) } ?? V(), s01 = s00, s02 = s00
            var s10 = initial.map { V(repeating: $0[1]) } ?? V(), s11 = s10, s12 = s10
            var s20 = initial.map { V(repeating: $0[2]) } ?? V(), s21 = s20, s22 = s20
            var s30 = initial.map { V(repeating: $0[3]) } ?? V(), s31 = s30, s32 = s30
            var w = a, tap = taps
            while tap < tapsEnd {
                let offset = tap.pointee
                tap += 1
                let x0: V = loadVector(b0 + offset), x1: V = loadVector(b1 + offset), x2: V = loadVector(b2 + offset)
                var r = V(repeating: w[0])
                s00 = s00.addingProduct(r, x0); s01 = s01.addingProduct(r, x1); s02 = s02.addingProduct(r, x2)
                r = V(repeating: w[1])
                s10 = s10.addingProduct(r, x0); s11 = s11.addingProduct(r, x1); s12 = s12.addingProduct(r, x2)
                r = V(repeating: w[2])
                s20 = s20.addingProduct(r, x0); s21 = s21.addingProduct(r, x1); s22 = s22.addingProduct(r, x2)
                r = V(repeating: w[3])
                s30 = s30.addingProduct(r, x0); s31 = s31.addingProduct(r, x1); s32 = s32.addingProduct(r, x2)
                w += 4
            }
            storeVector(s00, c0); storeVector(s01, c1); storeVector(s02, c2)
            storeVector(s10, c0 + ldc); storeVector(s11, c1 + ldc); storeVector(s12, c2 + ldc)
            storeVector(s20, c0 + 2 &* ldc); storeVector(s21, c1 + 2 &* ldc); storeVector(s22, c2 + 2 &* ldc)
            storeVector(s30, c0 + 3 &* ldc); storeVector(s31, c1 + 3 &* ldc); storeVector(s32, c2 + 3 &* ldc)
            inputOffsets += stride; outputOffsets += stride
        }
    }

    /// 6 rows × 2 vectors: 12 accumulators (16-register targets; six channels in one block). With
    /// `groups > 1` it computes that many tiles, the next one's offsets `stride` further in
    /// `inputOffsets` and `outputOffsets` (a run of ``DirectCorrelation``'s groups over one tap range),
    /// first requesting each tile's output lines owned if `prefetch`.
    @inline(never)
    static func tile6x2<V: SIMD>(
        depth: Int, weights a: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>,
        input: UnsafePointer<V.Scalar>, inputOffsets: UnsafePointer<Int>,
        output: UnsafeMutablePointer<V.Scalar>, outputOffsets: UnsafePointer<Int>,
        ldc: Int, initial: UnsafePointer<V.Scalar>?, groups: Int = 1, stride: Int = 0, prefetch: Bool = false, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var inputOffsets = inputOffsets, outputOffsets = outputOffsets
        let tapsEnd = taps + depth
        for _ in 0..<groups {
            let c0 = output + outputOffsets[0], c1 = output + outputOffsets[1]
            if prefetch { prefetchForWrite(rows: 6, from: c0, pitch: ldc); prefetchForWrite(rows: 6, from: c1, pitch: ldc) }
            let b0 = input + inputOffsets[0], b1 = input + inputOffsets[1]
            var s00 = initial.map { V(repeating: $0[0]) } ?? V(), s01 = s00
            var s10 = initial.map { V(repeating: $0[1]) } ?? V(), s11 = s10
            var s20 = initial.map { V(repeating: $0[2]) } ?? V(), s21 = s20
            var s30 = initial.map { V(repeating: $0[3]) } ?? V(), s31 = s30
            var s40 = initial.map { V(repeating: $0[4]) } ?? V(), s41 = s40
            var s50 = initial.map { V(repeating: $0[5]) } ?? V(), s51 = s50
            var w = a, tap = taps
            while tap < tapsEnd {
                let offset = tap.pointee
                tap += 1
                let x0: V = loadVector(b0 + offset), x1: V = loadVector(b1 + offset)
                var r = V(repeating: w[0])
                s00 = s00.addingProduct(r, x0); s01 = s01.addingProduct(r, x1)
                r = V(repeating: w[1])
                s10 = s10.addingProduct(r, x0); s11 = s11.addingProduct(r, x1)
                r = V(repeating: w[2])
                s20 = s20.addingProduct(r, x0); s21 = s21.addingProduct(r, x1)
                r = V(repeating: w[3])
                s30 = s30.addingProduct(r, x0); s31 = s31.addingProduct(r, x1)
                r = V(repeating: w[4])
                s40 = s40.addingProduct(r, x0); s41 = s41.addingProduct(r, x1)
                r = V(repeating: w[5])
                s50 = s50.addingProduct(r, x0); s51 = s51.addingProduct(r, x1)
                w += 6
            }
            storeVector(s00, c0); storeVector(s01, c1)
            storeVector(s10, c0 + ldc); storeVector(s11, c1 + ldc)
            storeVector(s20, c0 + 2 &* ldc); storeVector(s21, c1 + 2 &* ldc)
            storeVector(s30, c0 + 3 &* ldc); storeVector(s31, c1 + 3 &* ldc)
            storeVector(s40, c0 + 4 &* ldc); storeVector(s41, c1 + 4 &* ldc)
            storeVector(s50, c0 + 5 &* ldc); storeVector(s51, c1 + 5 &* ldc)
            inputOffsets += stride; outputOffsets += stride
        }
    }

    /// 3 rows × 4 vectors: 12 accumulators (16-register targets; three channels, e.g. the input
    /// gradient of an RGB layer, in one block).
    @inline(never)
    static func tile3x4<V: SIMD>(
        depth: Int, weights a: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>,
        input: UnsafePointer<V.Scalar>, inputOffsets: UnsafePointer<Int>,
        output: UnsafeMutablePointer<V.Scalar>, outputOffsets: UnsafePointer<Int>,
        ldc: Int, initial: UnsafePointer<V.Scalar>?, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        let b0 = input + inputOffsets[0], b1 = input + inputOffsets[1], b2 = input + inputOffsets[2], b3 = input + inputOffsets[3]
        var s00 = initial.map { V(repeating: $0[0]) } ?? V(), s01 = s00, s02 = s00, s03 = s00
        var s10 = initial.map { V(repeating: $0[1]) } ?? V(), s11 = s10, s12 = s10, s13 = s10
        var s20 = initial.map { V(repeating: $0[2]) } ?? V(), s21 = s20, s22 = s20, s23 = s20
        var w = a, tap = taps
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
            w += 3
        }
        let c0 = output + outputOffsets[0], c1 = output + outputOffsets[1], c2 = output + outputOffsets[2], c3 = output + outputOffsets[3]
        storeVector(s00, c0); storeVector(s01, c1); storeVector(s02, c2); storeVector(s03, c3)
        storeVector(s10, c0 + ldc); storeVector(s11, c1 + ldc); storeVector(s12, c2 + ldc); storeVector(s13, c3 + ldc)
        storeVector(s20, c0 + 2 &* ldc); storeVector(s21, c1 + 2 &* ldc); storeVector(s22, c2 + 2 &* ldc); storeVector(s23, c3 + 2 &* ldc)
    }
}

extension MaskedKernel {
    /// 6 channels × 2 taps: 12 accumulators + 2 masked inputs + 1 gradient of 16 registers. Per vector
    /// it loads 2 inputs, 2 masks and 6 gradients for 12 multiply-adds — against 10 loads for 8 on the
    /// 2 × 4 tile, which is load-bound on cores with two vector loads per cycle.
    @inline(never)
    static func tile6x2<V: SIMD>(
        _ d: (UnsafePointer<V.Scalar>, UnsafePointer<V.Scalar>, UnsafePointer<V.Scalar>, UnsafePointer<V.Scalar>,
              UnsafePointer<V.Scalar>, UnsafePointer<V.Scalar>),
        input x: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>, columns: UnsafePointer<Int>,
        sweep: MaskedSweep<V.MaskStorage.Scalar>, sums: UnsafeMutablePointer<V.Scalar>, ldo: Int, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var s00: V = load(sums, 0, 0, ldo), s01: V = load(sums, 0, 1, ldo)
        var s10: V = load(sums, 1, 0, ldo), s11: V = load(sums, 1, 1, ldo)
        var s20: V = load(sums, 2, 0, ldo), s21: V = load(sums, 2, 1, ldo)
        var s30: V = load(sums, 3, 0, ldo), s31: V = load(sums, 3, 1, ldo)
        var s40: V = load(sums, 4, 0, ldo), s41: V = load(sums, 4, 1, ldo)
        var s50: V = load(sums, 5, 0, ldo), s51: V = load(sums, 5, 1, ldo)
        let x0 = x + taps[0], x1 = x + taps[1], c0 = columns[0], c1 = columns[1]
        let lanes = V.scalarCount
        var row = MaskedPatternRow(sweep), offset = 0
        for _ in 0..<sweep.vectors {
            let v0: V = tapVector(x0 + offset, row.current + c0), v1: V = tapVector(x1 + offset, row.current + c1)
            var a: V = loadVector(d.0 + offset)
            s00 = s00.addingProduct(a, v0); s01 = s01.addingProduct(a, v1)
            a = loadVector(d.1 + offset)
            s10 = s10.addingProduct(a, v0); s11 = s11.addingProduct(a, v1)
            a = loadVector(d.2 + offset)
            s20 = s20.addingProduct(a, v0); s21 = s21.addingProduct(a, v1)
            a = loadVector(d.3 + offset)
            s30 = s30.addingProduct(a, v0); s31 = s31.addingProduct(a, v1)
            a = loadVector(d.4 + offset)
            s40 = s40.addingProduct(a, v0); s41 = s41.addingProduct(a, v1)
            a = loadVector(d.5 + offset)
            s50 = s50.addingProduct(a, v0); s51 = s51.addingProduct(a, v1)
            offset &+= lanes
            row.advance()
        }
        store(s00, sums, 0, 0, ldo); store(s01, sums, 0, 1, ldo)
        store(s10, sums, 1, 0, ldo); store(s11, sums, 1, 1, ldo)
        store(s20, sums, 2, 0, ldo); store(s21, sums, 2, 1, ldo)
        store(s30, sums, 3, 0, ldo); store(s31, sums, 3, 1, ldo)
        store(s40, sums, 4, 0, ldo); store(s41, sums, 4, 1, ldo)
        store(s50, sums, 5, 0, ldo); store(s51, sums, 5, 1, ldo)
    }
}

extension OuterKernel {
    /// One kernel row of 5 taps × 2 vectors of channels: 10 accumulators (16-register targets, where
    /// ``taps5x5x1(input:gradient:out:sweep:_:)``'s 25 do not fit). `x` points at the kernel row's
    /// first tap; the five rows of a 5 × 5 kernel are five calls, each output summed over the same
    /// pixels in the same order as in the 25-tap tile.
    @inline(never)
    static func row5x2<V: SIMD>(input x: UnsafePointer<V.Scalar>, gradient g: UnsafePointer<V.Scalar>,
                                out: UnsafeMutablePointer<V.Scalar>, sweep s: Sweep, _: V.Type)
    where V.Scalar: BinaryFloatingPoint {
        var a0 = V(), a1 = V(), b0 = V(), b1 = V(), c0 = V(), c1 = V(), e0 = V(), e1 = V(), f0 = V(), f1 = V()
        let d = s.columnStep, d2 = 2 &* d, d3 = 3 &* d, d4 = 4 &* d, lanes = V.scalarCount
        var gp = g
        for row in 0..<s.rows {
            var xa = x + row &* s.pitch
            for _ in 0..<s.columns {
                let v0: V = loadVector(gp), v1: V = loadVector(gp + lanes)
                var w = V(repeating: xa[0]); a0 = a0.addingProduct(w, v0); a1 = a1.addingProduct(w, v1)
                w = V(repeating: xa[d]); b0 = b0.addingProduct(w, v0); b1 = b1.addingProduct(w, v1)
                w = V(repeating: xa[d2]); c0 = c0.addingProduct(w, v0); c1 = c1.addingProduct(w, v1)
                w = V(repeating: xa[d3]); e0 = e0.addingProduct(w, v0); e1 = e1.addingProduct(w, v1)
                w = V(repeating: xa[d4]); f0 = f0.addingProduct(w, v0); f1 = f1.addingProduct(w, v1)
                gp += s.gradientStride
                xa += 1
            }
        }
        let o = s.outStride
        accumulate(a0, out); accumulate(a1, out + lanes)
        accumulate(b0, out + o); accumulate(b1, out + (o &+ lanes))
        accumulate(c0, out + 2 &* o); accumulate(c1, out + (2 &* o &+ lanes))
        accumulate(e0, out + 3 &* o); accumulate(e1, out + (3 &* o &+ lanes))
        accumulate(f0, out + 4 &* o); accumulate(f1, out + (4 &* o &+ lanes))
    }

    /// One kernel row of 3 taps × 4 vectors of channels: 12 accumulators, the 3 broadcast inputs and
    /// one gradient vector at a time — all 16 registers (16-register targets). Per pixel it loads 4
    /// gradient vectors and broadcasts 3 inputs for 12 multiply-adds, where
    /// ``taps3x3x1(input:gradient:out:sweep:_:)`` loads 1 and broadcasts 9 for 9: a load per
    /// multiply-add, more than cores with two load ports issue beside two multiply-adds a cycle. `x`
    /// points at the kernel row's first tap; the three rows of a 3 × 3 kernel are three calls, each
    /// output summed over the same pixels in the same order as in the 9-tap tile. It holds one gradient
    /// vector at a time: with all four loaded at once (17 live vectors) an accumulator went to the stack
    /// on every pixel. The pixel loop walks a pointer, as the other tiles' loops do, so that LLVM does
    /// not unroll it.
    @inline(never)
    static func row3x4<V: SIMD>(input x: UnsafePointer<V.Scalar>, gradient g: UnsafePointer<V.Scalar>,
                                out: UnsafeMutablePointer<V.Scalar>, sweep s: Sweep, _: V.Type)
    where V.Scalar: BinaryFloatingPoint {
        var a0 = V(), a1 = V(), a2 = V(), a3 = V(), b0 = V(), b1 = V(), b2 = V(), b3 = V()
        var c0 = V(), c1 = V(), c2 = V(), c3 = V()
        let d = s.columnStep, d2 = 2 &* d, lanes = V.scalarCount
        var gp = g
        for row in 0..<s.rows {
            var xa = x + row &* s.pitch
            let rowEnd = xa + s.columns
            while xa < rowEnd {
                let wa = V(repeating: xa[0]), wb = V(repeating: xa[d]), wc = V(repeating: xa[d2])
                var v: V = loadVector(gp)
                a0 = a0.addingProduct(wa, v); b0 = b0.addingProduct(wb, v); c0 = c0.addingProduct(wc, v)
                v = loadVector(gp + lanes)
                a1 = a1.addingProduct(wa, v); b1 = b1.addingProduct(wb, v); c1 = c1.addingProduct(wc, v)
                v = loadVector(gp + 2 &* lanes)
                a2 = a2.addingProduct(wa, v); b2 = b2.addingProduct(wb, v); c2 = c2.addingProduct(wc, v)
                v = loadVector(gp + 3 &* lanes)
                a3 = a3.addingProduct(wa, v); b3 = b3.addingProduct(wb, v); c3 = c3.addingProduct(wc, v)
                gp += s.gradientStride
                xa += 1
            }
        }
        let o = s.outStride, o2 = 2 &* o
        accumulate(a0, out); accumulate(a1, out + lanes); accumulate(a2, out + 2 &* lanes); accumulate(a3, out + 3 &* lanes)
        accumulate(b0, out + o); accumulate(b1, out + (o &+ lanes))
        accumulate(b2, out + (o &+ 2 &* lanes)); accumulate(b3, out + (o &+ 3 &* lanes))
        accumulate(c0, out + o2); accumulate(c1, out + (o2 &+ lanes))
        accumulate(c2, out + (o2 &+ 2 &* lanes)); accumulate(c3, out + (o2 &+ 3 &* lanes))
    }

    /// One kernel row of 3 taps × 2 vectors of channels for two input channels at once: 12
    /// accumulators (16-register targets), the two gradient vectors of a pixel shared by both channels'
    /// 6 broadcast inputs — 8 loads per 12 multiply-adds, where two vectors on
    /// ``taps3x3x1(input:gradient:out:sweep:_:)`` take 20 per 18. `x` points at the first channel's
    /// kernel row, the second channel's `channelStride` further; its sums go `outChannelStride` after
    /// the first's. Each output is summed over the same pixels in the same order as in the 9-tap tile.
    @inline(never)
    static func channelPairRow3x2<V: SIMD>(input x: UnsafePointer<V.Scalar>, channelStride: Int,
                                           gradient g: UnsafePointer<V.Scalar>, out: UnsafeMutablePointer<V.Scalar>,
                                           outChannelStride: Int, sweep s: Sweep, _: V.Type)
    where V.Scalar: BinaryFloatingPoint {
        var a0 = V(), a1 = V(), b0 = V(), b1 = V(), c0 = V(), c1 = V()
        var e0 = V(), e1 = V(), f0 = V(), f1 = V(), h0 = V(), h1 = V()
        let d = s.columnStep, d2 = 2 &* d, lanes = V.scalarCount
        var gp = g
        for row in 0..<s.rows {
            var xa = x + row &* s.pitch
            let rowEnd = xa + s.columns
            while xa < rowEnd {
                let v0: V = loadVector(gp), v1: V = loadVector(gp + lanes)
                let xb = xa + channelStride
                var w = V(repeating: xa[0]); a0 = a0.addingProduct(w, v0); a1 = a1.addingProduct(w, v1)
                w = V(repeating: xa[d]); b0 = b0.addingProduct(w, v0); b1 = b1.addingProduct(w, v1)
                w = V(repeating: xa[d2]); c0 = c0.addingProduct(w, v0); c1 = c1.addingProduct(w, v1)
                w = V(repeating: xb[0]); e0 = e0.addingProduct(w, v0); e1 = e1.addingProduct(w, v1)
                w = V(repeating: xb[d]); f0 = f0.addingProduct(w, v0); f1 = f1.addingProduct(w, v1)
                w = V(repeating: xb[d2]); h0 = h0.addingProduct(w, v0); h1 = h1.addingProduct(w, v1)
                gp += s.gradientStride
                xa += 1
            }
        }
        let o = s.outStride, second = out + outChannelStride
        accumulate(a0, out); accumulate(a1, out + lanes)
        accumulate(b0, out + o); accumulate(b1, out + (o &+ lanes))
        accumulate(c0, out + 2 &* o); accumulate(c1, out + (2 &* o &+ lanes))
        accumulate(e0, second); accumulate(e1, second + lanes)
        accumulate(f0, second + o); accumulate(f1, second + (o &+ lanes))
        accumulate(h0, second + 2 &* o); accumulate(h1, second + (2 &* o &+ lanes))
    }

    /// One kernel row of 5 taps × 1 vector of channels: 5 accumulators (an odd last vector).
    @inline(never)
    static func row5x1<V: SIMD>(input x: UnsafePointer<V.Scalar>, gradient g: UnsafePointer<V.Scalar>,
                                out: UnsafeMutablePointer<V.Scalar>, sweep s: Sweep, _: V.Type)
    where V.Scalar: BinaryFloatingPoint {
        var a = V(), b = V(), c = V(), e = V(), f = V()
        let d = s.columnStep, d2 = 2 &* d, d3 = 3 &* d, d4 = 4 &* d
        var gp = g
        for row in 0..<s.rows {
            var xa = x + row &* s.pitch
            for _ in 0..<s.columns {
                let v: V = loadVector(gp)
                a = a.addingProduct(V(repeating: xa[0]), v); b = b.addingProduct(V(repeating: xa[d]), v)
                c = c.addingProduct(V(repeating: xa[d2]), v); e = e.addingProduct(V(repeating: xa[d3]), v)
                f = f.addingProduct(V(repeating: xa[d4]), v)
                gp += s.gradientStride
                xa += 1
            }
        }
        let o = s.outStride
        accumulate(a, out); accumulate(b, out + o); accumulate(c, out + 2 &* o)
        accumulate(e, out + 3 &* o); accumulate(f, out + 4 &* o)
    }
}

extension ChannelVectorKernel {
    /// One output row × 5 columns × 2 vectors of channels: 10 accumulators and two weight vectors
    /// (16-register targets), `acc[c][v] = init[v] + Σ_k x[taps[k] + c]·a[k][v]` for `k < depth`, with `a`
    /// packed `depth × 2L`; written to `output` as `[column][2L]`. Per tap: 2 weight loads and 5
    /// broadcasts for 10 multiply-adds.
    @inline(never)
    static func tile1x5x2<V: SIMD>(
        depth: Int, weights a: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>, input: UnsafePointer<V.Scalar>,
        initial: UnsafePointer<V.Scalar>?, output: UnsafeMutablePointer<V.Scalar>, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        let n = V.scalarCount
        let low: V = initial.map { loadVector($0) } ?? V(), high: V = initial.map { loadVector($0 + n) } ?? V()
        var a0 = low, a1 = low, a2 = low, a3 = low, a4 = low
        var b0 = high, b1 = high, b2 = high, b3 = high, b4 = high
        var w = a, tap = taps
        let tapsEnd = taps + depth
        while tap < tapsEnd {
            let x = input + tap.pointee
            tap += 1
            let w0: V = loadVector(w), w1: V = loadVector(w + n)
            var r = V(repeating: x[0]); a0 = a0.addingProduct(r, w0); b0 = b0.addingProduct(r, w1)
            r = V(repeating: x[1]); a1 = a1.addingProduct(r, w0); b1 = b1.addingProduct(r, w1)
            r = V(repeating: x[2]); a2 = a2.addingProduct(r, w0); b2 = b2.addingProduct(r, w1)
            r = V(repeating: x[3]); a3 = a3.addingProduct(r, w0); b3 = b3.addingProduct(r, w1)
            r = V(repeating: x[4]); a4 = a4.addingProduct(r, w0); b4 = b4.addingProduct(r, w1)
            w += 2 &* n
        }
        storeVector(a0, output); storeVector(b0, output + n)
        storeVector(a1, output + 2 &* n); storeVector(b1, output + 3 &* n)
        storeVector(a2, output + 4 &* n); storeVector(b2, output + 5 &* n)
        storeVector(a3, output + 6 &* n); storeVector(b3, output + 7 &* n)
        storeVector(a4, output + 8 &* n); storeVector(b4, output + 9 &* n)
    }

    /// One output row × 6 columns × 2 vectors of channels: 12 accumulators (as
    /// ``tile1x5x2(depth:weights:taps:input:initial:output:_:)``, one column more).
    @inline(never)
    static func tile1x6x2<V: SIMD>(
        depth: Int, weights a: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>, input: UnsafePointer<V.Scalar>,
        initial: UnsafePointer<V.Scalar>?, output: UnsafeMutablePointer<V.Scalar>, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        let n = V.scalarCount
        let low: V = initial.map { loadVector($0) } ?? V(), high: V = initial.map { loadVector($0 + n) } ?? V()
        var a0 = low, a1 = low, a2 = low, a3 = low, a4 = low, a5 = low
        var b0 = high, b1 = high, b2 = high, b3 = high, b4 = high, b5 = high
        var w = a, tap = taps
        let tapsEnd = taps + depth
        while tap < tapsEnd {
            let x = input + tap.pointee
            tap += 1
            let w0: V = loadVector(w), w1: V = loadVector(w + n)
            var r = V(repeating: x[0]); a0 = a0.addingProduct(r, w0); b0 = b0.addingProduct(r, w1)
            r = V(repeating: x[1]); a1 = a1.addingProduct(r, w0); b1 = b1.addingProduct(r, w1)
            r = V(repeating: x[2]); a2 = a2.addingProduct(r, w0); b2 = b2.addingProduct(r, w1)
            r = V(repeating: x[3]); a3 = a3.addingProduct(r, w0); b3 = b3.addingProduct(r, w1)
            r = V(repeating: x[4]); a4 = a4.addingProduct(r, w0); b4 = b4.addingProduct(r, w1)
            r = V(repeating: x[5]); a5 = a5.addingProduct(r, w0); b5 = b5.addingProduct(r, w1)
            w += 2 &* n
        }
        storeVector(a0, output); storeVector(b0, output + n)
        storeVector(a1, output + 2 &* n); storeVector(b1, output + 3 &* n)
        storeVector(a2, output + 4 &* n); storeVector(b2, output + 5 &* n)
        storeVector(a3, output + 6 &* n); storeVector(b3, output + 7 &* n)
        storeVector(a4, output + 8 &* n); storeVector(b4, output + 9 &* n)
        storeVector(a5, output + 10 &* n); storeVector(b5, output + 11 &* n)
    }
}
