import NablaTensor

// The weight gradient with output channels in the lanes (deep 3×3 and 5×5 layers): the driver
// (``DirectVector/outerWeightGradient(_:batch:input:upstream:outChannels:weightGradient:workers:workspace:)``),
// the transposition of the upstream gradient to pixel-major it needs, and its register tiles
// (``OuterKernel``; the 16-register one-row tiles are in `NarrowRegisterKernels.swift`).

extension DirectVector {
    /// The weight gradient with ``OuterKernel``: per sample, the padded input and the upstream gradient
    /// transposed to `[pixel][O]` (channels padded to whole vectors); per input channel and group of
    /// channel vectors, sweeps over the output pixels accumulate `∂Wᵀ[(c, i, j)][o]` in the worker's
    /// partial sum — one sweep for all taps of a 3 × 3 kernel on 32 registers (two vectors) and for an
    /// odd vector, one per kernel row on 16 registers (four vectors of a 3 × 3 kernel, or two for two
    /// input channels at once; two vectors of a 5 × 5).
    /// Each partial sums its pixels in the same order on every tile. Overwrites `weightGradient`
    /// (`[O][C][kH][kW]`) with the sum of the partials in worker order.
    static func outerWeightGradient(
        _ layout: DirectConvolutionLayout, batch: Int, input: UnsafePointer<Scalar>,
        upstream: UnsafePointer<Scalar>, outChannels: Int, weightGradient: UnsafeMutablePointer<Scalar>,
        workers: Int, workspace: ConvolutionWorkspace
    ) {
        precondition(layout.isValid && layout.lanes == scalarCount && outChannels >= 1 && DirectConvolution.hasOuterKernel(layout),
                     "direct convolution: invalid layout \(layout)")
        let lanes = scalarCount, vectors = (outChannels + lanes - 1) / lanes, padded = vectors * lanes
        let taps = layout.kernelHeight * layout.kernelWidth, depth = layout.depth
        let outPlane = layout.outPlane, outSample = outChannels * outPlane, inSample = layout.channels * layout.height * layout.width
        let paddedCount = layout.paddedSampleCount, transposedCount = paddedToCacheLine(outPlane * padded)
        let partialCount = paddedToCacheLine(depth * padded)
        let workerCount = partialCount + paddedCount + transposedCount
        let wide = DirectConvolutionSupport.registerCount >= 32, pairs = wide && layout.kernelHeight == 3
        // 16 registers, 3 × 3: two or three vectors left after the groups of four run two at a time on
        // ``OuterKernel/channelPairRow3x2(input:channelStride:gradient:out:outChannelStride:sweep:_:)``.
        let pairedVectors = !wide && layout.kernelHeight == 3 && vectors % 4 >= 2
        let sweep = OuterKernel.Sweep(rows: layout.outHeight, columns: layout.outWidth, pitch: layout.paddedWidth,
                                      rowStep: layout.dilationHeight * layout.paddedWidth, columnStep: layout.dilationWidth,
                                      gradientStride: padded, outStride: padded)
        workspace.withBuffer(of: Scalar.self, count: workers * workerCount) { scratch in
            runOnWorkers(workers, count: batch) { range, worker in
                let partial = scratch + worker * workerCount, xp = partial + partialCount, transposed = xp + paddedCount
                partial.update(repeating: 0, count: partialCount)
                xp.update(repeating: 0, count: paddedCount)     // zero borders once; each sample fills the interior
                for n in range {
                    layout.copyInterior(input + n * inSample, into: xp)
                    let dy = upstream + n * outSample
                    transposeChannels(dy, channels: outChannels, pixels: outPlane, into: transposed, stride: padded)
                    for c in 0..<layout.channels {
                        let plane = UnsafePointer(xp + c * layout.paddedPlane), target = partial + c * taps * padded
                        var v = 0
                        if layout.kernelHeight == 5 && !wide {
                            // Kernel row i: taps 5i ..< 5i + 5, read from the plane i rows lower.
                            for i in 0..<5 {
                                let row = plane + i * sweep.rowStep, rowTarget = target + 5 * i * padded
                                var w = 0
                                while w + 2 <= vectors {
                                    OuterKernel.row5x2(input: row, gradient: transposed + w * lanes, out: rowTarget + w * lanes,
                                                       sweep: sweep, Self.self)
                                    w += 2
                                }
                                if w < vectors {
                                    OuterKernel.row5x1(input: row, gradient: transposed + w * lanes, out: rowTarget + w * lanes,
                                                       sweep: sweep, Self.self)
                                }
                            }
                            continue
                        }
                        if layout.kernelHeight == 5 {
                            for w in 0..<vectors {
                                OuterKernel.taps5x5x1(input: plane, gradient: transposed + w * lanes, out: target + w * lanes,
                                                      sweep: sweep, Self.self)
                            }
                            continue
                        }
                        if layout.kernelHeight == 3 && !wide {
                            // Groups of four channel vectors, kernel row i (taps 3i ..< 3i + 3) read from
                            // the plane i rows lower; two of the last two or three vectors for this input
                            // channel and the next together (an even channel computes its odd neighbour's
                            // too); what is left on the 9-tap tile.
                            while v + 4 <= vectors {
                                for i in 0..<3 {
                                    OuterKernel.row3x4(input: plane + i * sweep.rowStep, gradient: transposed + v * lanes,
                                                       out: target + (3 * i * padded + v * lanes), sweep: sweep, Self.self)
                                }
                                v += 4
                            }
                            // Channels 2k and 2k + 1 are a pair; an odd last channel has no partner.
                            if pairedVectors && (c ^ 1) < layout.channels {
                                if c % 2 == 0 {
                                    for i in 0..<3 {
                                        OuterKernel.channelPairRow3x2(
                                            input: plane + i * sweep.rowStep, channelStride: layout.paddedPlane,
                                            gradient: transposed + v * lanes, out: target + (3 * i * padded + v * lanes),
                                            outChannelStride: taps * padded, sweep: sweep, Self.self)
                                    }
                                }
                                v += 2
                            }
                        }
                        if pairs {
                            while v + 2 <= vectors {
                                OuterKernel.taps3x3x2(input: plane, gradient: transposed + v * lanes, out: target + v * lanes,
                                                      sweep: sweep, Self.self)
                                v += 2
                            }
                        }
                        while v < vectors {
                            OuterKernel.taps3x3x1(input: plane, gradient: transposed + v * lanes, out: target + v * lanes,
                                                  sweep: sweep, Self.self)
                            v += 1
                        }
                    }
                }
            }
            sumTransposedPartials(scratch, workers: workers, workerStride: workerCount, rowStride: padded, depth: depth,
                                  outChannels: outChannels, into: weightGradient)
        }
    }

