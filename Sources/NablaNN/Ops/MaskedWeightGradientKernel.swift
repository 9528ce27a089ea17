import NablaTensor

/// One sweep of ``MaskedKernel``: `vectors` vectors `L` elements apart, the column-validity pattern
/// `masks` of `period` rows `rowStride` words apart (the sweep starts at row 0 and wraps).
struct MaskedSweep<Word> {
    var vectors: Int
    var masks: UnsafePointer<Word>
    var period: Int
    var rowStride: Int
}

/// The pattern row of the current vector during a sweep: row 0 at the start, the next one
/// `rowStride` words on per vector, back to row 0 after `period` rows.
struct MaskedPatternRow<Word> {
    let sweep: MaskedSweep<Word>
    private(set) var current: UnsafePointer<Word>
    private var phase = 0

    @inline(__always)
    init(_ sweep: MaskedSweep<Word>) {
        self.sweep = sweep
        current = sweep.masks
    }

    /// Moves to the next vector's pattern row.
    @inline(__always)
    mutating func advance() {
        phase &+= 1
        current += sweep.rowStride
        if phase == sweep.period { phase = 0; current = sweep.masks }
    }
}

/// A tile's four taps during a sweep: their input pointers, their mask columns, and the pattern row
/// of the current vector.
struct MaskedTaps<V: SIMD> where V.Scalar: BinaryFloatingPoint {
    let x0, x1, x2, x3: UnsafePointer<V.Scalar>
    let c0, c1, c2, c3: Int
    var row: MaskedPatternRow<V.MaskStorage.Scalar>

    @inline(__always)
    init(input x: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>, columns: UnsafePointer<Int>,
         sweep: MaskedSweep<V.MaskStorage.Scalar>) {
        (x0, x1, x2, x3) = (x + taps[0], x + taps[1], x + taps[2], x + taps[3])
        (c0, c1, c2, c3) = (columns[0], columns[1], columns[2], columns[3])
        row = MaskedPatternRow(sweep)
    }

    /// The four masked input vectors of the vector at `offset`.
    @inline(__always)
    func vectors(at offset: Int) -> (V, V, V, V) {
        let masks = row.current
        return (MaskedKernel.tapVector(x0 + offset, masks + c0), MaskedKernel.tapVector(x1 + offset, masks + c1),
                MaskedKernel.tapVector(x2 + offset, masks + c2), MaskedKernel.tapVector(x3 + offset, masks + c3))
    }

    /// Moves to the next vector's pattern row.
    @inline(__always)
    mutating func advance() { row.advance() }
}

/// The register tiles of the masked weight gradient (`MaskedWeightGradient.swift`): `mr` output
/// channels × `nt` taps, `sums[(m·ldo + t)·L ..< +L] += Σ_v d_m[v·L ..< +L] ⊙ select(mask_t(v), x[taps[t] +
/// v·L ..< +L], 0)` lane by lane, where `mask_t(v)` is the pattern row of vector `v` at word offset
/// `columns[t]`. Each tap's masked input vector is loaded once and multiplied by the `mr` channels'
/// upstream-gradient vectors.
enum MaskedKernel {
    /// The input vector at `x`, its bits ANDed with the mask words at `mask` (all ones or zero: the
    /// element or +0), one bitwise operation per vector.
    @inline(__always)
    static func tapVector<V: SIMD>(_ x: UnsafePointer<V.Scalar>, _ mask: UnsafePointer<V.MaskStorage.Scalar>) -> V {
        let bits = UnsafeRawPointer(x).loadUnaligned(as: V.MaskStorage.self)
        return unsafeBitCast(bits & UnsafeRawPointer(mask).loadUnaligned(as: V.MaskStorage.self), to: V.self)
    }

    @inline(__always)
    static func load<V: SIMD>(_ sums: UnsafeMutablePointer<V.Scalar>, _ m: Int, _ t: Int, _ ldo: Int) -> V {
        loadVector(UnsafePointer(sums + (m &* ldo &+ t) &* V.scalarCount))
    }

    @inline(__always)
    static func store<V: SIMD>(_ value: V, _ sums: UnsafeMutablePointer<V.Scalar>, _ m: Int, _ t: Int, _ ldo: Int) {
        storeVector(value, sums + (m &* ldo &+ t) &* V.scalarCount)
    }

