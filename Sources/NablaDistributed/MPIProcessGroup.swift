#if MPI
import CMPI
import Foundation

/// The processes of an MPI job (`mpirun -np K …`), as a `ProcessGroup`.
///
/// There is one such group per process, `MPIProcessGroup.world()`, spanning
/// all ranks the launcher started. It runs on a private duplicate of
/// `MPI_COMM_WORLD`, so its messages never match those of other MPI code in
/// the same process, and with the `MPI_ERRORS_RETURN` error handler, so a
/// failing call throws `ProcessGroupError.mpi` with MPI's own message
/// instead of aborting the job.
///
/// Life cycle:
/// - `world()` calls `MPI_Init_thread` the first time it is used (requesting
///   `MPI_THREAD_SERIALIZED`; see `MPIRuntime` for why).
/// - `finalize()` must be called once every rank is done, before a successful
///   exit; it calls `MPI_Finalize` exactly once, however often it is called.
///   Open MPI's `mpirun` treats a rank that exits with status 0 without
///   finalizing as a failure of the whole job.
/// - On a fatal error, exit with a non-zero status *without* finalizing.
///   `mpirun` then terminates the remaining ranks within a second or so.
///   Finalizing instead could block: `MPI_Finalize` synchronizes with ranks
///   that may be stuck waiting in a collective for this one.
///
/// Threads: every method may be called from any thread. Calls are
/// serialized by one process-wide lock, so a blocking collective on one
/// thread delays `test()` on another until it returns.
public final class MPIProcessGroup: ProcessGroup, @unchecked Sendable {
    /// This process's rank in `MPI_COMM_WORLD`.
    public let rank: Int
    /// The number of ranks in `MPI_COMM_WORLD`.
    public let size: Int

    /// The duplicate of `MPI_COMM_WORLD` that all collectives run on. Valid
    /// until `finalize()`; every use checks `MPIRuntime.ensureUsableLocked()`.
    private let communicator: MPI_Comm

    nonisolated(unsafe) private static var sharedWorld: MPIProcessGroup?

    /// Returns the group of all ranks in the job, initializing MPI on first
    /// use.
    ///
    /// Calling this in a process that was not started by an MPI launcher
    /// makes Open MPI start a one-rank "singleton" job; use
    /// `makeDefaultProcessGroup()` to avoid that.
    ///
    /// - Throws: `ProcessGroupError.finalized` after `finalize()`, or the MPI
    ///   error that initialization reported.
    public static func world() throws -> MPIProcessGroup {
        try MPIRuntime.withLock {
            if let world = sharedWorld {
                try MPIRuntime.ensureUsableLocked()
                return world
            }
            try MPIRuntime.initializeLocked()
            let world = try MPIProcessGroup(duplicating: cmpi_comm_world())
            sharedWorld = world
            return world
        }
    }

