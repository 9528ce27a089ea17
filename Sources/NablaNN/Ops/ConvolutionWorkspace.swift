import Foundation
import NablaTensor

/// A thread-safe pool of reusable scratch buffers for the temporaries of convolution kernels (the
/// im2col column buffer, the regrouped upstream gradient).
///
/// A kernel borrows a buffer for the duration of a closure with
/// ``withBuffer(of:count:_:)`` and gives it back afterwards. A request is served by the smallest free
/// buffer that is large enough, and only allocates when none is, so a training loop that repeats the
/// same layer shapes reaches a steady state after its first step and allocates nothing from then on.
/// Concurrent borrowers (two threads, or a kernel needing two buffers at once) get distinct buffers.
///
/// At most ``maximumCachedBufferCount`` idle buffers are kept; beyond that the smallest idle one is
/// freed. ``releaseCachedBuffers()`` frees every idle buffer (for example after training).
public final class ConvolutionWorkspace: @unchecked Sendable {
    /// The pool the library's convolution and pooling kernels use.
    public static let shared = ConvolutionWorkspace()

    /// The number of idle buffers kept for reuse.
    public let maximumCachedBufferCount: Int

    private struct Block {
        let pointer: UnsafeMutableRawPointer
        let byteCount: Int
    }

    private let lock = NSLock()
    private var idle: [Block] = []
    private var liveByteCount = 0
    private var liveBlockCount = 0

    /// Buffers are aligned to this many bytes (a cache line, and enough for AVX-512 loads).
    private static let alignment = 64

    /// A workspace that keeps at most `maximumCachedBufferCount` idle buffers for reuse (default 8).
    /// - Precondition: `maximumCachedBufferCount > 0`.
    public init(maximumCachedBufferCount: Int = 8) {
        precondition(maximumCachedBufferCount > 0,
                     "ConvolutionWorkspace: maximumCachedBufferCount \(maximumCachedBufferCount) must be positive")
        self.maximumCachedBufferCount = maximumCachedBufferCount
    }

    deinit {
        for block in idle { block.pointer.deallocate() }
    }

    /// The bytes currently allocated by this pool, idle or borrowed.
    public var allocatedByteCount: Int {
        lock.lock(); defer { lock.unlock() }
        return liveByteCount
    }

    /// The number of buffers currently allocated by this pool, idle or borrowed.
    public var allocatedBufferCount: Int {
        lock.lock(); defer { lock.unlock() }
        return liveBlockCount
    }

    /// Calls `body` with an uninitialized buffer of at least `count` elements of `type`, borrowed from
    /// the pool and returned to it when `body` ends. The pointer must not escape `body`.
    public func withBuffer<T, R>(of type: T.Type, count: Int,
                                 _ body: (UnsafeMutablePointer<T>) throws -> R) rethrows -> R {
        precondition(count >= 0, "ConvolutionWorkspace: negative element count \(count)")
        let block = acquire(byteCount: Swift.max(count, 1) * MemoryLayout<T>.stride)
        defer { release(block) }
        return try body(block.pointer.bindMemory(to: T.self, capacity: Swift.max(count, 1)))
    }

    /// Frees every idle buffer.
    public func releaseCachedBuffers() {
        lock.lock(); defer { lock.unlock() }
        for block in idle {
            block.pointer.deallocate()
            liveByteCount -= block.byteCount
            liveBlockCount -= 1
        }
        idle.removeAll()
    }

    private func acquire(byteCount: Int) -> Block {
        lock.lock()
        var best: Int? = nil
        for (i, block) in idle.enumerated() where block.byteCount >= byteCount {
            if best == nil || block.byteCount < idle[best!].byteCount { best = i }
        }
        if let best {
            let block = idle.remove(at: best)
            lock.unlock()
            return block
        }
        // Round up to 4 KiB so that slightly different sizes share a buffer.
        let rounded = (byteCount + 4095) & ~4095
        liveByteCount += rounded
        liveBlockCount += 1
        lock.unlock()
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: Self.alignment)
        return Block(pointer: pointer, byteCount: rounded)
    }

    private func release(_ block: Block) {
        lock.lock(); defer { lock.unlock() }
        idle.append(block)
        if idle.count > maximumCachedBufferCount,
           let smallest = idle.indices.min(by: { idle[$0].byteCount < idle[$1].byteCount }) {
            let freed = idle.remove(at: smallest)
            freed.pointer.deallocate()
            liveByteCount -= freed.byteCount
            liveBlockCount -= 1
        }
    }
}

/// Splits `0..<count` into one contiguous range per worker and runs `body` on each on its own core
/// (``Parallelism/forEachRange(of:parts:_:)``), or runs it once on the whole range when the total work —
/// `count · workPerItem` elementary operations — is below `threshold`, where threading would cost
/// more than it saves, or when `enabled` is false (the caller already runs on a worker).
@inlinable
func convolutionParallelFor(_ count: Int, workPerItem: Int, threshold: Int = 1 << 15, enabled: Bool = true,
                            _ body: (Range<Int>) -> Void) {
    let workers = ConvolutionParallelism.workerCount
    if !enabled || count < 2 || workers < 2 || count * workPerItem < threshold {
        if count > 0 { body(0..<count) }
        return
    }
    Parallelism.forEachRange(of: count, parts: workers) { range, _ in body(range) }
}

/// How many cores the convolution and pooling kernels split their batch loops over.
public enum ConvolutionParallelism {
    /// The pinned count, `nil` to follow the thread count (tests pin it, then clear it).
    nonisolated(unsafe) static var override: Int?
    /// ``/NablaTensor/Parallelism/threadCount`` unless set here (tests pin it to exercise both code paths).
    public static var workerCount: Int {
        get { override ?? Parallelism.threadCount }
        set { override = newValue }
    }
}