    /// 6 channels × 4 taps: 24 accumulators + 4 masked inputs + 1 gradient of 32 registers.
    @inline(never)
    static func tile6x4<V: SIMD>(
        _ d: (UnsafePointer<V.Scalar>, UnsafePointer<V.Scalar>, UnsafePointer<V.Scalar>, UnsafePointer<V.Scalar>,
              UnsafePointer<V.Scalar>, UnsafePointer<V.Scalar>),
        input x: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>, columns: UnsafePointer<Int>,
        sweep: MaskedSweep<V.MaskStorage.Scalar>, sums: UnsafeMutablePointer<V.Scalar>, ldo: Int, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var s00: V = load(sums, 0, 0, ldo), s01: V = load(sums, 0, 1, ldo), s02: V = load(sums, 0, 2, ldo), s03: V = load(sums, 0, 3, ldo)
        var s10: V = load(sums, 1, 0, ldo), s11: V = load(sums, 1, 1, ldo), s12: V = load(sums, 1, 2, ldo), s13: V = load(sums, 1, 3, ldo)
        var s20: V = load(sums, 2, 0, ldo), s21: V = load(sums, 2, 1, ldo), s22: V = load(sums, 2, 2, ldo), s23: V = load(sums, 2, 3, ldo)
        var s30: V = load(sums, 3, 0, ldo), s31: V = load(sums, 3, 1, ldo), s32: V = load(sums, 3, 2, ldo), s33: V = load(sums, 3, 3, ldo)
        var s40: V = load(sums, 4, 0, ldo), s41: V = load(sums, 4, 1, ldo), s42: V = load(sums, 4, 2, ldo), s43: V = load(sums, 4, 3, ldo)
        var s50: V = load(sums, 5, 0, ldo), s51: V = load(sums, 5, 1, ldo), s52: V = load(sums, 5, 2, ldo), s53: V = load(sums, 5, 3, ldo)
        var inputs = MaskedTaps<V>(input: x, taps: taps, columns: columns, sweep: sweep)
        let lanes = V.scalarCount
        var offset = 0
        for _ in 0..<sweep.vectors {
            let (v0, v1, v2, v3) = inputs.vectors(at: offset)
            var a: V = loadVector(d.0 + offset)
            s00 = s00.addingProduct(a, v0); s01 = s01.addingProduct(a, v1); s02 = s02.addingProduct(a, v2); s03 = s03.addingProduct(a, v3)
            a = loadVector(d.1 + offset)
            s10 = s10.addingProduct(a, v0); s11 = s11.addingProduct(a, v1); s12 = s12.addingProduct(a, v2); s13 = s13.addingProduct(a, v3)
            a = loadVector(d.2 + offset)
            s20 = s20.addingProduct(a, v0); s21 = s21.addingProduct(a, v1); s22 = s22.addingProduct(a, v2); s23 = s23.addingProduct(a, v3)
            a = loadVector(d.3 + offset)
            s30 = s30.addingProduct(a, v0); s31 = s31.addingProduct(a, v1); s32 = s32.addingProduct(a, v2); s33 = s33.addingProduct(a, v3)
            a = loadVector(d.4 + offset)
            s40 = s40.addingProduct(a, v0); s41 = s41.addingProduct(a, v1); s42 = s42.addingProduct(a, v2); s43 = s43.addingProduct(a, v3)
            a = loadVector(d.5 + offset)
            s50 = s50.addingProduct(a, v0); s51 = s51.addingProduct(a, v1); s52 = s52.addingProduct(a, v2); s53 = s53.addingProduct(a, v3)
            offset &+= lanes
            inputs.advance()
        }
        store(s00, sums, 0, 0, ldo); store(s01, sums, 0, 1, ldo); store(s02, sums, 0, 2, ldo); store(s03, sums, 0, 3, ldo)
        store(s10, sums, 1, 0, ldo); store(s11, sums, 1, 1, ldo); store(s12, sums, 1, 2, ldo); store(s13, sums, 1, 3, ldo)
        store(s20, sums, 2, 0, ldo); store(s21, sums, 2, 1, ldo); store(s22, sums, 2, 2, ldo); store(s23, sums, 2, 3, ldo)
        store(s30, sums, 3, 0, ldo); store(s31, sums, 3, 1, ldo); store(s32, sums, 3, 2, ldo); store(s33, sums, 3, 3, ldo)
        store(s40, sums, 4, 0, ldo); store(s41, sums, 4, 1, ldo); store(s42, sums, 4, 2, ldo); store(s43, sums, 4, 3, ldo)
        store(s50, sums, 5, 0, ldo); store(s51, sums, 5, 1, ldo); store(s52, sums, 5, 2, ldo); store(s53, sums, 5, 3, ldo)
    }

