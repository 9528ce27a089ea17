/// The errors that process groups throw.
public enum ProcessGroupError: Error, Equatable, CustomStringConvertible {
    /// An MPI call returned an error code instead of `MPI_SUCCESS`.
    ///
    /// `message` is MPI's own text for `code` (from `MPI_Error_string`), and
    /// `errorClass` its portable class (from `MPI_Error_class`), e.g.
    /// `MPI_ERR_ROOT`.
    case mpi(function: String, code: Int, errorClass: Int, message: String)

    /// A collective named a root outside `0 ..< size`.
    case invalidRoot(Int, size: Int)

    /// The MPI library was already finalized in this process; it cannot be
    /// used, nor initialized again.
    case finalized

    /// `finalize()` was called while started collectives had not completed.
    case pendingRequests(Int)

    /// MPI was initialized with a lower thread support level than this
    /// library requires.
    case unsupportedThreadLevel(provided: Int, required: Int)

    /// A message was longer than one MPI call can carry.
    case countTooLarge(Int)

    /// `allGather(_:)` received a byte count that is not a whole number of
    /// elements, which means the ranks passed arrays of different types.
    case mismatchedElementSize(byteCount: Int, stride: Int)

    /// The process was started by a multi-process launcher (`mpirun`, `srun`,
    /// ...), but this build has no MPI support (the `MPI` package trait is
    /// disabled); running on would make every rank train alone.
    case launchedWithoutMPISupport(variable: String, size: Int?)

    /// The error as one line, MPI's own message included.
    public var description: String {
        switch self {
        case let .mpi(function, code, errorClass, message):
            return "\(function) failed: \(message) (error code \(code), class \(errorClass))"
        case let .invalidRoot(root, size):
            return "root \(root) is not a rank of a group of size \(size)"
        case .finalized:
            return "MPI has already been finalized in this process"
        case let .pendingRequests(count):
            return "cannot finalize MPI with \(count) unfinished non-blocking collective(s)"
        case let .unsupportedThreadLevel(provided, required):
            return "MPI provides thread level \(provided), but level \(required) is required"
        case let .countTooLarge(count):
            return "\(count) elements exceed what one MPI call can transfer"
        case let .mismatchedElementSize(byteCount, stride):
            return "a rank sent \(byteCount) bytes, not a multiple of the element size \(stride);"
                + " the ranks disagree on the element type"
        case let .launchedWithoutMPISupport(variable, size):
            let sizeText = size.map { " with \($0) processes" } ?? ""
            return "started by an MPI launcher (\(variable) is set)\(sizeText),"
                + " but this build has no MPI support (package trait MPI disabled)"
        }
    }
}
