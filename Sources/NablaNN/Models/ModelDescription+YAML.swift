import Foundation
import NablaTensor

extension ModelDescription {
    /// The description as a model file (YAML, one flow-style map per layer) that
    /// ``ModelDescription/parse(_:name:isJSON:)`` reads back to the same description.
    public var yaml: String {
        func argument(_ a: LayerArgument) -> String {
            switch a {
            case .list(let items): return "[" + items.map(argument).joined(separator: ", ") + "]"
            case .map(let m): return "{" + m.keys.sorted().map { "\($0): \(argument(m[$0]!))" }.joined(separator: ", ") + "}"
            default: return a.description
            }
        }
        let lines = layers.map { layer in
            "  - \(layer.type): " + argument(.map(layer.arguments))
        }
        return "# \(name)\nlayers:\n" + lines.joined(separator: "\n") + "\n"
    }
}


extension ModelDescription: Codable {
    private enum CodingKeys: String, CodingKey { case name, yaml, inputShape = "input_shape" }

    /// Encodes the description as its model-file text (``yaml``), which decoding parses back.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(yaml, forKey: .yaml)
        try container.encodeIfPresent(inputShape, forKey: .inputShape)
    }

    /// Parses the model-file text written by ``encode(to:)``.
    /// - Throws: a `DecodingError` carrying the parser's one-line message.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .name)
        let text = try container.decode(String.self, forKey: .yaml)
        do {
            self = try ModelDescription.parse(text, name: name)
        } catch let error as NablaError {
            throw DecodingError.dataCorruptedError(forKey: .yaml, in: container, debugDescription: error.message)
        }
        self.name = name
        inputShape = try container.decodeIfPresent([Int].self, forKey: .inputShape)
    }
}