    /// `destination[p·stride + c] = source[c·pixels + p]` for `c < channels`, zeros for
    /// `channels ≤ c < stride`: `[C][P]` to `[P][stride]`. Whole `L × L` blocks (`L` channels by `L`
    /// pixels) are transposed in registers (``LanePermutable/transposeSquare(_:scratch:)``) and stored as
    /// whole vectors when `stride` is a multiple of `L` (the weight gradient's padded channel count);
    /// the last `P mod L` pixels, and every pixel otherwise, go one by one. The compilers' own
    /// vectorization of the one-by-one loop is a scatter store per vector, microcoded and slow on AMD's
    /// cores: this transposition took 3% of a single-threaded `convnet` step that way.
    static func transposeChannels(_ source: UnsafePointer<Scalar>, channels: Int, pixels: Int,
                                  into destination: UnsafeMutablePointer<Scalar>, stride: Int) {
        precondition(channels <= stride, "transposeChannels: \(channels) channels in rows of \(stride)")
        let lanes = scalarCount
        var first = 0
        if stride % lanes == 0 {
            let whole = pixels / lanes * lanes
            withUnsafeTemporaryAllocation(of: Self.self, capacity: 2 &* lanes) { buffer in
                let rows = buffer.baseAddress!, scratch = rows + lanes
                // `L` planes at a time, each read start to end: `L` streams for the hardware prefetcher,
                // where walking all `C` planes pixel block by pixel block had `C` (a stall on nearly
                // every load, `perf`). The next `L` planes' starts are prefetched
                // (``prefetchStart(of:count:)``): a plane of 32 × 32 floats is one 4 KiB page, and the
                // prefetchers do not follow a stream into a new page.
                for c0 in Swift.stride(from: 0, to: stride, by: lanes) {
                    for l in 0..<lanes where c0 &+ lanes &+ l < channels {
                        prefetchStart(of: source + (c0 &+ lanes &+ l) &* pixels, count: pixels)
                    }
                    var p = 0
                    while p < whole {
                        for l in 0..<lanes {
                            rows[l] = c0 &+ l < channels ? loadVector(source + ((c0 &+ l) &* pixels &+ p)) : Self()
                        }
                        transposeSquare(rows, scratch: scratch)
                        for q in 0..<lanes { storeVector(rows[q], destination + ((p &+ q) &* stride &+ c0)) }
                        p &+= lanes
                    }
                }
            }
            first = whole
        }
        for p in first..<pixels {
            let to = destination + p &* stride
            for c in 0..<channels { to[c] = source[c &* pixels &+ p] }
            for c in channels..<stride { to[c] = 0 }
        }
    }
}

