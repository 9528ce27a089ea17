#if canImport(CMalloc)
import CMalloc
#endif

/// Process-wide allocator settings for training.
///
/// A training step allocates the same large activation and gradient buffers every iteration. glibc
/// serves allocations above 128 KiB with `mmap` and returns them to the kernel on `free`, so every
/// step pays page faults and kernel zeroing for megabytes of fresh memory — on this project's
/// machine about 40% of an MLP step. Keeping freed memory in the heap for reuse (PyTorch gets the same
/// effect from its caching allocator) removes that cost without raising peak memory: the same
/// buffers are reused step after step.
public enum AllocatorTuning {
    /// Serves allocations up to 32 MiB (glibc's maximum threshold) from the heap, keeps up to 1 GiB
    /// of freed memory instead of trimming it, and grows the heap in 64 MiB steps. Call once, early,
    /// in a training process; a no-op where glibc is not the allocator. Returns whether it applied.
    @discardableResult
    public static func keepFreedMemoryForReuse() -> Bool {
        #if canImport(CMalloc)
        let applied = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1
            && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1
            && mallopt(M_TOP_PAD, 64 << 20) == 1
        return applied
        #else
        return false
        #endif
    }
}
