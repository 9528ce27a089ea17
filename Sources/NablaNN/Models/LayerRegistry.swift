import Foundation
import NablaTensor

/// Builds one layer of a model description: reads its keyword arguments, checks that it accepts the
/// incoming per-sample shape, and returns the module with its per-sample output shape.
public struct LayerFactory {
    /// The PyTorch class name, e.g. `"Conv2d"`.
    public let name: String
    /// Reads the layer's arguments, checks the per-sample input shape (without the batch axis) and
    /// returns the `Float` module with its per-sample output shape; throws ``/NablaTensor/NablaError``
    /// naming the layer and the argument for anything a user got wrong.
    public let build: (_ arguments: inout LayerArguments, _ inputShape: [Int], _ generator: inout RandomGenerator) throws
        -> (module: Module<Float>, outputShape: [Int])

    /// Computes the layer's output shape and memory footprint from its arguments without allocating
    /// it (``ModelDescription/memoryEstimate(inputShape:)``); `nil` for a layer that is cheap to build
    /// (no large parameters), which the estimate then builds once to learn its shape. A layer whose
    /// parameter count grows with its arguments should have one, so a hostile size is refused before
    /// any allocation. It may throw or return `nil` for invalid arguments: the build reports those.
    public var estimate: ((_ arguments: inout LayerArguments, _ inputShape: [Int]) throws -> LayerEstimate?)?

    /// A factory for the `torch.nn` class `name` (looked up case-insensitively in ``LayerRegistry``).
    public init(_ name: String,
                estimate: ((inout LayerArguments, [Int]) throws -> LayerEstimate?)? = nil,
                build: @escaping (inout LayerArguments, [Int], inout RandomGenerator) throws -> (module: Module<Float>, outputShape: [Int])) {
        self.name = name
        self.estimate = estimate
        self.build = build
    }

    /// A layer that keeps the shape and takes no arguments.
    static func shapePreserving(_ name: String, _ make: @escaping () -> Module<Float>) -> LayerFactory {
        LayerFactory(name) { _, shape, _ in (make(), shape) }
    }
}

