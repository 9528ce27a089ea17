import NablaTensor

/// The weight gradient of a 3×3 unit-stride layer on Winograd's F(2×2, 3×3) or F(4×4, 3×3) (Lavin &
/// Gray 2016): the transpose of the forward pass `Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A` (``WinogradConvolution``)
/// in `g`,
///
///     ∂g_kc = Gᵀ [ Σ_n Σ_tiles (A ∂Y_k Aᵀ) ⊙ (Bᵀ d_c B) ] G,
///
/// with `∂Y_k` the `m × m` tile of the upstream gradient (zero past the output's edge) and `d_c` the
/// tile's `(m + 2) × (m + 2)` input patch. The sum in brackets is `P = (m + 2)²` matrix products with the
/// tiles as the inner dimension, `M_ξ[c][k] = Σ_t V_ξ[c][t]·Ug_ξ[t][k]` (`V` the forward pass's
/// transformed patches, `Ug` the transformed gradient tiles): per `m × m` outputs and channel pair, 16
/// multiply-adds for F(2×2) and 36 for F(4×4) where the direct sum takes `9m²` (2.25× and 4× fewer).
///
/// Rounding: F(2×2)'s `Bᵀ`, `A` and `G` only add, subtract and halve, so its sums differ from the direct
/// sum's only in which products are added together; F(4×4)'s scale by up to 8 before they cancel, and
/// `Gᵀ M G` (sixths) is computed in `Double` and rounded once. On a 64 → 64 layer the largest Float error
/// against the exact result, as a share of its RMS, is 1.3e-6 for F(2×2) and 9.1e-6 for F(4×4), against
/// the direct sum's 1.6e-6 (`WinogradConvolutionTests`). As in the direct weight gradient, each worker
/// sums its share of the tiles (in chunks of a size fixed by the shape) and the partial sums are added
/// in worker order: the bits depend on the number of cores.
enum WinogradWeightGradient {
    /// `∂W = Σ_n ∂y_n ⋆ x_n` for `g` (``WinogradConvolution/applies(to:)``), overwriting `∂W`.
    static func compute<Scalar: TensorScalar>(
        input x: UnsafePointer<Scalar>, upstream gy: UnsafePointer<Scalar>, weightGradient dw: UnsafeMutablePointer<Scalar>,
        geometry g: Convolution2DGeometry, tileSize: Int = 2, workspace: ConvolutionWorkspace
    ) {
        precondition(WinogradConvolution.applies(to: g), "winograd weight gradient: geometry does not apply")
        func go<V: DirectVector>(_: V.Type) {
            V.winogradWeightGradient(WinogradShape(forward: g, tileSize: tileSize), batch: g.batch,
                                     input: UnsafeRawPointer(x).assumingMemoryBound(to: V.Scalar.self),
                                     upstream: UnsafeRawPointer(gy).assumingMemoryBound(to: V.Scalar.self),
                                     weightGradient: UnsafeMutableRawPointer(dw).assumingMemoryBound(to: V.Scalar.self),
                                     workers: g.workerCount, workspace: workspace)
        }
        switch DirectConvolution.vectorKind(Scalar.self) {
        case .float16: go(SIMD16<Float>.self)
        case .float8: go(SIMD8<Float>.self)
        case .float4: go(SIMD4<Float>.self)
        case .double8: go(SIMD8<Double>.self)
        case .double4: go(SIMD4<Double>.self)
        case .double2: go(SIMD2<Double>.self)
        }
    }

    /// The register tiles the products run on for `vectors` vectors of output channels, and the
    /// multiple the input channels are padded to so that every tile's channels exist: groups of four
    /// vectors on ``OuterKernel/row3x4(input:gradient:out:sweep:_:)`` (3 channels), a pair on
    /// ``OuterKernel/channelPairRow3x2(input:channelStride:gradient:out:outChannelStride:sweep:_:)``
    /// (6), a last single one on ``OuterKernel/taps3x3x1(input:gradient:out:sweep:_:)`` (9).
    static func channelMultiple(vectors: Int) -> Int {
        var multiple = 1
        /// Also a multiple of `group`: their least common multiple.
        func include(_ group: Int) { multiple = multiple / gcd(multiple, group) * group }
        if vectors >= 4 { include(3) }
        if vectors % 4 >= 2 { include(6) }
        if vectors % 2 == 1 { include(9) }
        return multiple
    }
}