/// `∂W[o][k] = Σ_workers partials[worker·workerStride + k·rowStride + o]`, added in worker order: the
/// workers' transposed partial sums of an outer-product weight gradient (`[depth][≥ O]` each) folded
/// into `∂W` (`[O][depth]`, overwritten). Shared by the Float ``OuterKernel`` and the bf16 paired kernel.
func sumTransposedPartials<Scalar: AdditiveArithmetic>(
    _ partials: UnsafePointer<Scalar>, workers: Int, workerStride: Int, rowStride: Int, depth: Int, outChannels: Int,
    into weightGradient: UnsafeMutablePointer<Scalar>
) {
    for k in 0..<depth {
        for o in 0..<outChannels {
            var sum = partials[k * rowStride + o]
            for worker in 1..<Swift.max(1, workers) { sum += partials[worker * workerStride + k * rowStride + o] }
            weightGradient[o * depth + k] = sum
        }
    }
}

/// The outer-product kernel of the weight gradient for one input channel's `kH×kW` taps:
/// `out[t·ldo + v·L + l] += Σ_p x̂[tap(t) + pos(p)] · g[p·ldg + v·L + l]`, where `t = i·kW + j`,
/// `tap(t) = i·rowStep + j·columnStep`, `p` runs over the `rows × columns` output pixels
/// (`pos(p) = row·pitch + column`), and `g` is the upstream gradient transposed to pixel-major
/// (`[p][O]`, channels padded to whole vectors with zeros). Each lane is one output channel, so the
/// sums over pixels need no horizontal reduction; the padded input is broadcast, one tap at a time.
enum OuterKernel {
    /// The geometry of one sweep.
    struct Sweep {
        var rows: Int, columns: Int, pitch: Int
        var rowStep: Int, columnStep: Int
        var gradientStride: Int, outStride: Int
    }

    @inline(__always)
    static func accumulate<V: SIMD>(_ value: V, _ pointer: UnsafeMutablePointer<V.Scalar>) where V.Scalar: BinaryFloatingPoint {
        storeVector(loadVector(pointer) + value, pointer)
    }

