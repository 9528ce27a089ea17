import CYaml
import Foundation
import Yams
import NablaTensor

/// Reads the YAML of a model file into ``LayerArgument`` values, safely.
///
/// Yams' ready-made `Yams.load` is not safe on hostile text: its constructor traps on a mapping
/// key that is not a scalar (`? [a]: 1`, a force unwrap in `Constructor.swift`), and aliases expand
/// without limit, so ten nested anchors of ten aliases each (the "billion laughs" bomb) ask for
/// 10⁹ values — and hashing an aliased key while checking for duplicates costs as much time. So:
///
/// 1. ``checkLimits(_:name:)`` walks libyaml's event stream once (linear in the text, no tree) and
///    counts the nodes the document *expands* to — a scalar or collection counts 1, an alias the
///    expanded size of its anchor — and the nesting depth, rejecting a document beyond
///    ``maximumNodeCount`` nodes or ``maximumDepth`` levels before Yams builds anything.
/// 2. `Yams.compose` builds the node tree (aliases share storage, and keys are hashed within the
///    budget checked above).
/// 3. ``convert(_:name:)`` turns nodes into values itself: keys must be scalars; plain scalars are
///    resolved with Yams' YAML 1.1 tag resolver and parsed here with overflow checks (a 30-digit
///    integer is an error naming its line, not a trap); other tags keep their text.
enum YAMLModelReader {
    /// The most nodes a model document may expand to; real model files hold a few hundred.
    static let maximumNodeCount = 100_000
    /// The deepest nesting of collections a model document may have.
    static let maximumDepth = 100

    /// The document of `text` as a value tree; `name` (the file) prefixes errors.
    static func load(_ text: String, name: String) throws -> LayerArgument? {
        try checkLimits(text, name: name)
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            let firstLine = String(describing: error).split(separator: "\n").first.map(String.init) ?? "syntax error"
            throw NablaError(.invalidFile, "\(name): not valid YAML (\(firstLine))")
        }
        return try root.map { try convert($0, name: name) }
    }

    /// Rejects documents that expand beyond ``maximumNodeCount`` nodes or nest deeper than
    /// ``maximumDepth``. Syntax errors are left to Yams, which reports them with a position.
    static func checkLimits(_ text: String, name: String) throws {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw NablaError(.io, "\(name): cannot initialize the YAML parser") }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        let count = bytes.count
        bytes.append(0)   // libyaml needs a non-null pointer even for empty input
        try bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, count)
            var expanded = 0
            var anchorSizes: [String: Int] = [:]
            var open: [(anchor: String?, start: Int)] = []
            func anchorName(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
                pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            }
            func add(_ nodes: Int) throws {
                expanded += nodes
                guard expanded <= maximumNodeCount else {
                    throw NablaError(.invalidFile, "\(name): the YAML document expands to more than \(maximumNodeCount) nodes "
                                     + "(aliases of aliases — a 'billion laughs' bomb?)")
                }
            }
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return
                case YAML_SCALAR_EVENT:
                    try add(1)
                    if let anchor = anchorName(event.data.scalar.anchor) { anchorSizes[anchor] = 1 }
                case YAML_ALIAS_EVENT:
                    try add(anchorName(event.data.alias.anchor).flatMap { anchorSizes[$0] } ?? 1)
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    try add(1)
                    let anchor = event.type == YAML_SEQUENCE_START_EVENT ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
                    open.append((anchorName(anchor), expanded - 1))
                    guard open.count <= maximumDepth else {
                        throw NablaError(.invalidFile, "\(name): the YAML document nests deeper than \(maximumDepth) levels")
                    }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    if let (anchor, start) = open.popLast(), let anchor { anchorSizes[anchor] = expanded - start }
                default:
                    break
                }
            }
        }
    }

    /// The value of `node`; mapping keys must be scalars.
    static func convert(_ node: Node, name: String) throws -> LayerArgument {
        func fail(_ why: String) -> NablaError {
            NablaError(.invalidFile, "\(name):\(node.mark.map { " line \($0.line):" } ?? "") \(why)")
        }
        switch node {
        case .scalar(let scalar):
            return try value(of: scalar.string, tag: node.tag.description, fail: fail)
        case .sequence(let sequence):
            return .list(try sequence.map { try convert($0, name: name) })
        case .mapping(let mapping):
            var result: [String: LayerArgument] = [:]
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else { throw fail("a mapping key must be a plain string, not a list or map") }
                result[keyScalar.string] = try convert(value, name: name)
            }
            return .map(result)
        case .alias:
            throw fail("unresolved alias")
        }
    }

    /// A scalar as null, bool, int, finite double or string, by its resolved YAML 1.1 tag.
    private static func value(of text: String, tag: String, fail: (String) -> NablaError) throws -> LayerArgument {
        switch tag {
        case Tag.Name.null.rawValue:
            return .null
        case Tag.Name.bool.rawValue:
            switch text.lowercased() {
            case "true", "yes", "on", "y": return .bool(true)
            case "false", "no", "off", "n": return .bool(false)
            default: return .string(text)
            }
        case Tag.Name.int.rawValue:
            guard let v = integer(text) else { throw fail("integer '\(text.prefix(40))' is out of range or not supported") }
            return .int(v)
        case Tag.Name.float.rawValue:
            guard let v = Double(text.replacingOccurrences(of: "_", with: "")), v.isFinite else {
                throw fail("number '\(text.prefix(40))' is not a finite decimal number")
            }
            return .double(v)
        default:
            return .string(text)
        }
    }

    /// A YAML 1.1 integer (`123`, `-4`, `1_000`, `0x1F`, `0o17`, `0b101`), or `nil` when it
    /// overflows `Int` or uses a form Nabla does not read (sexagesimal `1:30`).
    private static func integer(_ text: String) -> Int? {
        var digits = Substring(text.replacingOccurrences(of: "_", with: ""))
        var negative = false
        if let sign = digits.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        var radix = 10
        for (prefix, base) in [("0x", 16), ("0o", 8), ("0b", 2)] where digits.lowercased().hasPrefix(prefix) {
            radix = base
            digits = digits.dropFirst(2)
        }
        guard !digits.isEmpty, let magnitude = Int(digits, radix: radix) else { return nil }
        return negative ? -magnitude : magnitude
    }
}
