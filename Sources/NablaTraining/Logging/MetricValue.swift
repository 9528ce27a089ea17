import NablaTensor

/// One cell of a metrics row: a number, an integer (epoch, step) or a piece of text (run name).
///
/// Literals work directly: `["epoch": 3, "train_loss": 0.25, "run": "baseline"]`; computed values
/// are wrapped as `.number(loss)` / `.integer(step)`.
public enum MetricValue: Equatable, Sendable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral, CustomStringConvertible {
    /// A real number, written with the shortest round-trip decimal (`nan`, `inf`, `-inf` in CSV).
    case number(Double)
    /// An integer such as an epoch or a step.
    case integer(Int)
    /// A piece of text such as a run name.
    case text(String)

    /// A floating-point literal as ``number(_:)``.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// An integer literal as ``integer(_:)``.
    public init(integerLiteral value: Int) { self = .integer(value) }
    /// A string literal as ``text(_:)``.
    public init(stringLiteral value: String) { self = .text(value) }

    /// The value as CSV writes it: shortest round-trip decimal for numbers (`0.1`, `1e-05`), `nan`,
    /// `inf` and `-inf` for non-finite numbers (Python's `float()` and pandas read all of these).
    public var description: String {
        switch self {
        case .number(let x):
            if x.isNaN { return "nan" }
            if x.isInfinite { return x > 0 ? "inf" : "-inf" }
            return "\(x)"
        case .integer(let n): return "\(n)"
        case .text(let s): return s
        }
    }

    /// The value as a JSON token. JSON has no NaN or infinity, so those become `null`.
    public var jsonToken: String {
        switch self {
        case .number(let x): return x.isFinite ? "\(x)" : "null"
        case .integer(let n): return "\(n)"
        case .text(let s): return Self.jsonString(s)
        }
    }

    /// `s` as a JSON string literal (RFC 8259 §7); see ``/NablaTensor/jsonStringLiteral(_:)``.
    public static func jsonString(_ s: String) -> String { jsonStringLiteral(s) }
}