    /// 3×3 taps × 2 vectors of channels: 18 accumulators (32-register targets).
    @inline(never)
    static func taps3x3x2<V: SIMD>(input x: UnsafePointer<V.Scalar>, gradient g: UnsafePointer<V.Scalar>,
                                    out: UnsafeMutablePointer<V.Scalar>, sweep s: Sweep, _: V.Type)
    where V.Scalar: BinaryFloatingPoint {
        var a00 = V(), a01 = V(), a10 = V(), a11 = V(), a20 = V(), a21 = V()
        var b00 = V(), b01 = V(), b10 = V(), b11 = V(), b20 = V(), b21 = V()
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        let d = s.columnStep, d2 = 2 &* s.columnStep, lanes = V.scalarCount
        var gp = g
        for row in 0..<s.rows {
            var x0 = x + row &* s.pitch
            for _ in 0..<s.columns {
                let v0: V = loadVector(gp), v1: V = loadVector(gp + lanes)
                let x1 = x0 + s.rowStep, x2 = x0 + 2 &* s.rowStep
                var w = V(repeating: x0[0]); a00 = a00.addingProduct(w, v0); a01 = a01.addingProduct(w, v1)
                w = V(repeating: x0[d]); a10 = a10.addingProduct(w, v0); a11 = a11.addingProduct(w, v1)
                w = V(repeating: x0[d2]); a20 = a20.addingProduct(w, v0); a21 = a21.addingProduct(w, v1)
                w = V(repeating: x1[0]); b00 = b00.addingProduct(w, v0); b01 = b01.addingProduct(w, v1)
                w = V(repeating: x1[d]); b10 = b10.addingProduct(w, v0); b11 = b11.addingProduct(w, v1)
                w = V(repeating: x1[d2]); b20 = b20.addingProduct(w, v0); b21 = b21.addingProduct(w, v1)
                w = V(repeating: x2[0]); c00 = c00.addingProduct(w, v0); c01 = c01.addingProduct(w, v1)
                w = V(repeating: x2[d]); c10 = c10.addingProduct(w, v0); c11 = c11.addingProduct(w, v1)
                w = V(repeating: x2[d2]); c20 = c20.addingProduct(w, v0); c21 = c21.addingProduct(w, v1)
                gp += s.gradientStride
                x0 += 1
            }
        }
        let o = s.outStride
        accumulate(a00, out); accumulate(a01, out + lanes)
        accumulate(a10, out + o); accumulate(a11, out + (o &+ lanes))
        accumulate(a20, out + 2 &* o); accumulate(a21, out + (2 &* o &+ lanes))
        accumulate(b00, out + 3 &* o); accumulate(b01, out + (3 &* o &+ lanes))
        accumulate(b10, out + 4 &* o); accumulate(b11, out + (4 &* o &+ lanes))
        accumulate(b20, out + 5 &* o); accumulate(b21, out + (5 &* o &+ lanes))
        accumulate(c00, out + 6 &* o); accumulate(c01, out + (6 &* o &+ lanes))
        accumulate(c10, out + 7 &* o); accumulate(c11, out + (7 &* o &+ lanes))
        accumulate(c20, out + 8 &* o); accumulate(c21, out + (8 &* o &+ lanes))
    }

    /// 3×3 taps × 1 vector of channels: 9 accumulators (any target).
    @inline(never)
    static func taps3x3x1<V: SIMD>(input x: UnsafePointer<V.Scalar>, gradient g: UnsafePointer<V.Scalar>,
                                    out: UnsafeMutablePointer<V.Scalar>, sweep s: Sweep, _: V.Type)
    where V.Scalar: BinaryFloatingPoint {
        var a0 = V(), a1 = V(), a2 = V(), b0 = V(), b1 = V(), b2 = V(), c0 = V(), c1 = V(), c2 = V()
        let d = s.columnStep, d2 = 2 &* s.columnStep
        var gp = g
        for row in 0..<s.rows {
            var x0 = x + row &* s.pitch
            for _ in 0..<s.columns {
                let v: V = loadVector(gp)
                let x1 = x0 + s.rowStep, x2 = x0 + 2 &* s.rowStep
                a0 = a0.addingProduct(V(repeating: x0[0]), v); a1 = a1.addingProduct(V(repeating: x0[d]), v)
                a2 = a2.addingProduct(V(repeating: x0[d2]), v); b0 = b0.addingProduct(V(repeating: x1[0]), v)
                b1 = b1.addingProduct(V(repeating: x1[d]), v); b2 = b2.addingProduct(V(repeating: x1[d2]), v)
                c0 = c0.addingProduct(V(repeating: x2[0]), v); c1 = c1.addingProduct(V(repeating: x2[d]), v)
                c2 = c2.addingProduct(V(repeating: x2[d2]), v)
                gp += s.gradientStride
                x0 += 1
            }
        }
        let o = s.outStride
        accumulate(a0, out); accumulate(a1, out + o); accumulate(a2, out + 2 &* o)
        accumulate(b0, out + 3 &* o); accumulate(b1, out + 4 &* o); accumulate(b2, out + 5 &* o)
        accumulate(c0, out + 6 &* o); accumulate(c1, out + 7 &* o); accumulate(c2, out + 8 &* o)
    }