/// The driver of ``WinogradWeightGradient``. Units of work are the forward pass's (tile rows of one
/// sample, ``WinogradShape/tileRowsPerVector(lanes:)``), split over the workers; each worker walks its
/// units in chunks whose `V` (`[P][C'][T]`, `C'` the input channels padded to the product tiles'
/// multiple) and `Ug` (`[P][T][K']`, `K'` the output channels padded to whole vectors) stay in its L2
/// (``WinogradConvolution/chunkBytes``). Per chunk:
///
/// 1. `V_ξ[c][t]` by the forward pass's input transform, from the sample's zero-bordered grid
///    (``WinogradGrid``);
/// 2. `Ug_ξ[t][k] = (A ∂Y_k Aᵀ)[i][j]`, output channels in the lanes, from the upstream gradient
///    transposed to `[pixel][K']` (``transposeChannels(_:channels:pixels:into:stride:)``) once per sample;
/// 3. `M_ξ[c][k] += Σ_t V_ξ[c][t]·Ug_ξ[t][k]` in the worker's partial sum, on the outer-product tiles of
///    the direct weight gradient (``OuterKernel``): the tiles' "taps" are `V`'s channel rows, their pixels
///    the chunk's tiles — no horizontal sums.
///
/// Then the partials are added in worker order and `∂W_kc = Gᵀ M G`.
extension DirectVector {
    static func winogradWeightGradient(
        _ shape: WinogradShape, batch: Int, input: UnsafePointer<Scalar>, upstream: UnsafePointer<Scalar>,
        weightGradient: UnsafeMutablePointer<Scalar>, workers: Int, workspace: ConvolutionWorkspace
    ) {
        precondition(shape.tileSize == 2 || shape.tileSize == 4, "winograd weight gradient: F(2×2) or F(4×4) only")
        let lanes = scalarCount, channels = shape.channels, outChannels = shape.outChannels
        let vectors = (outChannels + lanes - 1) / lanes, paddedOut = vectors * lanes
        let multiple = WinogradWeightGradient.channelMultiple(vectors: vectors)
        let paddedChannels = (channels + multiple - 1) / multiple * multiple
        let rowsPerUnit = shape.tileRowsPerVector(lanes: lanes)
        let unitTiles = rowsPerUnit * shape.tileColumns, unitsPerSample = shape.tileRows / rowsPerUnit
        let units = batch * unitsPerSample
        let points = shape.points, perTile = points * (paddedChannels + paddedOut) * MemoryLayout<Scalar>.stride
        let unitsPerChunk = Swift.min(units, Swift.max(1, WinogradConvolution.chunkBytes / perTile / unitTiles))
        let chunkTiles = unitsPerChunk * unitTiles
        // The input transform's last vector may run `L − 1` tiles past the chunk.
        let pitch = chunkTiles + lanes
        let vStride = oddCacheLines(paddedChannels * pitch, of: Scalar.self)
        let uStride = oddCacheLines(chunkTiles * paddedOut, of: Scalar.self)
        let grid = WinogradGrid(shape, lanes: lanes)
        let outPlane = shape.outHeight * shape.outWidth, outSample = outChannels * outPlane
        let inSample = channels * shape.height * shape.width
        let partialStride = paddedChannels * paddedOut, partialCount = paddedToCacheLine(points * partialStride)
        let vCount = paddedToCacheLine(points * vStride), uCount = paddedToCacheLine(points * uStride)
        let transposedCount = paddedToCacheLine(outPlane * paddedOut)
        // F(4×4, 3×3)'s transforms pass a patch or a gradient tile through a scratch of 36 vectors.
        let transformScratch = shape.tileSize == 4 ? paddedToCacheLine(36 * lanes) : 0
        let perWorker = partialCount + vCount + uCount + grid.count + transposedCount + transformScratch
        workspace.withBuffer(of: Scalar.self, count: workers * perWorker) { scratch in
            runOnWorkers(workers, count: units) { range, worker in
                let partial = scratch + worker * perWorker, v = partial + partialCount, ug = v + vCount
                let padded = ug + uCount, transposed = padded + grid.count, transformScratch = transposed + transposedCount
                partial.update(repeating: 0, count: partialCount)
                // The padding channels' rows of `V` stay zero; the grid's borders are written once.
                v.update(repeating: 0, count: vCount)
                zeroSpan(padded, count: grid.count)
                var current = -1
                for first in Swift.stride(from: range.lowerBound, to: range.upperBound, by: unitsPerChunk) {
                    let count = Swift.min(unitsPerChunk, range.upperBound - first)
                    for u in 0..<count {
                        let sample = (first + u) / unitsPerSample, tileRow = (first + u) % unitsPerSample * rowsPerUnit
                        if sample != current {
                            grid.copyInterior(input + sample * inSample, into: padded)
                            transposeChannels(upstream + sample * outSample, channels: outChannels, pixels: outPlane,
                                              into: transposed, stride: paddedOut)
                            current = sample
                        }
                        if shape.tileSize == 4 {
                            transformInput4(shape, tileRow: tileRow, rows: rowsPerUnit, grid: grid, padded: UnsafePointer(padded),
                                            into: v + u * unitTiles, pitch: pitch, xiStride: vStride, scratch: transformScratch)
                            transformGradient4(shape, tileRow: tileRow, rows: rowsPerUnit, gradient: UnsafePointer(transposed),
                                               stride: paddedOut, into: ug + u * unitTiles * paddedOut, xiStride: uStride,
                                               scratch: transformScratch)
                        } else {
                            transformInput(shape, tileRow: tileRow, rows: rowsPerUnit, grid: grid, padded: UnsafePointer(padded),
                                           into: v + u * unitTiles, pitch: pitch, xiStride: vStride)
                            transformGradient(shape, tileRow: tileRow, rows: rowsPerUnit, gradient: UnsafePointer(transposed),
                                              stride: paddedOut, into: ug + u * unitTiles * paddedOut, xiStride: uStride)
                        }
                    }
                    let tiles = count * unitTiles
                    for xi in 0..<points {
                        accumulateProducts(patches: UnsafePointer(v + xi * vStride), pitch: pitch,
                                           gradients: UnsafePointer(ug + xi * uStride), tiles: tiles,
                                           channels: paddedChannels, vectors: vectors,
                                           into: partial + xi * partialStride)
                    }
                }
            }
            sumPartials(UnsafePointer(scratch), workers: workers, workerStride: perWorker, partialStride: partialStride,
                        rowStride: paddedOut, channels: channels, outChannels: outChannels, tileSize: shape.tileSize,
                        into: weightGradient)
        }
    }

