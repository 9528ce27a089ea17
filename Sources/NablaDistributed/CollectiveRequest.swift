/// A collective operation that has been started and may still be running,
/// as returned by `ProcessGroup.startAllReduce(_:operation:)`.
///
/// The buffer handed to the start call belongs to the request until
/// `wait()` returns or `test()` returns `true`; only then does it hold the
/// result (including the division for `.average`).
///
/// Progress: Open MPI has no background progress thread for non-blocking
/// collectives over shared memory or TCP. A started reduction advances when
/// *any* MPI call runs on this rank, so code that wants real overlap should
/// call `test()` now and then (for instance between layers of the backward
/// pass); `wait()` drives it to completion in any case. Open MPI serves
/// non-blocking collectives with a different component (`coll libnbc`) than
/// blocking ones (`coll tuned`), and for large buffers on few ranks it can
/// be slower; measure (`mpi-selftest benchmark`) before relying on overlap.
/// A blocking `allReduce` on a dedicated communication thread is the
/// alternative, and `MPIProcessGroup` permits it.
///
/// Dropping the last reference to an unfinished request waits for it, so a
/// borrowed buffer is never written after its owner believes it is free.
public protocol CollectiveRequest: AnyObject, Sendable {
    /// Blocks until the operation has finished on this rank. Calling it again
    /// after it returned, or after `test()` returned `true`, does nothing.
    func wait() throws

    /// Drives the operation forward without blocking and returns whether it
    /// has finished on this rank.
    func test() throws -> Bool
}

/// A request that finished when it was created: what a group of one returns.
public final class CompletedRequest: CollectiveRequest {
    /// Creates a request that has already finished.
    public init() {}

    /// Returns immediately.
    public func wait() throws {}

    /// Returns `true`.
    public func test() throws -> Bool { true }
}

extension Sequence where Element == any CollectiveRequest {
    /// Waits for every request in order, for instance all gradient buckets of
    /// one step. Stops at the first error.
    public func waitAll() throws {
        for request in self {
            try request.wait()
        }
    }
}
