import NablaTensor
import NablaIO

/// What one layer of a model description costs, per sample and in parameters, computed from its
/// arguments before anything is allocated (``LayerFactory/estimate``).
public struct LayerEstimate: Sendable {
    /// The per-sample output shape.
    public var outputShape: [Int]
    /// Trainable parameters (each also gets a gradient and optimizer state).
    public var parameterCount = 0
    /// Buffers (running statistics).
    public var bufferCount = 0
    /// Elements per sample that stay alive until backward: the output, plus what the layer's
    /// backward keeps (a normalization's `x̂`, a dropout mask, pooling indices).
    public var savedPerSample: Int
    /// Scratch elements per sample and thread while the layer runs (a convolution's im2col columns).
    public var workspacePerSample = 0
    /// The layers inside this one (a `Residual` branch), paths relative to it (`"branch.0"`).
    public var inner: [LayerFootprint] = []

    /// A layer with `outputShape`, keeping its output (times `savedFactor`) for backward.
    public init(outputShape: [Int], savedFactor: Int = 1) {
        self.outputShape = outputShape
        savedPerSample = MemoryArithmetic.product(outputShape + [savedFactor])
    }
}

/// One layer's footprint inside a model.
public struct LayerFootprint: Sendable {
    /// Where the layer is: `"3"`, or `"3.branch.1"` inside a residual block.
    public var path: String
    /// Its type, as the description names it (`"Conv2d"`).
    public var type: String
    public var estimate: LayerEstimate

    /// `"layer 3 (Conv2d)"`.
    public var label: String { "layer \(path) (\(type))" }
}

/// The memory a model needs, layer by layer, computed from its description alone
/// (``ModelDescription/memoryEstimate(inputShape:)``).
///
/// **Training at batch size B** (32-bit floats, so 4 bytes per element):
///
///     parameters × (2 + optimizer slots)   weights, gradients, optimizer state (Adam: 2 slots)
///   + buffers
///   + B × Σ saved                          activations kept for backward
///   + 2 × B × max output                   gradients in flight during backward
///   + 2 × B × input                        the batch and its augmented copy
///   + threads × B·max workspace / threads  im2col columns (one sample per thread at a time, at most B)
///
/// **Inference at batch size B**: parameters + buffers + B × (input + the two largest consecutive
/// activations) + workspace. Both are estimates of the peak, not bounds: allocator overhead and the
/// data set itself come on top (callers add the data).
///
/// All arithmetic saturates at `Int.max` instead of trapping, so a hostile description gives a huge
/// estimate, never an overflow.
public struct ModelMemoryEstimate: Sendable {
    /// The per-sample input shape.
    public let inputShape: [Int]
    /// Every layer, nested ones included (in execution order).
    public let layers: [LayerFootprint]

    /// Trainable parameters in all layers.
    public var parameterCount: Int { MemoryArithmetic.sum(layers.map(\.estimate.parameterCount)) }
    /// Buffer elements in all layers.
    public var bufferCount: Int { MemoryArithmetic.sum(layers.map(\.estimate.bufferCount)) }

    /// The estimated peak bytes of training steps at `batchSize`.
    /// - Parameters:
    ///   - optimizerSlots: per-parameter state tensors of the optimizer (SGD with momentum 1, Adam 2).
    ///   - threads: the threads convolutions use.
    public func training(batchSize: Int, optimizerSlots: Int, threads: Int) -> MemoryRequirement {
        let m = MemoryArithmetic.self
        let inputs = m.product(inputShape)
        let largest = layers.map { m.product($0.estimate.outputShape) }.max() ?? inputs
        var parts: [(String, Int)] = []
        parts.append(("parameters, gradients and optimizer state", m.product([parameterCount, m.sum([2, optimizerSlots])])))
        parts.append(("buffers", bufferCount))
        let activations = m.product([batchSize, m.sum(layers.map(\.estimate.savedPerSample))])
        parts.append(("activations", activations))
        parts.append(("gradients in flight", m.product([2, batchSize, Swift.max(largest, inputs)])))
        parts.append(("input batches", m.product([2, batchSize, inputs])))
        parts.append(("convolution workspace", workspace(batchSize: batchSize, threads: threads)))
        return MemoryRequirement(elements: parts, dominant: dominantLayer(batchSize: batchSize, training: true))
    }

    /// The estimated peak bytes of an evaluation pass (no gradients) at `batchSize`.
    public func inference(batchSize: Int, threads: Int) -> MemoryRequirement {
        let m = MemoryArithmetic.self
        var shapes = [m.product(inputShape)] + layers.filter { !$0.path.contains(".") }.map { m.product($0.estimate.outputShape) }
        if shapes.count == 1 { shapes.append(0) }
        let pairs = zip(shapes, shapes.dropFirst()).map { m.sum([$0, $1]) }.max() ?? 0
        let parts: [(String, Int)] = [
            ("parameters", m.sum([parameterCount, bufferCount])),
            ("activations", m.product([batchSize, m.sum([shapes[0], pairs])])),
            ("convolution workspace", workspace(batchSize: batchSize, threads: threads)),
        ]
        return MemoryRequirement(elements: parts, dominant: dominantLayer(batchSize: batchSize, training: false))
    }

    private func workspace(batchSize: Int, threads: Int) -> Int {
        let perSample = layers.map(\.estimate.workspacePerSample).max() ?? 0
        return MemoryArithmetic.product([perSample, Swift.max(1, Swift.min(threads, batchSize))])
    }

