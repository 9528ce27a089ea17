import CNablaKernels

/// The driver shared by every direct correlation — the Float/Double SIMD kernels
/// (``DirectVector/directCorrelation(_:batch:input:inputSample:packedWeights:outChannels:tile:bias:output:workers:workspace:)``)
/// and the bf16 kernels (``BFloat16DirectConvolution``): it pads each sample once, walks the output in
/// groups of `nv` vectors and blocks of `mr` channels, and hands `kernel` runs of consecutive groups
/// that sum over the same taps and write the same way, one call per run and channel block.
///
/// `output[n][o] = bias[o] + Σ_k W[o][k]·pad(input[n])[tap(k) + ·]` for every sample, the batch split
/// over `workers` cores (each with its own padded buffer and staging). Flat-mode layouts whose rows'
/// tails divide a vector run as row-mode heads plus packed tails (``PackedRowTails``): the tail groups
/// read the worker's copy of the tail columns with their own tap offsets. Each tile sums only over the
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
        // Rows whose tails pack into shared vectors (``PackedRowTails``): head vectors as in row mode,
        // then tail vectors read from a per-sample copy of the tail columns.
        let packing = PackedRowTails(layout)
        let mainVectors = packing?.headVectors ?? layout.vectorCount, tailVectors = packing?.tailVectors ?? 0
        // In place (``DirectConvolutionLayout/writesInPlace``, or packed), whole blocks of channels go
        // straight to the output, and a partial last block or a group with a vector that would write
        // past the plane through a tile; otherwise every block is staged on the padded grid. Tail
        // groups write the sample's tail stage, `[block·mr + m][tail vector][L]`, copied out by rows
        // after the sample's last tile (copying each tile's rows out at once waited on its stores: a
        // third of the driver's time, AVX2 LeNet 1→6).
        let inPlace = packing != nil || layout.writesInPlace
        let tailGroups = (tailVectors + nv - 1) / nv, tailPitch = tailGroups * nv * lanes
        let tileStagingCount = paddedToCacheLine(inPlace ? mr * nv * lanes : blocks * mr * layout.stagingPitch)
        let stagingCount = tileStagingCount + paddedToCacheLine(blocks * mr * tailPitch)
        let paddedCount = layout.paddedSampleCount, tailCount = packing?.bufferCount ?? 0
        // The groups of vectors are the same for every sample: their offsets, valid lanes (read where a
        // main group goes through the tile staging) and tap ranges are tabulated once per call
        // (computing them per tile took a third of the driver's time at LeNet's depth of 25 — a few
        // integer divisions per vector). Main groups come first; groups from `mainGroups` on are tail groups.
        let mainGroups = (mainVectors + nv - 1) / nv, groups = mainGroups + tailGroups
        let groupStride = 3 * nv + 2
        workspace.withBuffer(of: Int.self, count: 2 * depth + groups * (groupStride + 3) + nv) { taps in
            layout.writeTapOffsets(taps, kernelRowMajor: true)
            let tailTaps = taps + depth
            packing?.writeTapOffsets(tailTaps)
            let table = tailTaps + depth, tileOffsets = UnsafePointer(table + groups * groupStride)
            let runs = table + groups * groupStride + nv
            for group in 0..<groups {
                let isTail = group >= mainGroups, entry = table + group * groupStride
                let first = (isTail ? group - mainGroups : group) * nv
                let last = Swift.min(first + nv - 1, (isTail ? tailVectors : mainVectors) - 1)
                for v in 0..<nv {
                    let vector = Swift.min(first + v, last)
                    let inputOffset: Int, outputOffset: Int, valid: Int
                    switch (packing, isTail) {
                    case (let packing?, false): (inputOffset, outputOffset, valid) = packing.head(vector)
                    case (let packing?, true):
                        // Written to the tail stage, at the group's vectors; its valid lanes are the `t`
                        // tail pixels of each of its rows.
                        let tail = packing.tail(vector)
                        (inputOffset, outputOffset, valid) = (tail.input, first * lanes + v * lanes, tail.rows * packing.tailWidth)
                    case (nil, _): (inputOffset, outputOffset, valid) = layout.vectorOffsets(vector)
                    }
                    entry[v] = inputOffset
                    entry[nv + v] = outputOffset
                    entry[2 * nv + v] = valid
                }
                let rows = switch (packing, isTail) {
                case (let packing?, false): packing.headRows(ofVectors: first, last)
                case (let packing?, true): packing.tailRows(ofVectors: first, last)
                case (nil, _): layout.outputRows(ofVectors: first, last)
                }
                let kernelRows = layout.kernelRows(reaching: rows)
                entry[3 * nv] = kernelRows.lowerBound * tapsPerRow
                entry[3 * nv + 1] = kernelRows.count * tapsPerRow
            }
            for v in 0..<nv { table[groups * groupStride + v] = v * lanes }
            // Runs of consecutive groups of one kind over one tap range, each handed to the kernel in one
            // call (``DirectCorrelationTile/computeGroups(block:kStart:kCount:taps:input:groups:stride:count:output:ldc:prefetch:)``):
            // per group, the driver's bookkeeping (target, staging and prefetch decisions, spilled
            // registers) had a fifth to a third as many samples as the tile at LeNet's depth of 25, and
            // runs took the AVX2 1→6 forward pass from 0.439 to 0.403–0.412 ms on one thread. A run
            // walks every block over its groups, so with several blocks and an input beyond the
            // first-level cache it is kept short, for the input it reads to stay there.
            let maxRun = blocks == 1 || paddedCount * MemoryLayout<Padded>.stride <= 24 << 10 ? groups : 4
            var runCount = 0
            for group in 0..<groups {
                let entry = table + group * groupStride
                let kind: GroupKind = group >= mainGroups ? .tail
                    : inPlace && entry[2 * nv - 1] + lanes > outPlane ? .overhanging : .main
                if runCount > 0 {
                    let run = runs + 3 * (runCount - 1), head = table + run[0] * groupStride
                    if run[2] == kind.rawValue && kind != .overhanging && run[1] < maxRun
                        && head[3 * nv] == entry[3 * nv] && head[3 * nv + 1] == entry[3 * nv + 1] {
                        run[1] += 1
                        continue
                    }
                }
                let run = runs + 3 * runCount
                (run[0], run[1], run[2]) = (group, 1, kind.rawValue)
                runCount += 1
            }
            let bufferCount = paddedCount + tailCount
            workspace.withBuffer(of: Padded.self, count: workers * bufferCount) { paddedScratch in
            workspace.withBuffer(of: Scalar.self, count: workers * stagingCount) { stagingScratch in
                runOnWorkers(workers, count: batch) { range, worker in
                    let padded = paddedScratch + worker * bufferCount, tails = padded + paddedCount
                    let staging = stagingScratch + worker * stagingCount
                    let tailStage = staging + tileStagingCount
                    if interiorOnly || packing != nil {
                        // Zero once: the borders (``DirectConvolutionLayout/copyInterior(_:into:)``) and
                        // the tail copy's slack are never written again.
                        UnsafeMutableRawPointer(padded).initializeMemory(as: UInt8.self, repeating: 0,
                                                                         count: bufferCount * MemoryLayout<Padded>.stride)
                    }
                    for n in range {
                        pad(input + n * inputSample, padded)
                        packing?.copyTails(UnsafePointer(padded), into: tails)
                        let out = output + (finish == nil ? n : worker) * outSample
                        for r in 0..<runCount {
                            let run = runs + 3 * r, count = run[1], kind = GroupKind(rawValue: run[2])!
                            let entries = UnsafePointer(table + run[0] * groupStride)
                            let kStart = entries[3 * nv], kCount = entries[3 * nv + 1]
                            let source = UnsafePointer(kind == .tail ? tails : padded)
                            let groupTaps = UnsafePointer((kind == .tail ? tailTaps : taps) + kStart)
                            for block in 0..<blocks {
                                let rows = Swift.min(mr, outChannels - block * mr)
                                // Where the run's tiles write: the tail stage (in cache already, so no
                                // write prefetch), the staging grid, or the output itself — or nil for
                                // a partial last block or a group with a vector past the plane.
                                let target: (output: UnsafeMutablePointer<Scalar>, ldc: Int, prefetch: Bool)? =
                                    kind == .tail ? (tailStage + block * mr * tailPitch, tailPitch, false)
                                    : !inPlace ? (staging + block * mr * layout.stagingPitch, layout.stagingPitch, true)
                                    : kind == .main && rows == mr ? (out + block * mr * outPlane, outPlane, true) : nil
                                if let target {
                                    kernel.computeGroups(block: block, kStart: kStart, kCount: kCount, taps: groupTaps,
                                                         input: source, groups: entries, stride: groupStride, count: count,
                                                         output: target.output, ldc: target.ldc, prefetch: target.prefetch)
                                } else {
                                    // Through the tile staging, then its valid channels and pixels out.
                                    let base = out + block * mr * outPlane, ldc = nv * lanes
                                    for g in 0..<count {
                                        let entry = entries + g * groupStride
                                        let outputOffsets = entry + nv, validLanes = entry + 2 * nv
                                        kernel.compute(block: block, kStart: kStart, kCount: kCount, taps: groupTaps,
                                                       input: source, inputOffsets: entry, output: staging,
                                                       outputOffsets: tileOffsets, ldc: ldc)
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
                        }
                        if let packing {
                            // Each row's tail, out of the tail stage (a channel's tails are its rows in order,
                            // `t` elements apart).
                            let t = packing.tailWidth, wo = layout.outWidth
                            for o in 0..<outChannels {
                                copyRows(out + (o * outPlane + wo - t), pitch: wo, tailStage + o * tailPitch, pitch: t,
                                         rows: layout.outHeight, count: t)
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

/// What a run of groups writes (``DirectCorrelation``): a head group in place (or on the padded grid
/// when the layout is staged), a head group with a vector past the output plane (always alone, through
/// the tile staging), or a packed tail group (into the tail stage).
private enum GroupKind: Int {
    case main, overhanging, tail
}

/// One register tile of a ``DirectCorrelation``: `compute` sums channel block `block` over taps
/// `kStart ..< kStart + kCount` (`taps` already points at `kStart`) and writes, for `m < mr` and
/// `v < nv`, `layout.lanes` outputs at `output + outputOffsets[v] + m·ldc`, adding the bias itself.
/// `computeGroups` does the same for `count` groups whose offsets are `groups + g·stride` (input
/// offsets, then `nv` output offsets), first requesting each group's output lines owned if `prefetch`.
protocol DirectCorrelationTile {
    /// The element of the padded input copy.
    associatedtype Padded
    /// The element of the output.
    associatedtype Scalar
    /// Channels (`mr`) and vectors (`nv`) of the tile.
    var shape: (mr: Int, nv: Int) { get }
    func compute(block: Int, kStart: Int, kCount: Int, taps: UnsafePointer<Int>, input: UnsafePointer<Padded>,
                 inputOffsets: UnsafePointer<Int>, output: UnsafeMutablePointer<Scalar>,
                 outputOffsets: UnsafePointer<Int>, ldc: Int)
    func computeGroups(block: Int, kStart: Int, kCount: Int, taps: UnsafePointer<Int>, input: UnsafePointer<Padded>,
                       groups: UnsafePointer<Int>, stride: Int, count: Int, output: UnsafeMutablePointer<Scalar>,
                       ldc: Int, prefetch: Bool)
}

extension DirectCorrelationTile {
    @inline(__always)
    func computeGroups(block: Int, kStart: Int, kCount: Int, taps: UnsafePointer<Int>, input: UnsafePointer<Padded>,
                       groups: UnsafePointer<Int>, stride: Int, count: Int, output: UnsafeMutablePointer<Scalar>,
                       ldc: Int, prefetch: Bool) {
        computeGroupsOneByOne(block: block, kStart: kStart, kCount: kCount, taps: taps, input: input, groups: groups,
                              stride: stride, count: count, output: output, ldc: ldc, prefetch: prefetch)
    }

    /// ``computeGroups(block:kStart:kCount:taps:input:groups:stride:count:output:ldc:prefetch:)`` as one
    /// ``compute(block:kStart:kCount:taps:input:inputOffsets:output:outputOffsets:ldc:)`` per group.
    @inline(__always)
    func computeGroupsOneByOne(block: Int, kStart: Int, kCount: Int, taps: UnsafePointer<Int>, input: UnsafePointer<Padded>,
                               groups: UnsafePointer<Int>, stride: Int, count: Int, output: UnsafeMutablePointer<Scalar>,
                               ldc: Int, prefetch: Bool) {
        let (mr, nv) = shape
        var entry = groups
        for _ in 0..<count {
            if prefetch {
                for v in 0..<nv { prefetchForWrite(rows: mr, from: output + entry[nv + v], pitch: ldc) }
            }
            compute(block: block, kStart: kStart, kCount: kCount, taps: taps, input: input, inputOffsets: entry,
                    output: output, outputOffsets: entry + nv, ldc: ldc)
            entry += stride
        }
    }
}