    /// 2 channels × 4 taps: 8 accumulators + 4 masked inputs + 1 gradient of 16 registers.
    @inline(never)
    static func tile2x4<V: SIMD>(
        _ d: (UnsafePointer<V.Scalar>, UnsafePointer<V.Scalar>),
        input x: UnsafePointer<V.Scalar>, taps: UnsafePointer<Int>, columns: UnsafePointer<Int>,
        sweep: MaskedSweep<V.MaskStorage.Scalar>, sums: UnsafeMutablePointer<V.Scalar>, ldo: Int, _: V.Type
    ) where V.Scalar: BinaryFloatingPoint {
        var s00: V = load(sums, 0, 0, ldo), s01: V = load(sums, 0, 1, ldo), s02: V = load(sums, 0, 2, ldo), s03: V = load(sums, 0, 3, ldo)
        var s10: V = load(sums, 1, 0, ldo), s11: V = load(sums, 1, 1, ldo), s12: V = load(sums, 1, 2, ldo), s13: V = load(sums, 1, 3, ldo)
        var inputs = MaskedTaps<V>(input: x, taps: taps, columns: columns, sweep: sweep)
        let lanes = V.scalarCount
        var offset = 0
        for _ in 0..<sweep.vectors {
            let (v0, v1, v2, v3) = inputs.vectors(at: offset)
            var a: V = loadVector(d.0 + offset)
            s00 = s00.addingProduct(a, v0); s01 = s01.addingProduct(a, v1); s02 = s02.addingProduct(a, v2); s03 = s03.addingProduct(a, v3)
            a = loadVector(d.1 + offset)
            s10 = s10.addingProduct(a, v0); s11 = s11.addingProduct(a, v1); s12 = s12.addingProduct(a, v2); s13 = s13.addingProduct(a, v3)
            offset &+= lanes
            inputs.advance()
        }
        store(s00, sums, 0, 0, ldo); store(s01, sums, 0, 1, ldo); store(s02, sums, 0, 2, ldo); store(s03, sums, 0, 3, ldo)
        store(s10, sums, 1, 0, ldo); store(s11, sums, 1, 1, ldo); store(s12, sums, 1, 2, ldo); store(s13, sums, 1, 3, ldo)
    }
}

