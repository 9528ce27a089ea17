import Foundation
import NablaTensor

/// How a `--data` spec names a form of dataset.
public enum DatasetPattern: Equatable, Sendable {
    /// The whole spec is this name (`fashion-mnist`).
    case name(String)
    /// The spec starts with `SCHEME:` (`mnist` for `mnist:DIR`); the rest up to the last `?` is the
    /// form's body, what follows the `?` its parameters.
    case scheme(String)
    /// The spec is a path ending in `.EXT`, any case (`npz`), optionally followed by `?parameters`.
    case fileExtension(String)

    /// How the pattern is written in messages (`fashion-mnist`, `mnist:`, `.npz`).
    public var description: String {
        switch self {
        case .name(let name): return name
        case .scheme(let scheme): return scheme + ":"
        case .fileExtension(let ext): return "." + ext
        }
    }
}

/// What a dataset form reads from a `--data` spec.
public struct DatasetSpec {
    /// The whole spec, for messages.
    public let spec: String
    /// The part after the scheme (`DIR` of `mnist:DIR`), the path of a file form, or `""` for a
    /// name; without the `?parameters`.
    public let body: String
    /// The `?key=value&…` parameters. Each accessor consumes its key; a key nobody read is an error
    /// after the form has parsed.
    public var parameters: SpecParameters
    /// `--target COL` from the command line, for forms that accept it (`nil` otherwise).
    public let target: String?
}

/// A form of `--data` spec: its pattern, grammar and help, and how it becomes a ``DatasetSource``.
public struct DatasetForm: Sendable {
    /// What the spec looks like.
    public let pattern: DatasetPattern
    /// The grammar, for help and messages (`mnist:DIR[?classes=N]`).
    public let grammar: String
    /// One line for help.
    public let summary: String
    /// Whether `--target COL` applies (tables).
    public let acceptsTarget: Bool
    /// Reads the spec; ``SpecParameters`` and `NablaError` report bad values in one line.
    public let parse: @Sendable (inout DatasetSpec) throws -> DatasetSource

    /// A form matching `pattern`, described by `grammar` and `summary`, whose specs `parse` reads.
    public init(_ pattern: DatasetPattern, grammar: String, summary: String, acceptsTarget: Bool = false,
                parse: @escaping @Sendable (inout DatasetSpec) throws -> DatasetSource) {
        self.pattern = pattern
        self.grammar = grammar
        self.summary = summary
        self.acceptsTarget = acceptsTarget
        self.parse = parse
    }
}

/// Every form a `--data` spec can take, found by name, then scheme, then file extension;
/// ``DatasetSource/parse(_:target:)`` dispatches through it, and help and messages list it. A form
/// defined elsewhere is registered once, before a spec uses it:
///
/// ```swift
/// DatasetRegistry.register(DatasetForm(.scheme("constant"), grammar: "constant:N", summary: "N samples of ones") { spec in
///     guard let n = Int(spec.body), n > 0 else { throw NablaError(.invalidArgument, "--data \(spec.spec): N must be positive") }
///     return .custom(CustomDataset(spec: spec.spec) { _ in (ones(n), nil) })
/// })
/// ```
///
/// The registry is safe to use from several threads.
public enum DatasetRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var registered: [DatasetForm] = builtIns

    /// Registers `form`; registering the same form (same pattern and grammar) again does nothing.
    /// - Precondition: no other form has its pattern.
    public static func register(_ form: DatasetForm) {
        lock.lock()
        defer { lock.unlock() }
        if let existing = registered.first(where: { key($0.pattern) == key(form.pattern) }) {
            precondition(existing.grammar == form.grammar, "dataset form \(form.pattern.description) is already registered as \(existing.grammar)")
            return
        }
        registered.append(form)
    }

    /// Every registered form, built-ins first, in registration order.
    public static var forms: [DatasetForm] {
        lock.lock()
        defer { lock.unlock() }
        return registered
    }

    /// Every form's grammar, comma-separated, for messages and help.
    public static var acceptedForms: String { forms.map(\.grammar).joined(separator: ", ") }

    /// Patterns compare by kind and case-folded extension.
    private static func key(_ pattern: DatasetPattern) -> DatasetPattern {
        if case .fileExtension(let ext) = pattern { return .fileExtension(ext.lowercased()) }
        return pattern
    }

    /// The form `spec` names, with its body and parameter text: an exact name first, then a
    /// scheme, then a file extension (of the whole spec, or of the part before its last `?`).
    static func match(_ spec: String) -> (form: DatasetForm, body: String, query: String)? {
        let forms = self.forms
        for form in forms {
            if case .name(let name) = form.pattern, spec == name { return (form, "", "") }
        }
        for form in forms {
            guard case .scheme(let scheme) = form.pattern, spec.hasPrefix(scheme + ":") else { continue }
            let rest = spec.dropFirst(scheme.count + 1)
            guard let mark = rest.lastIndex(of: "?") else { return (form, String(rest), "") }
            return (form, String(rest[..<mark]), String(rest[rest.index(after: mark)...]))
        }
        func fileExtension(_ path: Substring) -> String? {
            guard let dot = path.lastIndex(of: "."), !path[..<dot].hasSuffix("/"), dot != path.startIndex else { return nil }
            return path[path.index(after: dot)...].lowercased()
        }
        func form(forExtension ext: String?) -> DatasetForm? {
            forms.first { if case .fileExtension(let e) = $0.pattern { return e.lowercased() == ext } else { return false } }
        }
        if let form = form(forExtension: fileExtension(spec[...])) { return (form, spec, "") }
        if let mark = spec.lastIndex(of: "?"), let form = form(forExtension: fileExtension(spec[..<mark])) {
            return (form, String(spec[..<mark]), String(spec[spec.index(after: mark)...]))
        }
        return nil
    }
}