    /// 5×5 taps × 1 vector of channels: 25 accumulators (32-register targets).
    @inline(never)
    static func taps5x5x1<V: SIMD>(input x: UnsafePointer<V.Scalar>, gradient g: UnsafePointer<V.Scalar>,
                                    out: UnsafeMutablePointer<V.Scalar>, sweep s: Sweep, _: V.Type)
    where V.Scalar: BinaryFloatingPoint {
        var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V()
        var b0 = V(), b1 = V(), b2 = V(), b3 = V(), b4 = V()
        var c0 = V(), c1 = V(), c2 = V(), c3 = V(), c4 = V()
        var e0 = V(), e1 = V(), e2 = V(), e3 = V(), e4 = V()
        var f0 = V(), f1 = V(), f2 = V(), f3 = V(), f4 = V()
        let d = s.columnStep, d2 = 2 &* d, d3 = 3 &* d, d4 = 4 &* d
        var gp = g
        for row in 0..<s.rows {
            var xa = x + row &* s.pitch
            for _ in 0..<s.columns {
                let v: V = loadVector(gp)
                let xb = xa + s.rowStep, xc = xa + 2 &* s.rowStep, xe = xa + 3 &* s.rowStep, xf = xa + 4 &* s.rowStep
                a0 = a0.addingProduct(V(repeating: xa[0]), v); a1 = a1.addingProduct(V(repeating: xa[d]), v)
                a2 = a2.addingProduct(V(repeating: xa[d2]), v); a3 = a3.addingProduct(V(repeating: xa[d3]), v)
                a4 = a4.addingProduct(V(repeating: xa[d4]), v)
                b0 = b0.addingProduct(V(repeating: xb[0]), v); b1 = b1.addingProduct(V(repeating: xb[d]), v)
                b2 = b2.addingProduct(V(repeating: xb[d2]), v); b3 = b3.addingProduct(V(repeating: xb[d3]), v)
                b4 = b4.addingProduct(V(repeating: xb[d4]), v)
                c0 = c0.addingProduct(V(repeating: xc[0]), v); c1 = c1.addingProduct(V(repeating: xc[d]), v)
                c2 = c2.addingProduct(V(repeating: xc[d2]), v); c3 = c3.addingProduct(V(repeating: xc[d3]), v)
                c4 = c4.addingProduct(V(repeating: xc[d4]), v)
                e0 = e0.addingProduct(V(repeating: xe[0]), v); e1 = e1.addingProduct(V(repeating: xe[d]), v)
                e2 = e2.addingProduct(V(repeating: xe[d2]), v); e3 = e3.addingProduct(V(repeating: xe[d3]), v)
                e4 = e4.addingProduct(V(repeating: xe[d4]), v)
                f0 = f0.addingProduct(V(repeating: xf[0]), v); f1 = f1.addingProduct(V(repeating: xf[d]), v)
                f2 = f2.addingProduct(V(repeating: xf[d2]), v); f3 = f3.addingProduct(V(repeating: xf[d3]), v)
                f4 = f4.addingProduct(V(repeating: xf[d4]), v)
                gp += s.gradientStride
                xa += 1
            }
        }
        let o = s.outStride
        accumulate(a0, out); accumulate(a1, out + o); accumulate(a2, out + 2 &* o)
        accumulate(a3, out + 3 &* o); accumulate(a4, out + 4 &* o)
        accumulate(b0, out + 5 &* o); accumulate(b1, out + 6 &* o); accumulate(b2, out + 7 &* o)
        accumulate(b3, out + 8 &* o); accumulate(b4, out + 9 &* o)
        accumulate(c0, out + 10 &* o); accumulate(c1, out + 11 &* o); accumulate(c2, out + 12 &* o)
        accumulate(c3, out + 13 &* o); accumulate(c4, out + 14 &* o)
        accumulate(e0, out + 15 &* o); accumulate(e1, out + 16 &* o); accumulate(e2, out + 17 &* o)
        accumulate(e3, out + 18 &* o); accumulate(e4, out + 19 &* o)
        accumulate(f0, out + 20 &* o); accumulate(f1, out + 21 &* o); accumulate(f2, out + 22 &* o)
        accumulate(f3, out + 23 &* o); accumulate(f4, out + 24 &* o)
    }
}
