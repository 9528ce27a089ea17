import Foundation
import NablaTensor

/// A persistent tensor of a module that is not trained by gradient descent — running statistics,
/// counters — saved in the state dictionary beside the parameters (PyTorch's `register_buffer`).
///
/// An integer buffer (`num_batches_tracked`, int64 in PyTorch) keeps its exact values in
/// ``integerValues``; ``value`` shows them as `Scalar`, which a `Float` holds exactly only up to
/// 2²⁴ (16,777,216), so counting happens on ``integerValues`` and files are written from them.
public final class Buffer<Scalar: TensorScalar> {
    private var storage: Tensor<Scalar>
    private var counts: [Int64]
    /// Saved as int64 (`num_batches_tracked`) rather than as `Scalar`.
    public let isInteger: Bool

    /// A buffer holding `value`; `isInteger` saves it as int64 (counters).
    public init(_ value: Tensor<Scalar>, isInteger: Bool = false) {
        storage = value
        counts = isInteger ? value.scalars.map { Int64(saturating: Double($0)) } : []
        self.isInteger = isInteger
    }

    /// The current value. Assigning to an integer buffer rounds each element toward zero,
    /// clamped to `Int64`'s range (NaN becomes 0), into ``integerValues``.
    public var value: Tensor<Scalar> {
        get { storage }
        set {
            storage = newValue
            if isInteger { counts = newValue.scalars.map { Int64(saturating: Double($0)) } }
        }
    }

    /// The exact elements of an integer buffer (empty for a floating-point one); setting them
    /// updates ``value``.
    public var integerValues: [Int64] {
        get { counts }
        set {
            precondition(isInteger && newValue.count == storage.count, "integerValues: \(newValue.count) values for a buffer of \(storage.count) (integer: \(isInteger))")
            counts = newValue
            storage = Tensor(shape: storage.shape, scalars: newValue.map { Scalar(Double($0)) })
        }
    }
}

/// The base class of layers and models: named parameters, buffers and child modules, a training
/// flag that propagates to children, and a forward function.
///
/// Subclasses register what they own in their initializer (``registerParameter(_:_:)``,
/// ``registerBuffer(_:_:)``, ``registerModule(_:_:)``) and override ``forward(_:)``. Names joined with
/// dots give PyTorch's `state_dict` keys (`0.weight`, `1.running_mean`).
open class Module<Scalar: TensorScalar> {
    /// Whether the module is in training mode (the default) rather than evaluation mode.
    public private(set) var isTraining = true
    private var ownParameters: [(name: String, variable: Variable<Scalar>)] = []
    private var ownBuffers: [(name: String, buffer: Buffer<Scalar>)] = []
    private var ownChildren: [(name: String, module: Module<Scalar>)] = []

    /// An empty module in training mode.
    public init() {}

    /// Maps an input to an output. Subclasses override this.
    open func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        preconditionFailure("\(type(of: self)) does not override forward(_:)")
    }

    /// Calls ``forward(_:)``.
    public func callAsFunction(_ input: Variable<Scalar>) -> Variable<Scalar> { forward(input) }

    /// Evaluates on a plain tensor without recording a graph (mode unchanged).
    public func callAsFunction(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        withoutGradient { forward(Variable(input)).value }
    }

    /// A one-line description of the layer's configuration, used by summaries and `description`.
    open var configurationDescription: String { "" }

    // MARK: Registration

    /// Registers a trainable parameter under `name`; it is returned for convenience.
    @discardableResult
    public func registerParameter(_ name: String, _ variable: Variable<Scalar>) -> Variable<Scalar> {
        precondition(variable.requiresGradient, "Parameter '\(name)' must require a gradient")
        precondition(!ownParameters.contains { $0.name == name }, "Parameter '\(name)' is registered twice")
        ownParameters.append((name, variable))
        return variable
    }

    /// Registers a buffer under `name`.
    @discardableResult
    public func registerBuffer(_ name: String, _ buffer: Buffer<Scalar>) -> Buffer<Scalar> {
        precondition(!ownBuffers.contains { $0.name == name }, "Buffer '\(name)' is registered twice")
        ownBuffers.append((name, buffer))
        return buffer
    }

    /// Registers a child module under `name`.
    public func registerModule(_ name: String, _ module: Module<Scalar>) {
        precondition(!ownChildren.contains { $0.name == name }, "Module '\(name)' is registered twice")
        ownChildren.append((name, module))
    }

    // MARK: Traversal

    /// The direct children, in registration order.
    public var children: [(name: String, module: Module<Scalar>)] { ownChildren }

    /// Every parameter of this module and its descendants with its dotted name, depth first.
    public func namedParameters(prefix: String = "") -> [(name: String, variable: Variable<Scalar>)] {
        ownParameters.map { (prefix + $0.name, $0.variable) }
            + ownChildren.flatMap { $0.module.namedParameters(prefix: prefix + $0.name + ".") }
    }

    /// Every buffer of this module and its descendants with its dotted name.
    public func namedBuffers(prefix: String = "") -> [(name: String, buffer: Buffer<Scalar>)] {
        ownBuffers.map { (prefix + $0.name, $0.buffer) }
            + ownChildren.flatMap { $0.module.namedBuffers(prefix: prefix + $0.name + ".") }
    }

    /// This module and every descendant with its dotted name (`""` for this one).
    public func namedModules(prefix: String = "") -> [(name: String, module: Module<Scalar>)] {
        [(prefix.isEmpty ? "" : String(prefix.dropLast()), self)]
            + ownChildren.flatMap { $0.module.namedModules(prefix: prefix + $0.name + ".") }
    }

    /// Every trainable parameter, depth first.
    public var parameters: [Variable<Scalar>] { namedParameters().map(\.variable) }

    /// The total number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Clears the gradient of every parameter.
    public func zeroGrad() { for p in parameters { p.grad = nil } }

    // MARK: Mode

    /// Sets training mode (`true`) or evaluation mode (`false`) on this module and all descendants.
    public func train(_ mode: Bool = true) {
        isTraining = mode
        for child in ownChildren { child.module.train(mode) }
    }

    /// Sets evaluation mode recursively; same as `train(false)`.
    public func eval() { train(false) }

    /// Runs `body` in evaluation mode without recording gradients, then restores the previous mode.
    public func evaluating<R>(_ body: () throws -> R) rethrows -> R {
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        return try withoutGradient(body)
    }
}

extension Module: CustomStringConvertible {
    /// PyTorch-style nested rendering: `Sequential(\n  (0): Linear(in_features=4, …)\n)`.
    public var description: String {
        let name = String(describing: type(of: self)).split(separator: "<").first.map(String.init) ?? "Module"
        if ownChildren.isEmpty { return "\(name)(\(configurationDescription))" }
        let body = ownChildren.map { child in
            "  (\(child.name)): " + child.module.description.replacingOccurrences(of: "\n", with: "\n  ")
        }.joined(separator: "\n")
        return "\(name)(\n\(body)\n)"
    }
}

/// Marks normalization layers (batch, layer, instance, group norm), whose affine parameters are
/// conventionally excluded from weight decay and parameter penalties.
public protocol NormalizationLayer: AnyObject {}
