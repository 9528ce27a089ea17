import NablaTensor

/// The driver of ``WinogradConvolution``: transforms, the `P = (m + 2)²` matrix products on the broadcast
/// tiles, and the output transform, over chunks of tile rows (`m` the tile size: 2, `P = 16`, or 4,
/// `P = 36`, whose transforms are in `WinogradF4Transforms.swift`).
///
/// A unit of work is one tile row of one sample (`⌈Wo/m⌉` tiles), or two or four where they fill one
/// vector (``WinogradShape/tileRowsPerVector(lanes:)``). The units are split over the workers, and each
/// worker walks its units in chunks whose transformed patches `V` (`[P][C][T]`) and products `M`
/// (`[P][K'][T]`, `K'` rounded up to the tile's `mr`) stay in its L2 (``WinogradConvolution/chunkBytes``).
/// Per chunk:
///
/// 1. `V_ξ[c][t] = (Bᵀ d B)[i][j]`: each sample is copied once into the interior of a zero-bordered
///    grid (`C` planes of `m·⌈Ho/m⌉ + 2` rows of `m·⌈Wo/m⌉ + 2` columns, ``WinogradGrid``), and `L` tiles of
///    a tile row at a time take their columns from each of their `m + 2` rows — F(2×2) from unshuffled
///    pairs of loads, F(4×4) from plain loads of the row's column phases;
/// 2. `M_ξ = U_ξ·V_ξ` for ξ = 0..<P on ``BroadcastKernel``'s `mr × nv` tile, depth `C`;
/// 3. `y = b + Aᵀ M A`, `L` tiles at a time, the `m` columns of each tile interleaved into the row.
extension DirectVector {
    static func winogradCorrelation(
        _ shape: WinogradShape, batch: Int, input: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>?,
        output: UnsafeMutablePointer<Scalar>, workers: Int, workspace: ConvolutionWorkspace,
        weight: (_ out: Int, _ channel: Int, _ row: Int, _ column: Int) -> Scalar
    ) {
        let lanes = scalarCount, channels = shape.channels, outChannels = shape.outChannels
        let tile = DirectConvolution.forwardTile(channels: outChannels)
        let (mr, nv) = tile, blocks = (outChannels + mr - 1) / mr, paddedOut = blocks * mr
        let group = nv * lanes
        let rowsPerUnit = shape.tileRowsPerVector(lanes: lanes)
        let unitTiles = rowsPerUnit * shape.tileColumns, unitsPerSample = shape.tileRows / rowsPerUnit
        let units = batch * unitsPerSample
        let points = shape.points, perTile = points * (channels + paddedOut) * MemoryLayout<Scalar>.stride
        // Whole groups of the product's tile per chunk (a chunk of 4 units of 16 tiles would compute 2
        // groups of 48 for 64 tiles): `unitsPerGroups` units make whole groups. At least one whole set,
        // even past the budget: deep layers would otherwise multiply mostly unused columns.
        let unitsPerGroups = group / gcd(group, unitTiles), budget = WinogradConvolution.chunkBytes / perTile / unitTiles
        let unitsPerChunk = Swift.min(units, Swift.max(1, budget / unitsPerGroups) * unitsPerGroups)
        let groupsPerChunk = (unitsPerChunk * unitTiles + group - 1) / group
        // A vector of the transforms may run `L − 1` tiles past the chunk's last (into columns nothing reads).
        let pitch = groupsPerChunk * group + lanes
        let grid = WinogradGrid(shape, lanes: lanes)
        // Each ξ's block of `V` and of `M` starts an odd number of cache lines after the previous one: the
        // transforms load or store one vector per ξ, and at a block size that is a multiple of 4 KiB
        // (AVX2, convnet 32→32: 32 channels × a pitch of 32) all 36 fell into one 8-way set of the L1
        // and evicted each other — the transforms took twice the products' time.
        let vStride = oddCacheLines(channels * pitch, of: Scalar.self), mStride = oddCacheLines(paddedOut * pitch, of: Scalar.self)
        let transformed = points * vStride, products = points * mStride
        // F(4×4, 3×3)'s transforms pass the 36 vectors of a patch or product through a scratch of their own.
        let transformScratch = shape.tileSize == 4 ? paddedToCacheLine(points * lanes) : 0
        let perWorker = paddedToCacheLine(transformed) + paddedToCacheLine(products) + grid.count + transformScratch
        workspace.withBuffer(of: Scalar.self, count: points * paddedOut * channels) { packed in
            if shape.tileSize == 4 {
                packWinograd4Weights(outChannels: outChannels, channels: channels, mr: mr, into: packed, weight: weight)
            } else {
                packWinogradWeights(outChannels: outChannels, channels: channels, mr: mr, into: packed, weight: weight)
            }
            workspace.withBuffer(of: Int.self, count: channels + groupsPerChunk * nv) { taps in
                for c in 0..<channels { taps[c] = c * pitch }
                let offsets = UnsafePointer(taps + channels)
                for v in 0..<(groupsPerChunk * nv) { taps[channels + v] = v * lanes }
                workspace.withBuffer(of: Scalar.self, count: workers * perWorker) { scratch in
                    runOnWorkers(workers, count: units) { range, worker in
                        let v = scratch + worker * perWorker
                        let m = v + paddedToCacheLine(transformed), padded = m + paddedToCacheLine(products)
                        let scratch = padded + grid.count
                        // The grid's zero borders are written once; each sample fills only the interior.
                        zeroSpan(padded, count: grid.count)
                        var gridSample = -1
                        for first in Swift.stride(from: range.lowerBound, to: range.upperBound, by: unitsPerChunk) {
                            let count = Swift.min(unitsPerChunk, range.upperBound - first)
                            for u in 0..<count {
                                let sample = (first + u) / unitsPerSample
                                if sample != gridSample {
                                    grid.copyInterior(input + sample * channels * shape.height * shape.width, into: padded)
                                    gridSample = sample
                                }
                                let tileRow = (first + u) % unitsPerSample * rowsPerUnit
                                if shape.tileSize == 4 {
                                    transformInput4(shape, tileRow: tileRow, rows: rowsPerUnit, grid: grid, padded: UnsafePointer(padded),
                                                    into: v + u * unitTiles, pitch: pitch, xiStride: vStride, scratch: scratch)
                                } else {
                                    transformInput(shape, tileRow: tileRow, rows: rowsPerUnit, grid: grid, padded: UnsafePointer(padded),
                                                   into: v + u * unitTiles, pitch: pitch, xiStride: vStride)
                                }
                            }
                            let groups = (count * unitTiles + group - 1) / group
                            for xi in 0..<points {
                                let source = UnsafePointer(v + xi * vStride)
                                for g in 0..<groups {
                                    for block in 0..<blocks {
                                        broadcastTile(tile, depth: channels,
                                                      weights: UnsafePointer(packed + (xi * blocks + block) * channels * mr),
                                                      taps: UnsafePointer(taps), input: source, inputOffsets: offsets + g * nv,
                                                      output: m + (xi * mStride + block * mr * pitch),
                                                      outputOffsets: offsets + g * nv, ldc: pitch, initial: nil)
                                    }
                                }
                            }
                            for u in 0..<count {
                                let sample = (first + u) / unitsPerSample, tileRow = (first + u) % unitsPerSample * rowsPerUnit
                                let target = output + sample * outChannels * shape.outHeight * shape.outWidth
                                if shape.tileSize == 4 {
                                    transformOutput4(shape, tileRow: tileRow, rows: rowsPerUnit, products: UnsafePointer(m + u * unitTiles),
                                                     pitch: pitch, outPitch: mStride, bias: bias, output: target, scratch: scratch)
                                } else {
                                    transformOutput(shape, tileRow: tileRow, rows: rowsPerUnit, products: UnsafePointer(m + u * unitTiles),
                                                    pitch: pitch, outPitch: mStride, bias: bias, output: target)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `U_ξ[k][c] = (G g_kc Gᵀ)[i][j]`, packed `[16][K'/mr][C][mr]` (zero rows past `K`).
    private static func packWinogradWeights(outChannels: Int, channels: Int, mr: Int, into packed: UnsafeMutablePointer<Scalar>,
                                            weight: (_ out: Int, _ channel: Int, _ row: Int, _ column: Int) -> Scalar) {
        let blocks = (outChannels + mr - 1) / mr, half: Scalar = 0.5
        packed.update(repeating: 0, count: 16 * blocks * mr * channels)
        /// `(x0, (x0 + x1 + x2)/2, (x0 − x1 + x2)/2, x2)`: a column of G applied to three values.
        func g(_ x0: Scalar, _ x1: Scalar, _ x2: Scalar) -> (Scalar, Scalar, Scalar, Scalar) {
            (x0, (x0 + x1 + x2) * half, (x0 - x1 + x2) * half, x2)
        }
        for k in 0..<outChannels {
            for c in 0..<channels {
                // G g (4 × 3, by columns), then (G g) Gᵀ (4 × 4, by rows).
                let c0 = g(weight(k, c, 0, 0), weight(k, c, 1, 0), weight(k, c, 2, 0))
                let c1 = g(weight(k, c, 0, 1), weight(k, c, 1, 1), weight(k, c, 2, 1))
                let c2 = g(weight(k, c, 0, 2), weight(k, c, 1, 2), weight(k, c, 2, 2))
                let target = packed + (k / mr * channels + c) * mr + k % mr, xiStride = blocks * channels * mr
                func store(_ r: Int, _ u: (Scalar, Scalar, Scalar, Scalar)) {
                    target[(4 * r) * xiStride] = u.0; target[(4 * r + 1) * xiStride] = u.1
                    target[(4 * r + 2) * xiStride] = u.2; target[(4 * r + 3) * xiStride] = u.3
                }
                store(0, g(c0.0, c1.0, c2.0)); store(1, g(c0.1, c1.1, c2.1))
                store(2, g(c0.2, c1.2, c2.2)); store(3, g(c0.3, c1.3, c2.3))
            }
        }
    }

    /// `V_ξ[c][tx] = (Bᵀ d B)[i][j]` for the tiles of tile rows `ty ..< ty + rows` of the sample in
    /// `padded` (with `rows` of 2 or 4, each tile row fills `L/rows` lanes of one vector), `v` at the
    /// unit's first column, `pitch` apart per channel and `xiStride` (≥ `C·pitch`) per ξ. A last vector
    /// that runs past the tile row writes `V` columns the next unit overwrites, or that no product reads.
    @inline(__always)
    static func transformInput(_ shape: WinogradShape, tileRow ty: Int, rows: Int, grid: WinogradGrid,
                                       padded: UnsafePointer<Scalar>, into v: UnsafeMutablePointer<Scalar>, pitch: Int,
                                       xiStride: Int) {
        let lanes = scalarCount, channels = shape.channels, rowLength = grid.rowLength
        // An unshuffled pair of loads holds 2·L columns: one tile row's, or the first 2·L/rows of `rows`
        // tile rows (2·rowLength apart), one after the other.
        let tileRowStride = 2 * rowLength
        @inline(__always) func pair(_ q: UnsafePointer<Scalar>) -> (even: Self, odd: Self) {
            switch rows {
            case 1: return Self.unshuffle(loadVector(q), loadVector(q + lanes))
            case 2: return Self.unshuffle(loadVector(q), loadVector(q + tileRowStride))
            default:
                return Self.unshuffle(Self.load(halves: q, q + tileRowStride),
                                      Self.load(halves: q + 2 * tileRowStride, q + 3 * tileRowStride))
            }
        }
        for c in 0..<channels {
            let top = padded + c * grid.plane + 2 * ty * rowLength
            let out = v + c * pitch
            for tx in Swift.stride(from: 0, to: shape.tileColumns, by: lanes) {
                // Column s of the 4 × 4 patches of tiles tx ..< tx + L: d_r[2·tx + s].
                func columns(_ r: Int) -> (Self, Self, Self, Self) {
                    let p = top + r * rowLength + 2 * tx
                    let a = pair(p), b = pair(p + 2)
                    return (a.even, a.odd, b.even, b.odd)
                }
                let r0 = columns(0), r1 = columns(1), r2 = columns(2), r3 = columns(3)
                // Bᵀ d, column by column: c_s.i = (Bᵀ d)[i][s].
                let c0 = inputTransform((r0.0, r1.0, r2.0, r3.0)), c1 = inputTransform((r0.1, r1.1, r2.1, r3.1))
                let c2 = inputTransform((r0.2, r1.2, r2.2, r3.2)), c3 = inputTransform((r0.3, r1.3, r2.3, r3.3))
                // (Bᵀ d) B, row by row: V[4·i + j].
                func store(_ row: (Self, Self, Self, Self), _ i: Int) {
                    let base = out + 4 * i * xiStride + tx, v = inputTransform(row)
                    storeVector(v.0, base); storeVector(v.1, base + xiStride)
                    storeVector(v.2, base + 2 * xiStride); storeVector(v.3, base + 3 * xiStride)
                }
                store((c0.0, c1.0, c2.0, c3.0), 0); store((c0.1, c1.1, c2.1, c3.1), 1)
                store((c0.2, c1.2, c2.2, c3.2), 2); store((c0.3, c1.3, c2.3, c3.3), 3)
            }
        }
    }

    /// `y[k][2·ty + a][2·tx + b] = bias[k] + (Aᵀ M A)[a][b]` for the tiles of tile rows `ty ..< ty + rows`
    /// (packed into the lanes as ``transformInput(_:tileRow:rows:grid:padded:into:pitch:)`` packs them)
    /// of the sample at `output`, `products` at the unit's first column, `pitch` apart per output channel
    /// and `outPitch` per ξ.
    @inline(__always)
    private static func transformOutput(_ shape: WinogradShape, tileRow ty: Int, rows: Int, products: UnsafePointer<Scalar>,
                                        pitch: Int, outPitch: Int, bias: UnsafePointer<Scalar>?, output: UnsafeMutablePointer<Scalar>) {
        let lanes = scalarCount, ho = shape.outHeight, wo = shape.outWidth
        // Every output row of the unit exists but possibly the last (an odd height ends on a half tile).
        let lastRow = 2 * (ty + rows) - 1 < ho
        for k in 0..<shape.outChannels {
            let p = products + k * pitch, top = output + (k * ho + 2 * ty) * wo
            let b = Self(repeating: bias?[k] ?? 0)
            for tx in Swift.stride(from: 0, to: shape.tileColumns, by: lanes) {
                // Aᵀ M, column by column: c_j = ((Aᵀ M)[0][j], (Aᵀ M)[1][j]) from M[j], M[4 + j], M[8 + j], M[12 + j].
                func column(_ j: Int) -> (Self, Self) {
                    outputTransform((loadVector(p + j * outPitch + tx), loadVector(p + (4 + j) * outPitch + tx),
                                     loadVector(p + (8 + j) * outPitch + tx), loadVector(p + (12 + j) * outPitch + tx)))
                }
                let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3)
                // (Aᵀ M) A, interleaved into the output rows (e0 o0 e1 o1 …): `even` rows 2·ty', `odd` 2·ty' + 1.
                let y0 = outputTransform((c0.0, c1.0, c2.0, c3.0)), y1 = outputTransform((c0.1, c1.1, c2.1, c3.1))
                let even = Self.interleave(y0.0 + b, y0.1 + b), odd = Self.interleave(y1.0 + b, y1.1 + b)
                switch rows {
                case 1:
                    let count = Swift.min(2 * lanes, wo - 2 * tx)
                    storePair(even, count: count, to: top + 2 * tx)
                    if lastRow { storePair(odd, count: count, to: top + wo + 2 * tx) }
                case 2:
                    // Lanes of tile row ty, then ty + 1: one vector per output row.
                    Self.store(even.low, prefix: wo, to: top); Self.store(even.high, prefix: wo, to: top + 2 * wo)
                    Self.store(odd.low, prefix: wo, to: top + wo)
                    if lastRow { Self.store(odd.high, prefix: wo, to: top + 3 * wo) }
                default:
                    // Tile rows ty … ty + 3 in the four half vectors.
                    Self.storeHalves(even.low, prefix: wo, low: top, high: top + 2 * wo)
                    Self.storeHalves(even.high, prefix: wo, low: top + 4 * wo, high: top + 6 * wo)
                    Self.storeHalves(odd.low, prefix: wo, low: top + wo, high: top + 3 * wo)
                    if lastRow {
                        Self.storeHalves(odd.high, prefix: wo, low: top + 5 * wo, high: top + 7 * wo)
                    } else {
                        Self.store(odd.high, prefix: wo, to: top + 5 * wo)
                    }
                }
            }
        }
    }

    /// `Bᵀ x` for a column (or, transposed, a row) `x` of a 4 × 4 patch: `(x0 − x2, x1 + x2, x2 − x1, x1 − x3)`.
    @inline(__always)
    private static func inputTransform(_ x: (Self, Self, Self, Self)) -> (Self, Self, Self, Self) {
        (x.0 - x.2, x.1 + x.2, x.2 - x.1, x.1 - x.3)
    }

    /// `Aᵀ x` for a column (or row) `x` of a 4 × 4 product: `(x0 + x1 + x2, x1 − x2 − x3)`.
    @inline(__always)
    private static func outputTransform(_ x: (Self, Self, Self, Self)) -> (Self, Self) {
        (x.0 + x.1 + x.2, x.1 - x.2 - x.3)
    }

    /// Writes the first `count` values (`count ≤ 2L`) of `pair.low ‖ pair.high`.
    @inline(__always)
    private static func storePair(_ pair: (low: Self, high: Self), count: Int, to target: UnsafeMutablePointer<Scalar>) {
        let lanes = scalarCount
        if count >= 2 * lanes {
            storeVector(pair.low, target); storeVector(pair.high, target + lanes)
        } else if count > lanes {
            storeVector(pair.low, target); Self.store(pair.high, prefix: count - lanes, to: target + lanes)
        } else {
            Self.store(pair.low, prefix: count, to: target)
        }
    }
}

/// The zero-padded copy of one sample that the input transform reads: `C` planes of
/// `m·⌈Ho/m⌉ + 2` rows (every row a tile reads) of `m·⌈Wo/m⌉ + 2` columns, the sample at row `pH`,
/// column `pW`; then slack for the last vector's loads past the last plane.
///
/// F(2×2, 3×3) stores each row as it is (`rowLength` columns). F(4×4, 3×3) stores it split by column
/// phase, shifted `shift` columns right so that the sample starts a group of four (`pW + shift` is 0
/// or 4): column `x` at `((x + shift) mod 4)·phaseLength + ⌊(x + shift)/4⌋`, so that column `4·t + s` of
/// `L` consecutive tiles is one vector load — unshuffling by 4 in registers took two rounds of
/// permutes, which LLVM turned into scalar element inserts (`perf`, AVX2) — and every four values of a
/// sample row fill one index of the four phases (``copyInterior(_:into:)``).
struct WinogradGrid {
    var channels: Int, height: Int, width: Int, paddingHeight: Int, paddingWidth: Int
    var rowLength: Int, phaseLength: Int, plane: Int, count: Int
    /// Whether rows are stored by column phase (F(4×4, 3×3)).
    var splitsPhases: Bool
    /// Columns the phase-split rows are shifted right by: `(4 − pW mod 4) mod 4` (0 unsplit).
    var shift: Int

    init(_ shape: WinogradShape, lanes: Int) {
        channels = shape.channels; height = shape.height; width = shape.width
        paddingHeight = shape.paddingHeight; paddingWidth = shape.paddingWidth
        let m = shape.tileSize, vectors = (shape.tileColumns + lanes - 1) / lanes
        splitsPhases = m == 4
        if splitsPhases {
            shift = (4 - paddingWidth % 4) % 4
            // A vector of tiles starting at the last tile column reads `L + 2` values of a phase (column
            // `4·t + 5 + shift`, index up to `t + 2`).
            phaseLength = vectors * lanes + 2
            rowLength = 4 * phaseLength
        } else {
            shift = 0
            rowLength = 2 * shape.tileColumns + 2
            phaseLength = rowLength
        }
        plane = (m * shape.tileRows + 2) * rowLength
        // Unsplit rows: a vector of tiles starting at the last tile column reads 2·L + 2 columns from its first.
        count = paddedToCacheLine(channels * plane + 2 * vectors * lanes + 2)
    }

    /// Copies the `C × H × W` sample into the grid's interior (its borders are left as they are).
    func copyInterior<Scalar>(_ sample: UnsafePointer<Scalar>, into grid: UnsafeMutablePointer<Scalar>) {
        for c in 0..<channels {
            let source = sample + c * height * width
            if splitsPhases {
                // Sample column `x` at phase `x mod 4`, index `first + ⌊x/4⌋`: four values to one index of each
                // phase. Blocks of four such groups are a 4 × 4 transposition in registers; the groups
                // and columns left over go one by one. (Phase by phase, one value at a time, this copy
                // was 12% of a two-thread `convnet` step once all three products took F(4×4).)
                let first = (paddingWidth + shift) / 4, blocks = width / 16
                for y in 0..<height {
                    let row = grid + c * plane + (paddingHeight + y) * rowLength + first, values = source + y * width
                    var done = 0
                    if Scalar.self == Float.self {
                        transposeBlocks(UnsafeRawPointer(values).assumingMemoryBound(to: Float.self),
                                        into: UnsafeMutableRawPointer(row).assumingMemoryBound(to: Float.self), blocks: blocks)
                        done = 16 * blocks
                    } else if Scalar.self == Double.self {
                        transposeBlocks(UnsafeRawPointer(values).assumingMemoryBound(to: Double.self),
                                        into: UnsafeMutableRawPointer(row).assumingMemoryBound(to: Double.self), blocks: blocks)
                        done = 16 * blocks
                    }
                    for x in done..<width { row[x % 4 * phaseLength + x / 4] = values[x] }
                }
            } else {
                let target = grid + c * plane + paddingHeight * rowLength + paddingWidth
                for y in 0..<height { copySpan(target + y * rowLength, source + y * width, count: width) }
            }
        }
    }
}

extension WinogradGrid {
    /// `row[k·phaseLength + 4·b + i] = values[16·b + 4·i + k]` for `k, i < 4` and `b < blocks`: each
    /// block of 16 values a 4 × 4 transposition in registers (two rounds of ``LanePermutable/unshuffle(_:_:)``).
    @inline(__always)
    private func transposeBlocks<S: TensorScalar & SIMDScalar>(_ values: UnsafePointer<S>, into row: UnsafeMutablePointer<S>,
                                                               blocks: Int) {
        let p1 = row + phaseLength, p2 = row + 2 &* phaseLength, p3 = row + 3 &* phaseLength
        for b in 0..<blocks {
            let q = values + 16 &* b, at = 4 &* b
            let (e0, o0) = SIMD4<S>.unshuffle(loadVector(q), loadVector(q + 4))
            let (e1, o1) = SIMD4<S>.unshuffle(loadVector(q + 8), loadVector(q + 12))
            let (phase0, phase2) = SIMD4<S>.unshuffle(e0, e1), (phase1, phase3) = SIMD4<S>.unshuffle(o0, o1)
            storeVector(phase0, row + at); storeVector(phase1, p1 + at)
            storeVector(phase2, p2 + at); storeVector(phase3, p3 + at)
        }
    }
}

/// The greatest common divisor of two positive integers.
func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
