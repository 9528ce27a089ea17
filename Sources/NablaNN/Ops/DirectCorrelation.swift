import CNablaKernels

/// The driver shared by every direct correlation — the Float/Double SIMD kernels
/// (``DirectVector/directCorrelation(_:batch:input:inputSample:packedWeights:outChannels:tile:bias:output:workers:workspace:)``)
/// and the bf16 kernels (``BFloat16DirectConvolution``): it pads each sample once, walks the output in
/// groups of `nv` vectors and blocks of `mr` channels, and hands each register tile to `kernel`.
///
/// `output[n][o] = bias[o] + Σ_k W[o][k]·pad(input[n])[tap(k) + ·]` for every sample, the batch split
/// over `workers` cores (each with its own padded buffer and staging). Each tile sums only over the
/// kernel rows that reach the unpadded input for its output rows
/// (``DirectConvolutionLayout/kernelRows(reaching:)``): the others multiply zeros. Taps are numbered
/// kernel-row-major (``DirectConvolutionLayout/writeTapOffsets(_:padding:kernelRowMajor:)``), so a range
/// of kernel rows is one range of taps; the weights are packed to match.
///
/// `Padded` is the element of the padded copy (the scalar itself, or a bf16 channel-pair word); `pad`
/// writes one sample's ``DirectConvolutionLayout/paddedSampleCount`` elements — or, with
/// `interiorOnly`, only the sample's own elements into a buffer the driver zeroes once per worker
/// (``DirectConvolutionLayout/copyInterior(_:into:)``: nothing else writes it, so the borders stay zero). `kernel`
/// computes each register tile (``DirectCorrelationTile``); it is a generic parameter rather than a
/// closure so that each driver is specialized for its kernel and calls it directly: at LeNet's depth of
/// 25 taps a tile is ~150 cycles of multiply-adds, and a closure's partial-apply and reabstraction thunks
/// around it cost about a quarter of that (`perf`, AVX2 1→6 forward pass).
///
/// With `finish`, `output` is scratch for one sample per worker (`workers × outChannels × outPlane`):
/// each sample is computed into its worker's slot and handed to `finish(sample, slot)` at once.
struct DirectCorrelation<Padded, Scalar> {
    var layout: DirectConvolutionLayout
    var outChannels: Int
    var tile: (mr: Int, nv: Int)

