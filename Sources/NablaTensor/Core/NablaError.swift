/// The error every user-facing failure throws: one line naming the input and what is wrong with it.
///
/// Library misuse (a programming error) traps with a `precondition`; anything a user supplies —
/// files, flags, model descriptions, hyper-parameters read from a command line — throws this.
public struct NablaError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Broad categories, for callers that branch on the kind of failure.
    public enum Kind: String, Sendable {
        case invalidArgument, invalidFile, shapeMismatch, missingKey, unexpectedKey, io, nonFinite
    }

    public let kind: Kind
    /// The one-line message, naming the input and the problem.
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