    /// `∂W[k][c] = Gᵀ M_kc G` (3 × 3, `[K][C][3][3]`, overwritten), where `M_kc[ξ]` is the sum of the
    /// workers' `partials[worker·workerStride + ξ·partialStride + c·rowStride + k]` in worker order and
    /// `G` is F(2×2, 3×3)'s or F(4×4, 3×3)'s (``weightTransform4(_:into:)``).
    private static func sumPartials(_ partials: UnsafePointer<Scalar>, workers: Int, workerStride: Int, partialStride: Int,
                                    rowStride: Int, channels: Int, outChannels: Int, tileSize: Int,
                                    into weightGradient: UnsafeMutablePointer<Scalar>) {
        let points = (tileSize + 2) * (tileSize + 2)
        withUnsafeTemporaryAllocation(of: Scalar.self, capacity: points) { buffer in
            let m = buffer.baseAddress!
            // Channel by channel, the output channels inner: consecutive `k` read the same lines of each ξ.
            for c in 0..<channels {
                for k in 0..<outChannels {
                    for xi in 0..<points {
                        let first = partials + (xi * partialStride + c * rowStride + k)
                        var sum = first[0]
                        for worker in 1..<Swift.max(1, workers) { sum += first[worker * workerStride] }
                        m[xi] = sum
                    }
                    let target = weightGradient + (k * channels + c) * 9
                    if tileSize == 4 { weightTransform4(UnsafePointer(m), into: target) } else { weightTransform2(UnsafePointer(m), into: target) }
                }
            }
        }
    }

    /// `Gᵀ M G` for F(2×2, 3×3)'s `Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]` and a 4 × 4 `M` (`m[4·i + j]`),
    /// row-major 3 × 3 into `target`; the halves are exact.
    private static func weightTransform2(_ m: UnsafePointer<Scalar>, into target: UnsafeMutablePointer<Scalar>) {
        let half: Scalar = 0.5
        /// `Gᵀ x` for a column (or row) `x` of four: `(x0 + (x1 + x2)/2, (x1 − x2)/2, (x1 + x2)/2 + x3)`.
        func gt(_ x0: Scalar, _ x1: Scalar, _ x2: Scalar, _ x3: Scalar) -> (Scalar, Scalar, Scalar) {
            let s = (x1 + x2) * half
            return (x0 + s, (x1 - x2) * half, s + x3)
        }
        // Gᵀ M by columns, then (Gᵀ M) G by rows.
        let c0 = gt(m[0], m[4], m[8], m[12]), c1 = gt(m[1], m[5], m[9], m[13])
        let c2 = gt(m[2], m[6], m[10], m[14]), c3 = gt(m[3], m[7], m[11], m[15])
        let row0 = gt(c0.0, c1.0, c2.0, c3.0), row1 = gt(c0.1, c1.1, c2.1, c3.1), row2 = gt(c0.2, c1.2, c2.2, c3.2)
        target[0] = row0.0; target[1] = row0.1; target[2] = row0.2
        target[3] = row1.0; target[4] = row1.1; target[5] = row1.2
        target[6] = row2.0; target[7] = row2.1; target[8] = row2.2
    }