    /// The layer whose activations (or, failing that, parameters) weigh most, described for messages.
    private func dominantLayer(batchSize: Int, training: Bool) -> String? {
        let m = MemoryArithmetic.self
        func weight(_ layer: LayerFootprint) -> Int {
            let perSample = training ? layer.estimate.savedPerSample : m.product(layer.estimate.outputShape)
            return m.sum([m.product([batchSize, perSample]), layer.estimate.parameterCount])
        }
        guard let heaviest = layers.max(by: { weight($0) < weight($1) }) else { return nil }
        let e = heaviest.estimate
        let activation = m.product([batchSize, training ? e.savedPerSample : m.product(e.outputShape), 4])
        let shape = "[" + e.outputShape.map(String.init).joined(separator: ", ") + "]"
        var text = "largest: \(heaviest.label) with output \(shape) per sample"
        if activation > 0 { text += ", \(MemoryArithmetic.format(activation)) of activations at batch size \(batchSize)" }
        if e.parameterCount > 0 { text += ", \(e.parameterCount) parameters" }
        return text
    }
}

/// An estimated peak in bytes, with its parts.
public struct MemoryRequirement: Sendable {
    /// The parts in elements of 4 bytes, named.
    public let parts: [(name: String, elements: Int)]
    /// The heaviest layer, described (`"largest: layer 0 (Conv2d) with output [100000, 28, 28] …"`).
    public let dominant: String?

    init(elements: [(String, Int)], dominant: String?) {
        parts = elements.map { (name: $0.0, elements: $0.1) }
        self.dominant = dominant
    }

    /// The total in bytes (saturating).
    public var bytes: Int { MemoryArithmetic.product([MemoryArithmetic.sum(parts.map(\.elements)), 4]) }

    /// The total plus `other` bytes.
    public func adding(_ other: Int) -> Int { MemoryArithmetic.sum([bytes, other]) }
}

/// Saturating arithmetic for size estimates: overflow gives `Int.max`, never a trap.
public enum MemoryArithmetic {
    /// The product of non-negative `factors` (negative ones count as 0), `Int.max` on overflow.
    public static func product(_ factors: [Int]) -> Int {
        var result = 1
        for factor in factors {
            let (next, overflow) = result.multipliedReportingOverflow(by: Swift.max(factor, 0))
            if overflow { return factors.contains { $0 <= 0 } ? 0 : Int.max }
            result = next
        }
        return result
    }

    /// The sum of non-negative `terms`, `Int.max` on overflow.
    public static func sum(_ terms: [Int]) -> Int {
        var result = 0
        for term in terms {
            let (next, overflow) = result.addingReportingOverflow(Swift.max(term, 0))
            if overflow { return Int.max }
            result = next
        }
        return result
    }

    /// `bytes` in binary units: `40.2 GiB`.
    public static func format(_ bytes: Int) -> String { MemoryBudget.format(bytes) }
}

extension ModelDescription {
    /// The model's memory footprint for per-sample inputs of `inputShape`, layer by layer, from the
    /// description alone: layers with a ``LayerFactory/estimate`` (every built-in layer with
    /// parameters) allocate nothing; any other layer is built once on its own to learn its output
    /// shape and size (for the built-in ones without an estimate — activations, pooling, dropout —
    /// that allocates nothing large).
    /// - Throws: the same ``/NablaTensor/NablaError`` ``build(inputShape:using:)`` would throw for an invalid
    ///   description, naming the layer.
    public func memoryEstimate(inputShape: [Int]) throws -> ModelMemoryEstimate {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw NablaError(.invalidArgument, "\(name): input shape \(inputShape) must be non-empty and positive")
        }
        try ModelLimits.check(inputShape, "input shape", context: name)
        var shape = inputShape
        var footprints: [LayerFootprint] = []
        var parameterCount = 0
        for index in layers.indices {
            let factory = try factory(ofLayer: index)
            var estimate: LayerEstimate?
            if let estimator = factory.estimate {
                var arguments = LayerArguments(layers[index].arguments, context: layerContext(index))
                estimate = try? estimator(&arguments, shape)
                if let e = estimate, !(e.outputShape.allSatisfy { $0 > 0 } && ModelLimits.count(e.outputShape) != nil)
                    || (try? arguments.rejectUnknown()) == nil {
                    estimate = nil
                }
            }
            if estimate == nil {
                // No estimate (or invalid arguments, which this build reports): build the layer alone.
                var generator = RandomGenerator(seed: 0)
                let (module, outputShape, _) = try buildLayer(index, inputShape: shape, using: &generator)
                estimate = LayerEstimate(module: module, outputShape: outputShape)
            }
            guard let estimate else { continue }
            parameterCount = MemoryArithmetic.sum([parameterCount, estimate.parameterCount] + estimate.inner.map(\.estimate.parameterCount))
            try ModelLimits.check([parameterCount], "the model's parameter count so far", context: layerContext(index))
            footprints.append(LayerFootprint(path: String(index), type: factory.name, estimate: estimate))
            for inner in estimate.inner {
                footprints.append(LayerFootprint(path: "\(index).\(inner.path)", type: inner.type, estimate: inner.estimate))
            }
            shape = estimate.outputShape
        }
        return ModelMemoryEstimate(inputShape: inputShape, layers: footprints)
    }
}

extension LayerEstimate {
    /// The footprint of a built module: its parameters and buffers, and its output kept for backward
    /// (twice for layers that keep a second tensor of that size: normalizations, dropout, max pooling).
    init(module: Module<Float>, outputShape: [Int]) {
        let keepsMore = module is NormalizationLayer || module is StochasticModule || module is MaxPool2d<Float>
        self.init(outputShape: outputShape, savedFactor: keepsMore ? 2 : 1)
        parameterCount = module.parameterCount
        bufferCount = MemoryArithmetic.sum(module.namedBuffers().map { $0.buffer.value.count })
    }
}
