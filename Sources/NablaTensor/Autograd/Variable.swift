/// A node of the reverse-mode automatic-differentiation graph: a ``Tensor`` value, an optional
/// gradient, and — for results of operations — the pullback that sends an upstream gradient to the
/// operation's inputs.
///
/// Leaves created with `requiresGradient: true` are trainable parameters; ``backward()`` on a scalar
/// result fills their ``grad``. Pullbacks take the upstream gradient as an argument and accumulate
/// into their inputs with `+=` (a tensor used twice receives both contributions). A pullback captures
/// only its inputs and saved tensors, never its own node, so the graph holds no reference cycles; it
/// is released after ``backward()`` runs.
public final class Variable<Scalar: TensorScalar> {
    /// The value.
    public var value: Tensor<Scalar>
    /// The accumulated gradient of the last ``backward()`` with respect to this value; `nil` until then.
    public var grad: Tensor<Scalar>?
    /// Whether gradients flow to this node (a trainable leaf, or a result depending on one).
    public let requiresGradient: Bool
    /// The inputs of the operation that produced this node (empty for leaves).
    var inputs: [Variable]
    /// Sends the upstream gradient to `inputs` (nil for leaves and after backward).
    var pullback: ((Tensor<Scalar>) -> Void)?

    /// A leaf node.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(_ value: Tensor<Scalar>, requiresGradient: Bool = false) {
        self.value = value
        self.requiresGradient = requiresGradient
        self.inputs = []
        self.pullback = nil
    }

    /// The result of an operation. Records `pullback` only when gradient recording is on and an input
    /// requires a gradient; otherwise the result is a constant.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(_ value: Tensor<Scalar>, inputs: [Variable], pullback: @escaping (Tensor<Scalar>) -> Void) {
        self.value = value
        let needed = GradientMode.isEnabled && inputs.contains { $0.requiresGradient }
        self.requiresGradient = needed
        self.inputs = needed ? inputs : []
        self.pullback = needed ? pullback : nil
    }

    /// The shape of ``value``.
    public var shape: [Int] { value.shape }

    /// Whether this node is a leaf (not produced by a recorded operation).
    public var isLeaf: Bool { pullback == nil && inputs.isEmpty }

    /// Adds `gradient` into ``grad`` if this node requires a gradient.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func accumulate(_ gradient: Tensor<Scalar>) {
        guard requiresGradient else { return }
        precondition(gradient.shape == value.shape,
                     "Gradient of shape \(gradient.shape) does not match value of shape \(value.shape)")
        if grad == nil { grad = gradient } else { grad! += gradient }
    }

    /// Sets ``grad`` to `nil`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func zeroGrad() { grad = nil }

    /// A constant with the same value and no history.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func detached() -> Variable { Variable(value) }
}

extension Variable: CustomStringConvertible {
    /// `Variable(<value>)`, with `, requiresGradient` for a leaf or node that takes a gradient.
    public var description: String {
        "Variable(\(value)\(requiresGradient ? ", requiresGradient" : ""))"
    }
}