    /// `Ug_ξ[t][k] = (A ∂Y_k Aᵀ)[i][j]` (ξ = 4·i + j, `A = [1 0; 1 1; 1 −1; 0 −1]`) for the tiles of tile
    /// rows `ty ..< ty + rows`, numbered as the input transform numbers them (`t = r·⌈Wo/2⌉ + tx`), from
    /// the upstream gradient transposed to `[pixel][stride]`; `ug` at the unit's first tile, `stride`
    /// apart per tile and `xiStride` per ξ. Pixels past the output's edge count as zeros.
    @inline(__always)
    private static func transformGradient(_ shape: WinogradShape, tileRow ty: Int, rows: Int, gradient: UnsafePointer<Scalar>,
                                          stride: Int, into ug: UnsafeMutablePointer<Scalar>, xiStride: Int) {
        let lanes = scalarCount, ho = shape.outHeight, wo = shape.outWidth
        for r in 0..<rows {
            let y = 2 * (ty + r), lowerRow = y + 1 < ho
            for tx in 0..<shape.tileColumns {
                let x = 2 * tx, rightColumn = x + 1 < wo
                let p = gradient + (y * wo + x) * stride, out = ug + (r * shape.tileColumns + tx) * stride
                for offset in Swift.stride(from: 0, to: stride, by: lanes) {
                    let a: Self = loadVector(p + offset)
                    let b: Self = rightColumn ? loadVector(p + (stride + offset)) : Self()
                    let c: Self = lowerRow ? loadVector(p + (wo * stride + offset)) : Self()
                    let d: Self = lowerRow && rightColumn ? loadVector(p + ((wo + 1) * stride + offset)) : Self()
                    // A ∂Y by rows (a, b), (a + c, b + d), (a − c, b − d), (−c, −d); each row (p, q) times Aᵀ is
                    // (p, p + q, p − q, −q).
                    func store(_ p: Self, _ q: Self, _ i: Int) {
                        let base = out + (4 * i * xiStride + offset)
                        storeVector(p, base); storeVector(p + q, base + xiStride)
                        storeVector(p - q, base + 2 * xiStride); storeVector(-q, base + 3 * xiStride)
                    }
                    store(a, b, 0); store(a + c, b + d, 1); store(a - c, b - d, 2); store(-c, -d, 3)
                }
            }
        }
    }

    /// `out[c·K' + k] += Σ_{t < tiles} patches[c·pitch + t]·gradients[t·K' + k]` for `c < channels` (a
    /// multiple of ``WinogradWeightGradient/channelMultiple(vectors:)``) and `K' = vectors·L`: the
    /// outer-product tiles with `V`'s channel rows as their taps (`pitch` apart) and the tiles as their pixels.
    private static func accumulateProducts(patches: UnsafePointer<Scalar>, pitch: Int, gradients: UnsafePointer<Scalar>,
                                           tiles: Int, channels: Int, vectors: Int, into out: UnsafeMutablePointer<Scalar>) {
        let lanes = scalarCount, rowLength = vectors * lanes
        // Taps `i·rowStep + j·columnStep` are channels `3·i + j` after the tile's first.
        let sweep = OuterKernel.Sweep(rows: 1, columns: tiles, pitch: 0, rowStep: 3 * pitch, columnStep: pitch,
                                      gradientStride: rowLength, outStride: rowLength)
        var w = 0
        while w + 4 <= vectors {
            for c in Swift.stride(from: 0, to: channels, by: 3) {
                OuterKernel.row3x4(input: patches + c * pitch, gradient: gradients + w * lanes,
                                   out: out + (c * rowLength + w * lanes), sweep: sweep, Self.self)
            }
            w += 4
        }
        if w + 2 <= vectors {
            for c in Swift.stride(from: 0, to: channels, by: 6) {
                OuterKernel.channelPairRow3x2(input: patches + c * pitch, channelStride: 3 * pitch,
                                              gradient: gradients + w * lanes, out: out + (c * rowLength + w * lanes),
                                              outChannelStride: 3 * rowLength, sweep: sweep, Self.self)
            }
            w += 2
        }
        if w < vectors {
            for c in Swift.stride(from: 0, to: channels, by: 9) {
                OuterKernel.taps3x3x1(input: patches + c * pitch, gradient: gradients + w * lanes,
                                      out: out + (c * rowLength + w * lanes), sweep: sweep, Self.self)
            }
        }
    }
}
