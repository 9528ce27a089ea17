import NablaTensor

/// The `:`-separated fields of one schedule in a `--schedule` spec (`cosine:45:1e-4` →
/// `["cosine", "45", "1e-4"]`), read with one-line errors that quote the whole spec.
public struct ScheduleFields: Sendable {
    /// The whole spec, for messages (`warmup:5+cosine:45`).
    public let spec: String
    /// The fields; the first is the schedule's name.
    public let fields: [String]

    /// The fields of `part`, one schedule of `spec`.
    public init(_ part: String, spec: String) {
        self.spec = spec
        fields = part.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    }

    /// The schedule's name, as written.
    public var name: String { fields[0] }

    /// The number of fields, the name included.
    public var count: Int { fields.count }

    /// `--schedule SPEC: why`.
    public func fail(_ why: String) -> NablaError { NablaError(.invalidArgument, "--schedule \(spec): \(why)") }

    /// Throws unless there are at most `count` fields, the name included.
    public func allow(atMost count: Int) throws {
        if fields.count > count { throw fail("too many values for \(name)") }
    }

    /// Field `index` as a finite number, or `defaultValue` when absent.
    /// - Throws: ``/NablaTensor/NablaError`` when the field is missing without a default or is not a number;
    ///   `what` names it.
    public func number(_ index: Int, _ what: String, default defaultValue: Double? = nil) throws -> Double {
        guard index < fields.count else {
            if let defaultValue { return defaultValue }
            throw fail("missing \(what)")
        }
        guard let value = Double(fields[index]), value.isFinite else { throw fail("\(what) '\(fields[index])' is not a number") }
        return value
    }

    /// Field `index` as a positive integer, or `defaultValue` when absent.
    /// - Throws: ``/NablaTensor/NablaError`` when the field is missing without a default or is not a positive integer.
    public func positiveInteger(_ index: Int, _ what: String, default defaultValue: Int? = nil) throws -> Int {
        if index >= fields.count, let defaultValue { return defaultValue }
        guard index < fields.count, let value = Int(fields[index]), value > 0 else { throw fail("\(what) must be a positive integer") }
        return value
    }

    /// Field `index` as comma-separated positive integers (`30,60`).
    /// - Throws: ``/NablaTensor/NablaError`` when the field is missing or holds anything else.
    public func positiveIntegers(_ index: Int, _ what: String) throws -> [Int] {
        guard index < fields.count else { throw fail("missing \(what)") }
        let values = fields[index].split(separator: ",").map { Int($0) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else { throw fail("\(what) must be positive integers like 30,60") }
        return values.map { $0! }
    }
}