    private init(duplicating parent: MPI_Comm) throws {
        var duplicate: MPI_Comm? = cmpi_comm_null()
        try check(MPI_Comm_dup(parent, &duplicate), "MPI_Comm_dup")
        guard let duplicate else {
            throw ProcessGroupError.mpi(
                function: "MPI_Comm_dup", code: 0, errorClass: 0, message: "returned no communicator")
        }
        // Inherited from MPI_COMM_WORLD already; set explicitly so the
        // guarantee does not depend on the parent's handler.
        try check(MPI_Comm_set_errhandler(duplicate, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0
        var size: Int32 = 0
        try check(MPI_Comm_rank(duplicate, &rank), "MPI_Comm_rank")
        try check(MPI_Comm_size(duplicate, &size), "MPI_Comm_size")
        self.communicator = duplicate
        self.rank = Int(rank)
        self.size = Int(size)
    }

    /// Releases the communicator and calls `MPI_Finalize`, once. Later calls
    /// do nothing; any other method throws `ProcessGroupError.finalized`
    /// afterwards. MPI cannot be initialized again in this process.
    ///
    /// If MPI was initialized by someone other than this library, only the
    /// communicator is released and `MPI_Finalize` is left to its owner.
    ///
    /// - Throws: `ProcessGroupError.pendingRequests` while a request from
    ///   `startAllReduce(_:operation:)` has not completed (MPI forbids
    ///   finalizing with active requests), or an MPI error.
    public func finalize() throws {
        try MPIRuntime.withLock {
            guard MPIRuntime.isUsableLocked else { return }
            try MPIRuntime.ensureNoPendingRequestsLocked()
            var handle: MPI_Comm? = communicator
            try check(MPI_Comm_free(&handle), "MPI_Comm_free")
            try MPIRuntime.finalizeLocked()
        }
    }

    // MARK: - Collectives

    /// `MPI_Allreduce` of `buffer` in place (`MPI_IN_PLACE`, `MPI_FLOAT`, `MPI_SUM`; `.average` divides after).
    public func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>, operation: ReductionOperation) throws {
        try reduce(buffer, operation: operation)
    }

    /// `MPI_Allreduce` of `buffer` in place (`MPI_IN_PLACE`, `MPI_DOUBLE`, `MPI_SUM`; `.average` divides after).
    public func allReduce(_ buffer: UnsafeMutableBufferPointer<Double>, operation: ReductionOperation) throws {
        try reduce(buffer, operation: operation)
    }

    /// `MPI_Iallreduce` of `buffer` in place; `buffer` stays borrowed until the request completes.
    public func startAllReduce(
        _ buffer: UnsafeMutableBufferPointer<Float>, operation: ReductionOperation
    ) throws -> any CollectiveRequest {
        try startReduction(buffer, operation: operation)
    }

    /// `MPI_Iallreduce` of `buffer` in place; `buffer` stays borrowed until the request completes.
    public func startAllReduce(
        _ buffer: UnsafeMutableBufferPointer<Double>, operation: ReductionOperation
    ) throws -> any CollectiveRequest {
        try startReduction(buffer, operation: operation)
    }

    /// Broadcasts with `MPI_Bcast`. The root is checked by MPI itself: an
    /// out-of-range root throws `ProcessGroupError.mpi` with error class
    /// `MPI_ERR_ROOT` on every rank (Open MPI's `mpi_param_check`, on by
    /// default).
    public func broadcastBytes(_ buffer: UnsafeMutableRawBufferPointer, from root: Int) throws {
        guard let mpiRoot = Int32(exactly: root) else {
            throw ProcessGroupError.invalidRoot(root, size: size)
        }
        var placeholder: UInt8 = 0
        try MPIRuntime.withLock {
            try MPIRuntime.ensureUsableLocked()
            guard let base = buffer.baseAddress, !buffer.isEmpty else {
                // Still a collective call, so a bad root fails on every rank.
                try check(MPI_Bcast(&placeholder, 0, cmpi_byte(), mpiRoot, communicator), "MPI_Bcast")
                return
            }
            for chunk in mpiChunks(count: buffer.count) {
                try check(
                    MPI_Bcast(base + chunk.lowerBound, Int32(chunk.count), cmpi_byte(), mpiRoot, communicator),
                    "MPI_Bcast")
            }
        }
    }

    /// `MPI_Barrier`: returns once every rank has called it.
    public func barrier() throws {
        try MPIRuntime.withLock {
            try MPIRuntime.ensureUsableLocked()
            try check(MPI_Barrier(communicator), "MPI_Barrier")
        }
    }

    /// Gathers with two collectives: `MPI_Allgather` of the byte counts, then
    /// `MPI_Allgatherv` of the bytes, so that ranks may send different counts.
    public func allGatherBytes(_ bytes: UnsafeRawBufferPointer) throws -> [[UInt8]] {
        guard var count = Int32(exactly: bytes.count) else {
            throw ProcessGroupError.countTooLarge(bytes.count)
        }
        return try MPIRuntime.withLock {
            try MPIRuntime.ensureUsableLocked()
            var counts = [Int32](repeating: 0, count: size)
            try check(
                MPI_Allgather(&count, 1, cmpi_int(), &counts, 1, cmpi_int(), communicator), "MPI_Allgather")
            var offsets = [Int32](repeating: 0, count: size)
            var total = 0
            for (rank, rankCount) in counts.enumerated() {
                guard let offset = Int32(exactly: total) else { throw ProcessGroupError.countTooLarge(total) }
                offsets[rank] = offset
                total += Int(rankCount)
            }
            guard total <= maximumMPICount else { throw ProcessGroupError.countTooLarge(total) }
            var gathered = [UInt8](repeating: 0, count: max(total, 1))
            // MPI wants a valid address even for zero bytes.
            var placeholder: UInt8 = 0
            let code = withUnsafeBytes(of: &placeholder) { placeholderBytes in
                MPI_Allgatherv(
                    bytes.baseAddress ?? placeholderBytes.baseAddress, count, cmpi_byte(),
                    &gathered, counts, offsets, cmpi_byte(), communicator)
            }
            try check(code, "MPI_Allgatherv")
            return counts.indices.map { rank in
                let start = Int(offsets[rank])
                return Array(gathered[start ..< start + Int(counts[rank])])
            }
        }
    }

    // MARK: - Implementation

    private func reduce<Element: MPIReducible>(
        _ buffer: UnsafeMutableBufferPointer<Element>, operation: ReductionOperation
    ) throws {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        try MPIRuntime.withLock {
            try MPIRuntime.ensureUsableLocked()
            for chunk in mpiChunks(count: buffer.count) {
                try check(
                    MPI_Allreduce(
                        cmpi_in_place(), base + chunk.lowerBound, Int32(chunk.count),
                        Element.mpiDatatype, cmpi_op_sum(), communicator),
                    "MPI_Allreduce")
            }
        }
        if operation == .average {
            buffer.divide(by: size)
        }
    }

    private func startReduction<Element: MPIReducible>(
        _ buffer: UnsafeMutableBufferPointer<Element>, operation: ReductionOperation
    ) throws -> any CollectiveRequest {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return CompletedRequest() }
        return try MPIRuntime.withLock {
            try MPIRuntime.ensureUsableLocked()
            var requests: [MPI_Request?] = []
            for chunk in mpiChunks(count: buffer.count) {
                var request: MPI_Request? = cmpi_request_null()
                let code = MPI_Iallreduce(
                    cmpi_in_place(), base + chunk.lowerBound, Int32(chunk.count),
                    Element.mpiDatatype, cmpi_op_sum(), communicator, &request)
                if code != cmpi_success() {
                    // Let chunks that did start finish before the caller
                    // gets its buffer back.
                    _ = MPI_Waitall(Int32(requests.count), &requests, cmpi_statuses_ignore())
                    try check(code, "MPI_Iallreduce")
                }
                requests.append(request)
            }
            return MPIAllReduceRequest(
                group: self, buffer: buffer, operation: operation, requests: requests)
        }
    }
}

/// The floating-point element types that `MPIProcessGroup` reduces, with
/// their MPI datatype handles.
protocol MPIReducible: BinaryFloatingPoint {
    static var mpiDatatype: MPI_Datatype { get }
}

extension Float: MPIReducible {
    static var mpiDatatype: MPI_Datatype { cmpi_float() }
}

extension Double: MPIReducible {
    static var mpiDatatype: MPI_Datatype { cmpi_double() }
}

extension UnsafeMutableBufferPointer where Element: BinaryFloatingPoint {
    /// Divides every element by `count` (one correctly rounded division per
    /// element), turning a sum over `count` ranks into their average.
    func divide(by count: Int) {
        guard count != 1 else { return }
        let divisor = Element(count)
        for index in indices {
            self[index] /= divisor
        }
    }
}
#endif
