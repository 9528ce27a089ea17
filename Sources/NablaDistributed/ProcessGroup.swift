/// How `allReduce` combines the values that every rank contributes for one element.
public enum ReductionOperation: Sendable, Hashable {
    /// Every rank receives the elementwise sum over all ranks.
    case sum
    /// Every rank receives the elementwise sum over all ranks divided by `size`.
    ///
    /// The sum is reduced first and then divided by `size` with one correctly
    /// rounded division per element (not a multiplication by `1 / size`), so an
    /// integer-valued sum that is a multiple of `size` averages exactly.
    case average
}

/// A fixed set of cooperating processes that run the same program on
/// different data, numbered `0 ..< size`.
///
/// This is the engine-level contract for data-parallel training: after every
/// backward pass the ranks `allReduce(_:operation:)` their gradients with
/// `.average` so that all of them apply the same update and their weights stay
/// bit-identical; `broadcast(_:from:)` hands rank 0's initial weights to the
/// others; `allGather(_:)` compares small values such as configuration hashes.
///
/// Rules shared by every conforming type:
/// - Collectives are *collective*: every rank calls the same operations in the
///   same order with the same element counts and the same `root`. Calling them
///   in different orders deadlocks or corrupts data; no implementation can
///   detect that in general.
/// - Every failure is reported by throwing (usually `ProcessGroupError`);
///   nothing here aborts the process. After a thrown error the state of the
///   buffer is unspecified and the other ranks may not have seen the error.
/// - Buffers are borrowed only for the duration of the call, except for
///   `startAllReduce(_:operation:)`, which borrows the buffer until its
///   request completes.
public protocol ProcessGroup: AnyObject, Sendable {
    /// This process's number, in `0 ..< size`.
    var rank: Int { get }

    /// The number of processes in the group; at least 1.
    var size: Int { get }

    /// Replaces every element of `buffer`, on every rank, with the reduction
    /// of that element over all ranks.
    func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>, operation: ReductionOperation) throws

    /// Replaces every element of `buffer`, on every rank, with the reduction
    /// of that element over all ranks.
    func allReduce(_ buffer: UnsafeMutableBufferPointer<Double>, operation: ReductionOperation) throws

    /// Starts an in-place `allReduce(_:operation:)` of `buffer` and returns
    /// without waiting for it, so that communication can overlap computation
    /// (e.g. reducing one gradient bucket while backward still produces the
    /// next).
    ///
    /// `buffer` must stay allocated and must be neither read nor written until
    /// the returned request's `wait()` returns or `test()` returns `true`.
    func startAllReduce(
        _ buffer: UnsafeMutableBufferPointer<Float>, operation: ReductionOperation
    ) throws -> any CollectiveRequest

    /// Starts an in-place `allReduce(_:operation:)` of `buffer`; see the
    /// `Float` overload for the borrowing rules.
    func startAllReduce(
        _ buffer: UnsafeMutableBufferPointer<Double>, operation: ReductionOperation
    ) throws -> any CollectiveRequest

    /// Copies the bytes of `buffer` on rank `root` into `buffer` on every
    /// other rank. Every rank passes a buffer of the same byte count.
    func broadcastBytes(_ buffer: UnsafeMutableRawBufferPointer, from root: Int) throws

    /// Returns once every rank has called `barrier()`.
    func barrier() throws

    /// Returns, on every rank, the bytes each rank passed, indexed by rank.
    /// Ranks may pass different byte counts. Meant for small values.
    func allGatherBytes(_ bytes: UnsafeRawBufferPointer) throws -> [[UInt8]]

    /// Ends this process's participation once the work succeeded: for MPI,
    /// releases the communicator and calls `MPI_Finalize`. Idempotent; no
    /// collective may follow. Do not call it on a failure path; exit with a
    /// non-zero status instead and let the launcher stop the other ranks.
    func finalize() throws
}

extension ProcessGroup {
    /// Whether this is rank 0, the rank that conventionally writes logs,
    /// checkpoints and reports.
    public var isCoordinator: Bool { rank == 0 }

    /// Copies `buffer` on rank `root` into `buffer` on every other rank.
    /// Every rank passes a buffer with the same element count.
    public func broadcast<Element: BitwiseCopyable>(
        _ buffer: UnsafeMutableBufferPointer<Element>, from root: Int
    ) throws {
        try broadcastBytes(UnsafeMutableRawBufferPointer(buffer), from: root)
    }

    /// Replaces `values` on every rank with `values` from rank `root`.
    /// Every rank passes an array with the same element count.
    public func broadcast<Element: BitwiseCopyable>(_ values: inout [Element], from root: Int) throws {
        try values.withUnsafeMutableBufferPointer { try broadcast($0, from: root) }
    }

    /// Returns, on every rank, the values each rank passed, indexed by rank.
    ///
    /// Ranks may pass arrays of different lengths, which makes this suitable
    /// for comparing configuration hashes: `try group.allGather([hash])`.
    /// Every rank must use the same `Element` type.
    public func allGather<Element: BitwiseCopyable>(_ values: [Element]) throws -> [[Element]] {
        let gathered = try values.withUnsafeBytes { try allGatherBytes($0) }
        let stride = MemoryLayout<Element>.stride
        return try gathered.map { bytes in
            guard bytes.count % stride == 0 else {
                throw ProcessGroupError.mismatchedElementSize(byteCount: bytes.count, stride: stride)
            }
            return [Element](unsafeUninitializedCapacity: bytes.count / stride) { elements, count in
                bytes.withUnsafeBytes { source in
                    UnsafeMutableRawBufferPointer(elements).copyMemory(from: source)
                }
                count = bytes.count / stride
            }
        }
    }
}
