#if MPI
import CMPI
import Foundation

/// The process-wide state of the MPI library, and the one lock that every
/// MPI call in this process runs under.
///
/// MPI can be initialized at most once per process and, once finalized,
/// never again. This type records which of those states the process is in,
/// so that `MPIProcessGroup` initializes lazily and finalizes exactly once.
///
/// Thread level: initialization requests `MPI_THREAD_SERIALIZED`. Training
/// code may issue collectives from whichever thread finishes a gradient
/// bucket, not only from the thread that called `MPI_Init_thread`, which
/// `MPI_THREAD_FUNNELED` would forbid. `MPI_THREAD_SERIALIZED` allows any
/// thread provided no two calls overlap, and `withLock(_:)` guarantees
/// exactly that. `MPI_THREAD_MULTIPLE` is not needed and makes Open MPI take
/// internal locks on every call.
enum MPIRuntime {
    /// Where the process is in MPI's one-way life cycle.
    enum Phase {
        case uninitialized
        /// `ownsInitialization` is false when other code in the process had
        /// initialized MPI before us; then finalizing is left to that code.
        case initialized(ownsInitialization: Bool)
        case finalized
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var phase = Phase.uninitialized
    nonisolated(unsafe) private static var pendingRequests = 0
    nonisolated(unsafe) private static var providedThreadLevel: Int32 = 0

    /// The thread level this library requests and requires.
    static var requiredThreadLevel: Int32 { cmpi_thread_serialized() }

    /// Runs `body` while holding the process-wide MPI lock. Every MPI call
    /// goes through here, which is what makes `MPI_THREAD_SERIALIZED` sound.
    static func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Initializes MPI if needed. Must be called with the lock held.
    ///
    /// - Throws: `ProcessGroupError.finalized` after `finalize()`, or an MPI
    ///   error, or `unsupportedThreadLevel` when the library offers less than
    ///   `MPI_THREAD_SERIALIZED`.
    static func initializeLocked() throws {
        switch phase {
        case .initialized:
            break
        case .finalized:
            throw ProcessGroupError.finalized
        case .uninitialized:
            try startLocked()
        }
        guard providedThreadLevel >= requiredThreadLevel else {
            throw ProcessGroupError.unsupportedThreadLevel(
                provided: Int(providedThreadLevel), required: Int(requiredThreadLevel))
        }
    }

    /// Calls `MPI_Init_thread` unless someone else already initialized MPI,
    /// records the thread level, and installs `MPI_ERRORS_RETURN`.
    private static func startLocked() throws {
        var alreadyFinalized: Int32 = 0
        try check(MPI_Finalized(&alreadyFinalized), "MPI_Finalized")
        if alreadyFinalized != 0 {
            phase = .finalized
            throw ProcessGroupError.finalized
        }
        var alreadyInitialized: Int32 = 0
        try check(MPI_Initialized(&alreadyInitialized), "MPI_Initialized")
        var provided: Int32 = 0
        if alreadyInitialized != 0 {
            try check(MPI_Query_thread(&provided), "MPI_Query_thread")
        } else {
            // Errors in MPI_Init_thread itself are always fatal in MPI; the
            // error handler can only be changed afterwards.
            try check(MPI_Init_thread(nil, nil, requiredThreadLevel, &provided), "MPI_Init_thread")
        }
        phase = .initialized(ownsInitialization: alreadyInitialized == 0)
        providedThreadLevel = provided
        // Return error codes instead of aborting the job. Communicators
        // created from MPI_COMM_WORLD afterwards inherit this handler.
        try check(
            MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return()),
            "MPI_Comm_set_errhandler")
    }

    /// Throws unless MPI is initialized and not yet finalized. Must be called
    /// with the lock held.
    static func ensureUsableLocked() throws {
        guard case .initialized = phase else {
            throw ProcessGroupError.finalized
        }
    }

    /// Whether MPI is currently usable (initialized and not finalized).
    static var isUsableLocked: Bool {
        if case .initialized = phase { return true }
        return false
    }

    /// Records that a non-blocking collective started (`+1`) or finished
    /// (`-1`). Must be called with the lock held.
    static func adjustPendingRequestsLocked(by delta: Int) {
        pendingRequests += delta
    }

    /// Throws `ProcessGroupError.pendingRequests` while a started
    /// non-blocking collective has not finished. Must be called with the lock
    /// held.
    static func ensureNoPendingRequestsLocked() throws {
        guard pendingRequests == 0 else {
            throw ProcessGroupError.pendingRequests(pendingRequests)
        }
    }

    /// Finalizes MPI if this process initialized it. Idempotent. Must be
    /// called with the lock held.
    static func finalizeLocked() throws {
        guard case .initialized(let owns) = phase else { return }
        try ensureNoPendingRequestsLocked()
        phase = .finalized
        if owns {
            try check(MPI_Finalize(), "MPI_Finalize")
        }
    }
}

/// Turns an MPI return code into a thrown `ProcessGroupError.mpi`, with the
/// message from `MPI_Error_string`.
func check(_ code: Int32, _ function: @autoclosure () -> String) throws {
    guard code != cmpi_success() else { return }
    var text = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
    var length: Int32 = 0
    var message = "unknown MPI error"
    if MPI_Error_string(code, &text, &length) == cmpi_success() {
        let bytes = text.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        message = String(decoding: bytes, as: UTF8.self)
    }
    var errorClass: Int32 = code
    _ = MPI_Error_class(code, &errorClass)
    throw ProcessGroupError.mpi(
        function: function(), code: Int(code), errorClass: Int(errorClass), message: message)
}

/// The largest element count one MPI call accepts (`int` count argument).
let maximumMPICount = Int(Int32.max)

/// Splits `count` elements into consecutive ranges that each fit an MPI
/// count argument.
func mpiChunks(count: Int) -> [Range<Int>] {
    stride(from: 0, to: count, by: maximumMPICount).map { start in
        start ..< min(start + maximumMPICount, count)
    }
}
#endif
