import NablaTensor

/// Typed access to a layer's keyword arguments with one-line errors that name the layer, the
/// argument and the value. Every argument read is recorded, so leftovers can be reported as unknown.
public struct LayerArguments {
    /// Where the layer stands, e.g. `"layer 3 (Conv2d)"`.
    public let context: String
    private let values: [String: LayerArgument]
    private var used: Set<String> = []

    /// The arguments `values` of the layer described by `context` (e.g. `"layer 3 (Conv2d)"`), none read yet.
    public init(_ values: [String: LayerArgument], context: String) {
        self.values = values
        self.context = context
    }

    func fail(_ message: String) -> NablaError { NablaError(.invalidArgument, "\(context): \(message)") }

    /// A required integer.
    public mutating func int(_ name: String) throws -> Int {
        guard let v = try optionalInt(name) else { throw fail("missing required argument '\(name)'") }
        return v
    }

    /// An optional integer (absent or null → `nil`).
    public mutating func optionalInt(_ name: String) throws -> Int? {
        used.insert(name)
        switch values[name] {
        case nil, .null?: return nil
        case .int(let v)?: return v
        case let other?: throw fail("argument '\(name)' must be an integer, got \(other)")
        }
    }

    /// An integer with a default.
    public mutating func int(_ name: String, default value: Int) throws -> Int { try optionalInt(name) ?? value }

    /// A positive integer with an optional default.
    public mutating func positiveInt(_ name: String, default value: Int? = nil) throws -> Int {
        let v = try value.map { try int(name, default: $0) } ?? int(name)
        guard v > 0 else { throw fail("argument '\(name)' must be positive, got \(v)") }
        return v
    }

    /// A real number (integers accepted), with an optional default.
    public mutating func double(_ name: String, default value: Double? = nil) throws -> Double {
        guard let v = try optionalDouble(name) ?? value else { throw fail("missing required argument '\(name)'") }
        return v
    }

    /// An optional real number (absent or null → `nil`).
    public mutating func optionalDouble(_ name: String) throws -> Double? {
        used.insert(name)
        switch values[name] {
        case nil, .null?: return nil
        case .int(let v)?: return Double(v)
        case .double(let v)?: return v
        case let other?: throw fail("argument '\(name)' must be a number, got \(other)")
        }
    }

    /// A number that may be written as `null` (PyTorch's `momentum=None`): absent → `value`, null → `nil`.
    public mutating func nullableDouble(_ name: String, default value: Double?) throws -> Double? {
        if case .null? = raw(name) { return nil }
        return try optionalDouble(name) ?? value
    }

    /// Whether the argument is present and not null.
    public func isPresent(_ name: String) -> Bool {
        if case .null? = values[name] { return false }
        return values[name] != nil
    }

    /// A boolean with a default.
    public mutating func bool(_ name: String, default value: Bool) throws -> Bool {
        used.insert(name)
        switch values[name] {
        case nil, .null?: return value
        case .bool(let v)?: return v
        case let other?: throw fail("argument '\(name)' must be true or false, got \(other)")
        }
    }

    /// A string with an optional default.
    public mutating func string(_ name: String, default value: String? = nil) throws -> String {
        used.insert(name)
        switch values[name] {
        case nil, .null?:
            guard let value else { throw fail("missing required argument '\(name)'") }
            return value
        case .string(let v)?: return v
        case let other?: throw fail("argument '\(name)' must be a string, got \(other)")
        }
    }

    /// An integer or a pair of integers (PyTorch's `_pair`: `3` means `(3, 3)`), with a default.
    public mutating func pair(_ name: String, default value: (Int, Int)? = nil) throws -> (Int, Int) {
        used.insert(name)
        switch values[name] {
        case nil, .null?:
            guard let value else { throw fail("missing required argument '\(name)'") }
            return value
        case .int(let v)?: return (v, v)
        case .list(let items)? where items.count == 2:
            if case .int(let a) = items[0], case .int(let b) = items[1] { return (a, b) }
            throw fail("argument '\(name)' must be an integer or a pair of integers, got \(values[name]!)")
        case let other?: throw fail("argument '\(name)' must be an integer or a pair of integers, got \(other)")
        }
    }

    /// A list of positive integers, or a single integer as a one-element list.
    public mutating func intList(_ name: String) throws -> [Int] {
        used.insert(name)
        switch values[name] {
        case .int(let v)?: return [v]
        case .list(let items)?:
            let ints = items.compactMap { item -> Int? in if case .int(let v) = item { return v } else { return nil } }
            guard ints.count == items.count, !ints.isEmpty else {
                throw fail("argument '\(name)' must be a list of integers, got \(values[name]!)")
            }
            return ints
        case nil, .null?: throw fail("missing required argument '\(name)'")
        case let other?: throw fail("argument '\(name)' must be a list of integers, got \(other)")
        }
    }

    /// The raw value of an argument (for nested structures), marking it used.
    public mutating func raw(_ name: String) -> LayerArgument? {
        used.insert(name)
        return values[name]
    }

    /// Marks every argument as read: for layers that ignore their arguments, as PyTorch's
    /// `nn.Identity(*args, **kwargs)` does.
    public mutating func ignoreRemaining() { used.formUnion(values.keys) }

    /// Throws if any argument was never read (an unknown keyword), naming the first in sorted order.
    public func rejectUnknown(accepted: [String] = []) throws {
        if let unknown = values.keys.sorted().first(where: { !used.contains($0) }) {
            let known = used.union(accepted).sorted().joined(separator: ", ")
            throw fail("unknown argument '\(unknown)'" + (known.isEmpty ? " (this layer takes none)" : " (accepted: \(known))"))
        }
    }
}
