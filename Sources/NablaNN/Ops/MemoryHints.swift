import CNablaKernels

/// Prefetch hints for the memory-bound passes whose source is a set of contiguous runs that lie apart:
/// the per-channel reductions of batch normalization, whose runs (one per sample) lie a sample apart in
/// an NCHW tensor. (Tried and not kept: the same hint in the convolutions' per-plane pad, whose sample
/// is one contiguous block — no change in the `convnet` step.)
///
/// The hardware prefetchers follow a stream within a 4 KiB page, so a pass that jumps to a new run
/// starts it with a cache miss per line until the stream is detected. Asking for the start of the
/// next run while the current one is processed hides that. The hints change no value and never fault.

/// How far into the next run ``prefetchStart(of:count:)`` reaches: 1 KiB, the first 16 lines. Measured
/// on the batch-norm reductions of `[64, 32, 32, 32]` and `[64, 64, 16, 16]` inputs (AMD EPYC Zen 4,
/// 2 threads): prefetching a whole 4 KiB run was slower than none, 1 KiB faster than none, 512 B no
/// faster than 1 KiB — enough to start the run's stream, which the hardware prefetcher then follows.
let prefetchLeadBytes = 1024

/// Hints the memory system to fetch the start of the `count` elements at `p` (up to
/// ``prefetchLeadBytes``, one `nabla_prefetch` per 64-byte line) for reading soon.
@inline(__always)
func prefetchStart<S>(of p: UnsafePointer<S>, count: Int) {
    let raw = UnsafeRawPointer(p), bytes = Swift.min(count &* MemoryLayout<S>.stride, prefetchLeadBytes)
    var offset = 0
    while offset < bytes { nabla_prefetch(raw + offset); offset &+= 64 }
}

/// Asks for the lines at `line`, `line + pitch`, … (`rows` of them) owned for writing: a register tile's
/// output lines, requested before its sums so that its final stores do not wait for each line to be
/// read from memory (a fresh output tensor is in no cache) and stall in the store buffer.
@inline(__always)
func prefetchForWrite<S>(rows: Int, from line: UnsafeMutablePointer<S>, pitch: Int) {
    var line = line
    for _ in 0..<rows { nabla_prefetch_for_write(line); line += pitch }
}