extension DirectVector {
    /// `weightGradient[o][k] = Σ_n Σ_q upstream[n][o][q]·X_n[tap(k) + q]` with masked taps (overwritten;
    /// see ``DirectConvolution/masksColumns(_:)``'s extension), the batch split over `workers` cores.
    static func maskedWeightGradient(
        _ layout: DirectConvolutionLayout, batch: Int, input: UnsafePointer<Scalar>,
        upstream: UnsafePointer<Scalar>, outChannels: Int, weightGradient: UnsafeMutablePointer<Scalar>,
        workers: Int, workspace: ConvolutionWorkspace
    ) {
        precondition(DirectConvolution.fitsColumnMasks(layout) && layout.lanes == scalarCount && outChannels >= 1,
                     "direct convolution: invalid layout \(layout)")
        typealias Word = MaskStorage.Scalar
        let geometry = MaskedGradientLayout(layout), lanes = scalarCount
        let (mr, nt) = DirectConvolution.maskedTile(channels: outChannels, depth: layout.depth)
        let depth = layout.depth, depthPadded = (depth + nt - 1) / nt * nt, rowBlocks = (outChannels + mr - 1) / mr
        let sumsCount = paddedToCacheLine(rowBlocks * mr * depthPadded * lanes)
        let full = geometry.fullVectors, hasTail = geometry.tailPixels > 0
        let tailCount = hasTail ? paddedToCacheLine(outChannels * lanes) : 0
        let workerCount = sumsCount + geometry.bufferCount + tailCount
        let outPlane = layout.outPlane, outSample = outChannels * outPlane
        let inSample = layout.channels * layout.height * layout.width
        let rowStride = geometry.maskColumns * lanes, patternRows = geometry.period + 1
        workspace.withBuffer(of: Int.self, count: 2 * depthPadded) { taps in
            let columns = taps + depthPadded
            for k in 0..<depthPadded {
                // Padding taps read the first element and are always masked.
                let tap = k < depth ? geometry.tap(k) : (offset: 0, column: layout.kernelWidth)
                taps[k] = geometry.front + tap.offset
                columns[k] = tap.column * lanes
            }
            workspace.withBuffer(of: Word.self, count: patternRows * rowStride) { masks in
                geometry.writeMasks(masks)
                geometry.writeMasks(masks + geometry.period * rowStride, tail: true)
                let pattern = MaskedSweep(vectors: full, masks: UnsafePointer(masks), period: geometry.period, rowStride: rowStride)
                let tailPattern = MaskedSweep(vectors: 1, masks: UnsafePointer(masks + geometry.period * rowStride),
                                              period: 1, rowStride: rowStride)
                workspace.withBuffer(of: Scalar.self, count: workers * workerCount) { scratch in
                    runOnWorkers(workers, count: batch) { range, worker in
                        let sums = scratch + worker * workerCount, buffer = sums + sumsCount, tail = buffer + geometry.bufferCount
                        sums.update(repeating: 0, count: sumsCount)
                        geometry.clear(buffer)
                        for n in range {
                            geometry.copy(input + n * inSample, into: buffer)
                            let dy = upstream + n * outSample
                            if hasTail {
                                tail.update(repeating: 0, count: tailCount)
                                for o in 0..<outChannels {
                                    copySpan(tail + o * lanes, dy + (o * outPlane + full * lanes), count: geometry.tailPixels)
                                }
                            }
                            for rowBlock in 0..<rowBlocks {
                                // Channels past O repeat the last one; their rows of the sums are dropped.
                                func channel(_ m: Int, _ base: UnsafePointer<Scalar>, _ stride: Int) -> UnsafePointer<Scalar> {
                                    base + Swift.min(rowBlock * mr + m, outChannels - 1) * stride
                                }
                                for tapBlock in Swift.stride(from: 0, to: depthPadded, by: nt) {
                                    let target = sums + (rowBlock * mr * depthPadded + tapBlock) * lanes
                                    func sweep(_ d: UnsafePointer<Scalar>, _ stride: Int, _ x: UnsafePointer<Scalar>,
                                               _ pattern: MaskedSweep<Word>) {
                                        switch (mr, nt) {
                                        case (6, 2):
                                            MaskedKernel.tile6x2(
                                                (channel(0, d, stride), channel(1, d, stride), channel(2, d, stride),
                                                 channel(3, d, stride), channel(4, d, stride), channel(5, d, stride)),
                                                input: x, taps: taps + tapBlock, columns: columns + tapBlock, sweep: pattern,
                                                sums: target, ldo: depthPadded, Self.self)
                                        case (6, 4):
                                            MaskedKernel.tile6x4(
                                                (channel(0, d, stride), channel(1, d, stride), channel(2, d, stride),
                                                 channel(3, d, stride), channel(4, d, stride), channel(5, d, stride)),
                                                input: x, taps: taps + tapBlock, columns: columns + tapBlock, sweep: pattern,
                                                sums: target, ldo: depthPadded, Self.self)
                                        case (2, 4):
                                            MaskedKernel.tile2x4((channel(0, d, stride), channel(1, d, stride)),
                                                                 input: x, taps: taps + tapBlock, columns: columns + tapBlock,
                                                                 sweep: pattern, sums: target, ldo: depthPadded, Self.self)
                                        default:
                                            preconditionFailure("masked weight gradient: no register tile \(mr)×\(nt)")
                                        }
                                    }
                                    if full > 0 { sweep(dy, outPlane, UnsafePointer(buffer), pattern) }
                                    if hasTail { sweep(UnsafePointer(tail), lanes, UnsafePointer(buffer + full * lanes), tailPattern) }
                                }
                            }
                        }
                    }
                    // ∂W = Σ over workers, in worker order, of each worker's lane sums.
                    for o in 0..<outChannels {
                        for k in 0..<depth {
                            func lanesOf(_ worker: Int) -> Scalar {
                                laneSum(loadVector(UnsafePointer(scratch + worker * workerCount + (o * depthPadded + k) * lanes)) as Self)
                            }
                            var sum = lanesOf(0)
                            for worker in 1..<Swift.max(1, workers) { sum += lanesOf(worker) }
                            weightGradient[o * depth + k] = sum
                        }
                    }
                }
            }
        }
    }
}
