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
/// (``DirectConvolutionLayout/copyInterior(_:into:)``: nothing else writes it, so the borders stay zero). `kernel(block, kStart,
/// kCount, taps, padded, inputOffsets, target, targetOffsets, ldc)` computes the tile of channel block
/// `block` over taps `kStart ..< kStart + kCount` (`taps` already points at `kStart`): for `m < mr` and
/// `v < nv`, `layout.lanes` outputs at `target + targetOffsets[v] + m·ldc`, adding the bias itself.
///
/// With `finish`, `output` is scratch for one sample per worker (`workers × outChannels × outPlane`):
/// each sample is computed into its worker's slot and handed to `finish(sample, slot)` at once.
struct DirectCorrelation<Padded, Scalar> {
    var layout: DirectConvolutionLayout
    var outChannels: Int
    var tile: (mr: Int, nv: Int)

    typealias Kernel = (_ block: Int, _ kStart: Int, _ kCount: Int, _ taps: UnsafePointer<Int>,
                        _ padded: UnsafePointer<Padded>, _ inputOffsets: UnsafePointer<Int>,
                        _ target: UnsafeMutablePointer<Scalar>, _ targetOffsets: UnsafePointer<Int>, _ ldc: Int) -> Void

    func run(batch: Int, input: UnsafePointer<Scalar>, inputSample: Int, output: UnsafeMutablePointer<Scalar>,
             workers: Int, workspace: ConvolutionWorkspace, interiorOnly: Bool = false,
             pad: (_ sample: UnsafePointer<Scalar>, _ padded: UnsafeMutablePointer<Padded>) -> Void,
             finish: ((_ sample: Int, _ output: UnsafePointer<Scalar>) -> Void)? = nil, kernel: Kernel) {
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
                                for m in 0..<mr {
                                    for v in 0..<nv { nabla_prefetch_for_write(target + (targetOffsets[v] + m * ldc)) }
                                }
                                kernel(block, kStart, kCount, taps + kStart, UnsafePointer(padded), inputOffsets,
                                       target, targetOffsets, ldc)
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