    func run<Kernel: DirectCorrelationTile>(
        batch: Int, input: UnsafePointer<Scalar>, inputSample: Int, output: UnsafeMutablePointer<Scalar>,
        workers: Int, workspace: ConvolutionWorkspace, interiorOnly: Bool = false,
        pad: (_ sample: UnsafePointer<Scalar>, _ padded: UnsafeMutablePointer<Padded>) -> Void,
        finish: ((_ sample: Int, _ output: UnsafePointer<Scalar>) -> Void)? = nil, kernel: Kernel
    ) where Kernel.Padded == Padded, Kernel.Scalar == Scalar {
        precondition(layout.isValid && outChannels >= 1 && tile.nv <= 8, "direct convolution: invalid layout \(layout)")
        let (mr, nv) = tile, lanes = layout.lanes
        let blocks = (outChannels + mr - 1) / mr, depth = layout.depth
        let tapsPerRow = layout.channels * layout.kernelWidth
        let outPlane = layout.outPlane, outSample = outChannels * outPlane
        let vectors = layout.vectorCount
        // In place (``DirectConvolutionLayout/writesInPlace``), whole blocks of channels go straight to
        // the output, and a partial last block or a group with a vector that would write past the plane
        // through a tile; otherwise every block is staged on the padded grid.
        let inPlace = layout.writesInPlace
        let stagingCount = paddedToCacheLine(inPlace ? mr * nv * lanes : blocks * mr * layout.stagingPitch)
        let paddedCount = layout.paddedSampleCount
        // The groups of vectors are the same for every sample: their offsets, valid lanes and tap
        // ranges are tabulated once per call (computing them per tile took a third of the driver's
        // time at LeNet's depth of 25 — a few integer divisions per vector).
        let groups = (vectors + nv - 1) / nv, groupStride = 3 * nv + 2
        workspace.withBuffer(of: Int.self, count: depth + groups * groupStride + nv) { taps in
            layout.writeTapOffsets(taps, kernelRowMajor: true)
            let table = taps + depth, tileOffsets = UnsafePointer(table + groups * groupStride)
            for group in 0..<groups {
                let entry = table + group * groupStride, first = group * nv, last = Swift.min(first + nv - 1, vectors - 1)
                for v in 0..<nv {
                    let (inputOffset, outputOffset, valid) = layout.vectorOffsets(Swift.min(first + v, last))
                    entry[v] = inputOffset
                    entry[nv + v] = outputOffset
                    entry[2 * nv + v] = valid
                }
                let kernelRows = layout.kernelRows(reaching: layout.outputRows(ofVectors: first, last))
                entry[3 * nv] = kernelRows.lowerBound * tapsPerRow
                entry[3 * nv + 1] = kernelRows.count * tapsPerRow
            }
            for v in 0..<nv { table[groups * groupStride + v] = v * lanes }
            workspace.withBuffer(of: Padded.self, count: workers * paddedCount) { paddedScratch in
            workspace.withBuffer(of: Scalar.self, count: workers * stagingCount) { stagingScratch in
                runOnWorkers(workers, count: batch) { range, worker in
                    let padded = paddedScratch + worker * paddedCount, staging = stagingScratch + worker * stagingCount
                    if interiorOnly { UnsafeMutableRawPointer(padded).initializeMemory(as: UInt8.self, repeating: 0, count: paddedCount * MemoryLayout<Padded>.stride) }
                    for n in range {
                        pad(input + n * inputSample, padded)
                        let out = output + (finish == nil ? n : worker) * outSample
                        for group in 0..<groups {
                            let entry = UnsafePointer(table + group * groupStride)
                            let inputOffsets = entry, outputOffsets = entry + nv, validLanes = entry + 2 * nv
                            let kStart = entry[3 * nv], kCount = entry[3 * nv + 1]
                            for block in 0..<blocks {
                                let rows = Swift.min(mr, outChannels - block * mr)
                                let tiled = inPlace && (rows < mr || outputOffsets[nv - 1] + lanes > outPlane)
                                var target: UnsafeMutablePointer<Scalar>, targetOffsets = outputOffsets, ldc: Int
                                if !inPlace {
                                    target = staging + block * mr * layout.stagingPitch; ldc = layout.stagingPitch
                                } else if !tiled {
                                    target = out + block * mr * outPlane; ldc = outPlane
                                } else {
                                    target = staging; targetOffsets = tileOffsets; ldc = nv * lanes
                                }
                                // The tile's output lines, requested owned now: the kernel's final
                                // stores would otherwise wait for each line to be read from memory
                                // (a fresh output tensor is not in any cache), stalling in the store buffer.
                                // (Pointer steps, no overflow checks: this loop is a fifth of the driver's time.)
                                for v in 0..<nv {
                                    var line = target + targetOffsets[v]
                                    for _ in 0..<mr { nabla_prefetch_for_write(line); line += ldc }
                                }
                                kernel.compute(block: block, kStart: kStart, kCount: kCount, taps: taps + kStart,
                                               input: UnsafePointer(padded), inputOffsets: inputOffsets,
                                               output: target, outputOffsets: targetOffsets, ldc: ldc)
                                if tiled {
                                    // Copy the tile's valid channels and pixels out.
                                    let base = out + block * mr * outPlane
                                    for m in 0..<rows {
                                        for v in 0..<nv {
                                            let offset = outputOffsets[v]
                                            copySpan(base + (m * outPlane + offset), staging + (m * ldc + v * lanes),
                                                     count: Swift.min(validLanes[v], outPlane - offset))
                                        }
                                    }
                                }
                            }
                        }
                        if !inPlace {
                            // Keep the columns ow < Wo of the padded grid.
                            let pitch = layout.stagingPitch, wp = layout.paddedWidth, wo = layout.outWidth
                            for o in 0..<outChannels {
                                for oh in 0..<layout.outHeight {
                                    copySpan(out + o * outPlane + oh * wo, staging + o * pitch + oh * wp, count: wo)
                                }
                            }
                        }
                        finish?(n, UnsafePointer(out))
                    }
                }
            }
            }
        }
    }
}

/// One register tile of a ``DirectCorrelation``: `compute` sums channel block `block` over taps
/// `kStart ..< kStart + kCount` (`taps` already points at `kStart`) and writes, for `m < mr` and
/// `v < nv`, `layout.lanes` outputs at `output + outputOffsets[v] + m·ldc`, adding the bias itself.
protocol DirectCorrelationTile {
    /// The element of the padded input copy.
    associatedtype Padded
    /// The element of the output.
    associatedtype Scalar
    func compute(block: Int, kStart: Int, kCount: Int, taps: UnsafePointer<Int>, input: UnsafePointer<Padded>,
                 inputOffsets: UnsafePointer<Int>, output: UnsafeMutablePointer<Scalar>,
                 outputOffsets: UnsafePointer<Int>, ldc: Int)
}
