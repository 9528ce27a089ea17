import Foundation
import NablaTensor

/// A keyword argument of a layer in a model description: the YAML/JSON scalar or list as written.
public enum LayerArgument: Equatable, Sendable, CustomStringConvertible {
    /// An integer (`5`).
    case int(Int)
    /// A real number (`0.5`, `1e-5`).
    case double(Double)
    /// A boolean (`true`, `false`).
    case bool(Bool)
    /// A string (`"same"`).
    case string(String)
    /// A list (`[3, 3]`).
    case list([LayerArgument])
    /// A map of further arguments (a residual block's `branch`).
    case map([String: LayerArgument])
    /// `null` (PyTorch's `None`, e.g. `momentum: null`).
    case null

    /// The argument as YAML writes it: `5`, `0.5`, `true`, `"same"`, `[3, 3]`, `{a: 1}`, `null`.
    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .bool(let v): return v ? "true" : "false"
        case .string(let v): return "\"\(v)\""
        case .list(let vs): return "[" + vs.map(\.description).joined(separator: ", ") + "]"
        case .map(let m): return "{" + m.keys.sorted().map { "\($0): \(m[$0]!)" }.joined(separator: ", ") + "}"
        case .null: return "null"
        }
    }
}

/// One layer of a model description: a PyTorch `torch.nn` class name and its keyword arguments.
public struct LayerDescription: Equatable, Sendable {
    /// The `torch.nn` class name as written (matched case-insensitively), e.g. `Conv2d`.
    public var type: String
    /// The keyword arguments by PyTorch name (`in_channels`, `kernel_size`, …).
    public var arguments: [String: LayerArgument]
    /// A layer of type `type` with `arguments` (none by default).
    public init(_ type: String, _ arguments: [String: LayerArgument] = [:]) {
        self.type = type
        self.arguments = arguments
    }
}

/// A sequential model described as data — a model file or a built-in name:
///
/// ```yaml
/// layers:
///   - Conv2d: {in_channels: 1, out_channels: 6, kernel_size: 5, padding: 2}
///   - ReLU: {}
///   - Flatten: {}
///   - Linear: {in_features: 1176, out_features: 10}
/// ```
///
/// `layers` is a list of one-key maps whose key is the `torch.nn` class name (case-insensitive) and
/// whose value holds its PyTorch keyword arguments. Parameter keys are the layer indices, as in
/// `nn.Sequential` (`0.weight`, `1.running_mean`). JSON files use the same structure.
public struct ModelDescription: Equatable, Sendable {
    /// The model's name (the file name or the built-in name), for summaries and reports.
    public var name: String
    /// The layers, in order.
    public var layers: [LayerDescription]
    /// The shape of one input sample, when the description fixes it (built-in models do).
    public var inputShape: [Int]?

    /// A description of `layers`; `inputShape` fixes the per-sample input shape (`nil`: taken from the data).
    public init(name: String, layers: [LayerDescription], inputShape: [Int]? = nil) {
        self.name = name
        self.layers = layers
        self.inputShape = inputShape
    }

    /// Reads a `.yaml`/`.yml` or `.json` model file.
    /// - Throws: ``/NablaTensor/NablaError`` naming the file and, for a bad entry, the layer index.
    public static func read(from url: URL) throws -> ModelDescription {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw NablaError(.io, "\(url.path): cannot read model file (\(exists ? "unreadable or not UTF-8" : "no such file"))")
        }
        return try parse(text, name: url.path, isJSON: url.pathExtension.lowercased() == "json")
    }

    /// Parses model-file text; `name` is used in messages.
    public static func parse(_ text: String, name: String, isJSON: Bool = false) throws -> ModelDescription {
        func fail(_ why: String) -> NablaError { NablaError(.invalidFile, "\(name): \(why)") }
        let root: LayerArgument?
        if isJSON {
            let json: Any
            do { json = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) } catch {
                throw fail("not valid JSON")
            }
            guard let converted = convert(json) else { throw fail("holds a number that is not finite or does not fit a 64-bit integer") }
            root = converted
        } else {
            root = try YAMLModelReader.load(text, name: name)
        }
        guard case .map(let top)? = root else { throw fail("expected a map with a 'layers' list at the top level") }
        if let unknown = top.keys.sorted().first(where: { !["layers", "input_shape", "name"].contains($0) }) {
            throw fail("unknown top-level key '\(unknown)' (expected layers, input_shape, name)")
        }
        guard let list = top["layers"] else { throw fail("'layers' must be a list of one-key maps") }
        let layers = try layerList(list, context: name)
        var inputShape: [Int]?
        if let shape = top["input_shape"] {
            guard case .list(let items) = shape,
                  case let extents = items.compactMap({ if case .int(let v) = $0 { return v } else { return nil } }),
                  extents.count == items.count, !extents.isEmpty, extents.allSatisfy({ $0 > 0 }) else {
                throw fail("input_shape must be a list of positive integers, e.g. [1, 28, 28]")
            }
            inputShape = extents
        }
        var modelName = name
        if let declared = top["name"] {
            guard case .string(let text) = declared else { throw fail("'name' must be a string") }
            modelName = text
        }
        return ModelDescription(name: modelName, layers: layers, inputShape: inputShape)
    }

    /// Reads a list of one-key maps `- Type: {kwargs}` (the top-level `layers`, or a nested one such as
    /// a `Residual`'s) into layer descriptions.
    public static func layerList(_ value: LayerArgument, context: String) throws -> [LayerDescription] {
        func fail(_ why: String) -> NablaError { NablaError(.invalidFile, "\(context): \(why)") }
        guard case .list(let items) = value else { throw fail("'layers' must be a list of one-key maps") }
        guard !items.isEmpty else { throw fail("'layers' is empty") }
        return try items.enumerated().map { index, item in
            guard case .map(let map) = item, map.count == 1, let (type, arguments) = map.first else {
                throw fail("layer \(index) must be a one-key map like '- Linear: {in_features: 4, out_features: 2}'")
            }
            switch arguments {
            case .null: return LayerDescription(type)
            case .map(let kwargs): return LayerDescription(type, kwargs)
            default: throw fail("layer \(index) (\(type)): arguments must be a map of keyword arguments")
            }
        }
    }

    /// A JSONSerialization value as a ``LayerArgument`` (`nil` for non-finite numbers).
    private static func convert(_ raw: Any) -> LayerArgument? {
        if raw is NSNull { return .null }
        if let s = raw as? String { return .string(s) }
        if let l = raw as? [Any] {
            let items = l.map(convert)
            guard items.allSatisfy({ $0 != nil }) else { return nil }
            return .list(items.map { $0! })
        }
        if let m = raw as? [String: Any] {
            var out: [String: LayerArgument] = [:]
            for (k, v) in m {
                guard let c = convert(v) else { return nil }
                out[k] = c
            }
            return .map(out)
        }
        if let n = raw as? NSNumber {
            if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
            let d = n.doubleValue
            guard d.isFinite else { return nil }
            let typeCode = String(cString: n.objCType)
            if ["d", "f"].contains(typeCode) { return .double(d) }
            if typeCode == "Q" && n.uint64Value > UInt64(Int.max) { return nil }
            return .int(n.intValue)
        }
        return nil
    }
}
