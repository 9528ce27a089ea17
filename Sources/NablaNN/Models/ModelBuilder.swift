import Foundation
import NablaTensor

/// A model built from a ``ModelDescription``, with the per-layer summary of its shapes.
public struct BuiltModel {
    /// One row of the summary: what `nabla summary` prints.
    public struct LayerSummary: Equatable, Sendable {
        /// The layer's position in the model, from 0 (its state-dict prefix).
        public let index: Int
        /// The layer as PyTorch prints it, e.g. `Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))`.
        public let description: String
        /// The per-sample output shape (without the batch axis).
        public let outputShape: [Int]
        /// The number of trainable parameter elements of the layer.
        public let parameterCount: Int
    }

    /// The model, a ``Sequential`` whose child `i` is layer `i` of the description.
    public let model: Sequential<Float>
    /// The per-sample input shape the model was built for.
    public let inputShape: [Int]
    /// The per-sample output shape.
    public let outputShape: [Int]
    /// One summary row per layer.
    public let layers: [LayerSummary]

    /// One line per layer (index, layer with its arguments, output shape with batch `N`, parameters),
    /// then the total.
    public var summary: String {
        func shape(_ s: [Int]) -> String { "[N, " + s.map(String.init).joined(separator: ", ") + "]" }
        let width = max(24, layers.map { $0.description.count }.max() ?? 0)
        var lines = ["#    " + "layer".padding(toLength: width, withPad: " ", startingAt: 0) + "  output shape          parameters"]
        lines.append("-    " + "input".padding(toLength: width, withPad: " ", startingAt: 0) + "  " + shape(inputShape))
        for l in layers {
            lines.append(String(l.index).padding(toLength: 5, withPad: " ", startingAt: 0)
                         + l.description.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                         + shape(l.outputShape).padding(toLength: 22, withPad: " ", startingAt: 0)
                         + String(l.parameterCount))
        }
        lines.append("total parameters: \(model.parameterCount)")
        return lines.joined(separator: "\n")
    }
}

/// Size limits that turn a hostile or mistyped model description (`out_features: 1000000000000`)
/// into a one-line error instead of an allocation attempt.
public enum ModelLimits {
    /// The most elements a described model may ask for in one place — its parameter count, one
    /// layer's weights or buffers, one sample's input or activation: 10⁸ (400 MB of `Float` before
    /// gradients and optimizer state), far beyond the models a CPU trains.
    nonisolated(unsafe) public static var maximumElementCount = 100_000_000

    /// The product of `extents` if it is at most ``maximumElementCount`` (computed without overflow).
    public static func count(_ extents: [Int]) -> Int? {
        var product = 1
        for extent in extents {
            let (next, overflow) = product.multipliedReportingOverflow(by: Swift.max(extent, 0))
            guard !overflow, next <= maximumElementCount else { return nil }
            product = next
        }
        return product
    }

    /// Throws when the product of `extents` exceeds ``maximumElementCount``; `what` names it after `context`.
    public static func check(_ extents: [Int], _ what: String, context: String) throws {
        guard count(extents) == nil else { return }
        let shown = extents.map(String.init).joined(separator: " × ")
        throw NablaError(.invalidArgument, "\(context): \(what) \(shown) exceeds the limit of \(maximumElementCount) elements")
    }
}

extension ModelDescription {
    /// Builds the model for per-sample inputs of `inputShape`, checking that every layer accepts the
    /// shape the previous one produces.
    /// - Throws: ``/NablaTensor/NablaError`` naming the layer index and type: unknown layer types, unknown or
    ///   mistyped arguments, invalid values, shapes that do not chain.
    public func build(inputShape: [Int], using generator: inout RandomGenerator) throws -> BuiltModel {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw NablaError(.invalidArgument, "\(name): input shape \(inputShape) must be non-empty and positive")
        }
        try ModelLimits.check(inputShape, "input shape", context: name)
        var parameterCount = 0
        var shape = inputShape
        var modules: [Module<Float>] = []
        var rows: [BuiltModel.LayerSummary] = []
        for index in layers.indices {
            let (module, outputShape, factory) = try buildLayer(index, inputShape: shape, using: &generator)
            parameterCount += module.parameterCount
            try ModelLimits.check([parameterCount], "the model's parameter count so far", context: layerContext(index))
            modules.append(module)
            let config = module.configurationDescription
            rows.append(.init(index: index, description: "\(factory.name)(\(config))", outputShape: outputShape,
                              parameterCount: module.parameterCount))
            shape = outputShape
        }
        return BuiltModel(model: Sequential(modules), inputShape: inputShape, outputShape: shape, layers: rows)
    }

    /// `"<name>: layer 3 (Conv2d)"`, the prefix of the messages about layer `index`.
    func layerContext(_ index: Int) -> String { "\(name): layer \(index) (\(layers[index].type))" }

    /// The factory of layer `index`.
    /// - Throws: ``NablaError`` for an unknown layer type, listing the known ones.
    func factory(ofLayer index: Int) throws -> LayerFactory {
        guard let factory = LayerRegistry.factories[layers[index].type.lowercased()] else {
            throw NablaError(.invalidArgument, "\(layerContext(index)): unknown layer type; known types: \(LayerRegistry.names.joined(separator: ", "))")
        }
        return factory
    }

    /// Builds layer `index` for per-sample inputs of `inputShape`, with every check ``build(inputShape:using:)``
    /// makes of one layer: known type, arguments all read and valid, a non-empty output within
    /// ``ModelLimits``.
    func buildLayer(_ index: Int, inputShape shape: [Int], using generator: inout RandomGenerator) throws
        -> (module: Module<Float>, outputShape: [Int], factory: LayerFactory) {
        let context = layerContext(index)
        let factory = try factory(ofLayer: index)
        var arguments = LayerArguments(layers[index].arguments, context: context)
        let (module, outputShape) = try factory.build(&arguments, shape, &generator)
        try arguments.rejectUnknown()
        guard outputShape.allSatisfy({ $0 > 0 }) else {
            throw NablaError(.shapeMismatch, "\(context): output shape \(outputShape) is empty for input shape \(shape)")
        }
        try ModelLimits.check(outputShape, "output shape", context: context)
        return (module, outputShape, factory)
    }
}
