import NablaTensor

/// Hyper-parameter checks with PyTorch's messages, which echo the bad value — for the
/// ``OptimizerOptions/validate(group:)`` of every optimizer, built-in or not.
public enum HyperparameterCheck {
    /// Appended to a message for groups after the first, so the user knows where the value came from:
    /// `""` for group 0, `" (parameter group 2)"` otherwise.
    public static func location(_ group: Int) -> String { group == 0 ? "" : " (parameter group \(group))" }

    /// Throws `"<message>: <value>"` unless `0 ≤ value` (also rejects NaN).
    public static func nonNegative(_ value: Double, _ message: String, group: Int) throws {
        guard value >= 0 else { throw NablaError(.invalidArgument, "\(message): \(value)\(location(group))") }
    }

    /// Throws `"Invalid beta parameter at index <index>: <value>"` unless `0 ≤ value < 1`.
    public static func beta(_ value: Double, index: Int, group: Int) throws {
        guard value >= 0 && value < 1 else {
            throw NablaError(.invalidArgument, "Invalid beta parameter at index \(index): \(value)\(location(group))")
        }
    }

    /// Throws `"<message>: <value>"` unless `0 ≤ value ≤ 1` (also rejects NaN).
    public static func unitInterval(_ value: Double, _ message: String, group: Int) throws {
        guard value >= 0 && value <= 1 else { throw NablaError(.invalidArgument, "\(message): \(value)\(location(group))") }
    }
}