/// Every layer type a model description may name, by lower-cased PyTorch class name. Each family
/// contributes a list (`LayerRegistry+Family.swift`); a layer defined outside Nabla is added with
/// ``register(_:)``.
public enum LayerRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var registered: [String: LayerFactory] = {
        var table: [String: LayerFactory] = [:]
        for var factory in coreFactories + convolutionFactories + normalizationFactories + regularizationFactories {
            factory.estimate = factory.estimate ?? builtinEstimates[factory.name.lowercased()]
            table[factory.name.lowercased()] = factory
        }
        return table
    }()

    /// All factories, keyed by lower-cased name: the built-in layers and every registered one.
    public static var factories: [String: LayerFactory] {
        lock.lock()
        defer { lock.unlock() }
        return registered
    }

    /// Adds a layer type defined outside Nabla, so that every model description built afterwards —
    /// a model file, a nested `Residual` branch — can name it (case-insensitively):
    ///
    /// ```swift
    /// LayerRegistry.register(LayerFactory("Swish") { arguments, shape, _ in
    ///     (Swish<Float>(beta: Float(try arguments.double("beta", default: 1))), shape)
    /// })
    /// ```
    ///
    /// The factory reads its keyword arguments from ``LayerArguments`` (an argument it does not read
    /// is reported as unknown) and returns the module with its per-sample output shape. The registry
    /// is safe to use from several threads.
    /// - Precondition: no layer type of the same name, ignoring case, is registered.
    public static func register(_ factory: LayerFactory) {
        lock.lock()
        defer { lock.unlock() }
        let key = factory.name.lowercased()
        precondition(registered[key] == nil, "layer type '\(factory.name)' is already registered")
        registered[key] = factory
    }

    /// The canonical names, sorted, for messages and help.
    public static var names: [String] { factories.values.map(\.name).sorted() }

    /// Checks that a `dim` argument (which counts the batch axis, as in PyTorch) is valid for a
    /// per-sample shape, returning it normalized to a non-negative axis of the batched tensor.
    static func batchedAxis(_ dim: Int, sampleShape: [Int], arguments: LayerArguments, name: String = "dim") throws -> Int {
        let rank = sampleShape.count + 1
        guard dim >= -rank && dim < rank else {
            throw arguments.fail("\(name)=\(dim) is out of range for inputs of shape [N, \(sampleShape.map(String.init).joined(separator: ", "))]")
        }
        return dim < 0 ? dim + rank : dim
    }

    /// Reads PyTorch's factory keywords `device` and `dtype` (`nn.Linear(…, device=None, dtype=None)`),
    /// which place and type a layer's tensors without changing its mathematics: accepted when they
    /// name what Nabla uses — the CPU and float32 (`null`, `"cpu"`, `"float32"`, `"torch.float32"`,
    /// `"float"`); anything else is an error naming the value.
    static func acceptDeviceAndDType(_ args: inout LayerArguments) throws {
        if args.isPresent("device") {
            let device = try args.string("device")
            guard device == "cpu" || device.hasPrefix("cpu:") else { throw args.fail("device '\(device)' is not supported (Nabla runs on the CPU: 'cpu')") }
        } else { _ = args.raw("device") }
        if args.isPresent("dtype") {
            let dtype = try args.string("dtype")
            guard ["float32", "torch.float32", "float", "torch.float"].contains(dtype) else {
                throw args.fail("dtype '\(dtype)' is not supported (Nabla trains in float32: 'torch.float32')")
            }
        } else { _ = args.raw("dtype") }
    }

    /// Reads PyTorch's `inplace` flag (`nn.ReLU(inplace=True)`): in-place evaluation changes memory
    /// use, not values or gradients, so either setting builds the same layer.
    static func acceptInplace(_ args: inout LayerArguments) throws { _ = try args.bool("inplace", default: false) }

    /// The `dim` of a `Softmax`/`LogSoftmax` as PyTorch resolves it: the given one, or with `dim=None`
    /// (the default) the legacy implicit dimension of `_get_softmax_dim` — 0 for inputs of rank 0, 1
    /// or 3, else 1 — as a non-negative axis of the batched input.
    static func softmaxAxis(_ args: inout LayerArguments, sampleShape shape: [Int]) throws -> Int {
        guard let dim = try args.optionalInt("dim") else {
            let rank = shape.count + 1
            guard ![0, 1, 3].contains(rank) else {
                throw args.fail("dim=None on inputs [N, \(shape.map(String.init).joined(separator: ", "))] is PyTorch's implicit dim 0, the batch axis; give dim explicitly")
            }
            return 1
        }
        let axis = try batchedAxis(dim, sampleShape: shape, arguments: args)
        guard axis >= 1 else { throw args.fail("dim=0 would normalize across the batch") }
        return axis
    }

    static var coreFactories: [LayerFactory] {
        [
            LayerFactory("Linear") { args, shape, g in
                let inFeatures = try args.positiveInt("in_features")
                let outFeatures = try args.positiveInt("out_features")
                let bias = try args.bool("bias", default: true)
                try acceptDeviceAndDType(&args)
                try ModelLimits.check([inFeatures, outFeatures], "weight", context: args.context)
                guard shape.last == inFeatures else {
                    throw args.fail("expects inputs whose last axis has \(inFeatures) features, but receives per-sample shape \(shape)")
                }
                return (Linear<Float>(inFeatures, outFeatures, bias: bias, using: &g), Array(shape.dropLast()) + [outFeatures])
            },
            LayerFactory("Flatten") { args, shape, _ in
                let (startDim, endDim) = (try args.int("start_dim", default: 1), try args.int("end_dim", default: -1))
                let start = try batchedAxis(startDim, sampleShape: shape, arguments: args, name: "start_dim")
                let end = try batchedAxis(endDim, sampleShape: shape, arguments: args, name: "end_dim")
                guard start <= end else { throw args.fail("start_dim \(start) is after end_dim \(end)") }
                guard start >= 1 else { throw args.fail("start_dim=0 would flatten the batch axis; Nabla models keep it") }
                let full = [0] + shape   // batch placeholder
                let merged = full[start...end].reduce(1, *)
                let out = Array(full[1..<start]) + [merged] + Array(full[(end + 1)...])
                return (Flatten<Float>(startAxis: startDim, endAxis: endDim), out)
            },
            LayerFactory("ReLU") { args, shape, _ in
                try acceptInplace(&args)
                return (ReLU<Float>(), shape)
            },
            .shapePreserving("Sigmoid") { Sigmoid<Float>() },
            .shapePreserving("Tanh") { Tanh<Float>() },
            LayerFactory("GELU") { args, shape, _ in
                let approximate = try args.string("approximate", default: "none")
                guard approximate == "none" else {
                    throw args.fail("approximate='\(approximate)' is not supported (only 'none', the exact x·Φ(x))")
                }
                return (GELU<Float>(), shape)
            },
            // PyTorch's Identity takes and ignores any arguments.
            LayerFactory("Identity") { args, shape, _ in
                args.ignoreRemaining()
                return (Identity<Float>(), shape)
            },
            LayerFactory("LeakyReLU") { args, shape, _ in
                let slope = try args.double("negative_slope", default: 0.01)
                try acceptInplace(&args)
                return (LeakyReLU<Float>(negativeSlope: Float(slope)), shape)
            },
            LayerFactory("Softmax") { args, shape, _ in
                (Softmax<Float>(axis: try softmaxAxis(&args, sampleShape: shape)), shape)
            },
            LayerFactory("LogSoftmax") { args, shape, _ in
                (LogSoftmax<Float>(axis: try softmaxAxis(&args, sampleShape: shape)), shape)
            },
        ]
    }
}

/// The identity map (PyTorch `nn.Identity`).
public final class Identity<Scalar: TensorScalar>: Module<Scalar> {
    /// An identity layer (it has no configuration or state).
    public override init() { super.init() }
    /// Returns the input unchanged (the same node, no tape entry).
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input }
}
