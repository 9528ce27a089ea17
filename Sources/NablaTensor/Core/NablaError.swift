/// The error every user-facing failure throws: one line naming the input and what is wrong with it.
///
/// Library misuse (a programming error) traps with a `precondition`; anything a user supplies —
/// files, flags, model descriptions, hyper-parameters read from a command line — throws this.
public struct NablaError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Broad categories, for callers that branch on the kind of failure.
    public enum Kind: String, Sendable {
        /// A value out of range or malformed: a flag, a hyper-parameter, a spec string.
        case invalidArgument
        /// A file that is not of the expected format, or corrupt.
        case invalidFile
        /// Shapes that do not fit: a model and its data, a state dict and its module.
        case shapeMismatch
        /// A state dict or file lacks an entry the receiver needs.
        case missingKey
        /// A state dict or file has an entry the receiver does not know.
        case unexpectedKey
        /// A file or directory that cannot be read, written or created.
        case io
        /// A NaN or infinity where a finite number is required (a diverged loss, a data value).
        case nonFinite
    }

    /// The category of the failure.
    public let kind: Kind
    /// The one-line message, naming the input and the problem.
    public let message: String

    /// An error of `kind` with the one-line `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message, so that printing the error prints one line.
    public var description: String { message }
}
