#if MPI
import CMPI

/// A started `MPI_Iallreduce` (one per chunk of at most `Int32.max`
/// elements) on a borrowed buffer, as returned by
/// `MPIProcessGroup.startAllReduce(_:operation:)`.
///
/// The request completes either in `wait()` (`MPI_Waitall`) or in a `test()`
/// (`MPI_Testall`) that reports completion; for `.average` the buffer is
/// divided by the group size at that moment, before the buffer is handed
/// back. All state changes happen under the process-wide MPI lock.
final class MPIAllReduceRequest<Element: MPIReducible>: CollectiveRequest, @unchecked Sendable {
    /// Kept so the group, and with it the communicator, outlives the request.
    private let group: MPIProcessGroup
    private let buffer: UnsafeMutableBufferPointer<Element>
    private let operation: ReductionOperation
    private var requests: [MPI_Request?]
    private var isFinished = false

    /// Takes ownership of already started `requests`. Must be called with
    /// the MPI lock held; counts the request as pending until it finishes.
    init(
        group: MPIProcessGroup, buffer: UnsafeMutableBufferPointer<Element>,
        operation: ReductionOperation, requests: [MPI_Request?]
    ) {
        self.group = group
        self.buffer = buffer
        self.operation = operation
        self.requests = requests
        MPIRuntime.adjustPendingRequestsLocked(by: 1)
    }

    func wait() throws {
        try MPIRuntime.withLock {
            guard !isFinished else { return }
            let code = MPI_Waitall(Int32(requests.count), &requests, cmpi_statuses_ignore())
            try finishLocked(code: code, function: "MPI_Waitall")
        }
    }

    func test() throws -> Bool {
        try MPIRuntime.withLock {
            guard !isFinished else { return true }
            var flag: Int32 = 0
            let code = MPI_Testall(Int32(requests.count), &requests, &flag, cmpi_statuses_ignore())
            guard flag != 0 || code != cmpi_success() else { return false }
            try finishLocked(code: code, function: "MPI_Testall")
            return true
        }
    }

    /// Marks the request finished (even on error, so that `finalize()` is
    /// not blocked forever by a failed request), then reports `code` or
    /// applies the averaging.
    private func finishLocked(code: Int32, function: String) throws {
        isFinished = true
        MPIRuntime.adjustPendingRequestsLocked(by: -1)
        try check(code, function)
        if operation == .average {
            buffer.divide(by: group.size)
        }
    }

    /// Waits for an unfinished request so that MPI never writes into a
    /// buffer its owner already considers free. Errors cannot be reported
    /// from here and are dropped; call `wait()` to see them.
    deinit {
        if !isFinished {
            try? wait()
        }
    }
}
#endif
