import NablaTensor

/// The `key=value&key=value` parameters after the `?` of a `--data` spec, read with range checks.
///
/// Each accessor removes the key it reads; ``finish()`` then rejects any key nobody read, listing
/// the accepted ones, so a typo (`sigam=0.1`) is an error rather than silently ignored.
public struct SpecParameters {
    private var values: [String: String]
    private var accepted: [String] = []
    private let spec: String

    /// Parses `query` (the text after `?`, possibly empty); `spec` is the whole spec for messages.
    init(_ query: String, spec: String) throws {
        self.spec = spec
        values = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw NablaError(.invalidArgument, "--data \(spec): parameter '\(pair)' is not key=value")
            }
            guard values[String(parts[0])] == nil else {
                throw NablaError(.invalidArgument, "--data \(spec): parameter '\(parts[0])' is given twice")
            }
            values[String(parts[0])] = String(parts[1])
        }
    }

    /// The integer `key` in `range`, or `defaultValue` when absent.
    public mutating func int(_ key: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        accepted.append(key)
        guard let text = values.removeValue(forKey: key) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw NablaError(.invalidArgument, "--data \(spec): \(key)=\(text) is not an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// The finite number `key` in `range`, or `defaultValue` when absent.
    public mutating func double(_ key: String, default defaultValue: Double, in range: ClosedRange<Double>) throws -> Double {
        accepted.append(key)
        guard let text = values.removeValue(forKey: key) else { return defaultValue }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw NablaError(.invalidArgument, "--data \(spec): \(key)=\(text) is not a number in [\(range.lowerBound), \(range.upperBound)]")
        }
        return value
    }

    /// The value of `key`, one of `choices` (their raw values), or `defaultValue` when absent.
    public mutating func choice<T: RawRepresentable>(_ key: String, default defaultValue: T, _ choices: [T]) throws -> T where T.RawValue == String {
        accepted.append(key)
        guard let text = values.removeValue(forKey: key) else { return defaultValue }
        guard let value = choices.first(where: { $0.rawValue == text }) else {
            throw NablaError(.invalidArgument, "--data \(spec): \(key)=\(text) is not one of \(choices.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    /// The string `key`, or `nil` when absent.
    public mutating func string(_ key: String) -> String? {
        accepted.append(key)
        return values.removeValue(forKey: key)
    }

    /// Fails if a parameter was given that no accessor read.
    public func finish() throws {
        guard let unknown = values.keys.sorted().first else { return }
        let list = accepted.isEmpty ? "it takes no parameters" : "accepted: \(accepted.joined(separator: ", "))"
        throw NablaError(.invalidArgument, "--data \(spec): unknown parameter '\(unknown)' (\(list))")
    }
}
