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
    var pullback: Pullback?

    /// A recorded pullback. ``backward()`` hands each node's gradient over for the last time, taken out
    /// of the node, so it lends it `inout`: a pullback made with ``reusingUpstream(_:inputs:pullback:)``
    /// may overwrite it and pass its storage on; the others only read it.
    enum Pullback {
        case reading((Tensor<Scalar>) -> Void)
        case overwriting((inout Tensor<Scalar>) -> Void)

        @inline(__always)
        func callAsFunction(_ gradient: inout Tensor<Scalar>) {
            switch self {
            case .reading(let body): body(gradient)
            case .overwriting(let body): body(&gradient)
            }
        }
    }

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
    public convenience init(_ value: Tensor<Scalar>, inputs: [Variable], pullback: @escaping (Tensor<Scalar>) -> Void) {
        self.init(value, inputs: inputs, recording: .reading(pullback))
    }

    /// The result of an operation whose pullback may reuse the upstream gradient's storage: it
    /// receives the gradient `inout`, as the last holder that ``backward()`` lends it to, and may
    /// overwrite it (with an input gradient of the same shape, computed element by element) and
    /// accumulate it into an input. Writing into memory the pullback has just read, instead of into a
    /// fresh tensor, spares the memory system a read of every line of that tensor before it is
    /// written. When something else still holds the gradient (a `seed` the caller keeps), `Tensor`'s
    /// copy-on-write gives the pullback its own copy on the first write; the caller's is unchanged.
    /// (A static function, not an initializer: a trailing closure would fit both.)
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func reusingUpstream(_ value: Tensor<Scalar>, inputs: [Variable],
                                       pullback: @escaping (inout Tensor<Scalar>) -> Void) -> Variable {
        Variable(value, inputs: inputs, recording: .overwriting(pullback))
    }

    /// Records `pullback` only when gradient recording is on and an input requires a gradient.
    private init(_ value: Tensor<Scalar>, inputs: [Variable], recording pullback: Pullback) {
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
